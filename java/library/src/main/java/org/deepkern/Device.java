package org.deepkern;

import java.util.Locale;
import java.util.Objects;

/** Where tensors live and ops run: {@code cpu}, {@code emu} (the kernel emulator) or {@code cuda:N}. */
public final class Device {
    public enum Type {
        CPU(1),
        CUDA(2),
        EMU(128);

        private final int code;

        Type(int code) {
            this.code = code;
        }

        /** The native device type (deepkern.h {@code dk_device_type}). */
        public int code() {
            return code;
        }

        public static Type of(int code) {
            for (Type t : values()) if (t.code == code) return t;
            throw new DeepKernException(Status.INVALID_ARGUMENT, "unknown device type " + code);
        }
    }

    public static final Device CPU = new Device(Type.CPU, 0);
    public static final Device EMU = new Device(Type.EMU, 0);

    private final Type type;
    private final int index;

    private Device(Type type, int index) {
        this.type = type;
        this.index = index;
    }

    public static Device cuda(int index) {
        if (index < 0) throw new DeepKernException(Status.INVALID_ARGUMENT, "cuda device index must be >= 0, got " + index);
        return new Device(Type.CUDA, index);
    }

    public static Device of(Type type, int index) {
        return switch (type) {
            case CPU -> CPU;
            case EMU -> EMU;
            case CUDA -> cuda(index);
        };
    }

    /** Parses {@code cpu}, {@code emu}, {@code cuda} (= cuda:0) or {@code cuda:N}. */
    public static Device parse(String spec) {
        String s = Objects.requireNonNull(spec, "spec").trim().toLowerCase(Locale.ROOT);
        if (s.equals("cpu")) return CPU;
        if (s.equals("emu")) return EMU;
        if (s.equals("cuda")) return cuda(0);
        if (s.startsWith("cuda:")) {
            try {
                return cuda(Integer.parseInt(s.substring(5)));
            } catch (NumberFormatException e) {
                // fall through to the error below
            }
        }
        throw new DeepKernException(Status.INVALID_ARGUMENT,
                "device '" + spec + "': expected cpu, emu, cuda or cuda:N");
    }

    public Type type() {
        return type;
    }

    public int index() {
        return index;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Device d && d.type == type && d.index == index;
    }

    @Override
    public int hashCode() {
        return type.hashCode() * 31 + index;
    }

    @Override
    public String toString() {
        return type == Type.CUDA ? "cuda:" + index : type.name().toLowerCase(Locale.ROOT);
    }
}
