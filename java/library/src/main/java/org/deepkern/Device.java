package org.deepkern;

import java.util.Locale;
import java.util.Objects;

/**
 * Where tensors live and ops run: {@code cpu}, {@code emu} (the kernel emulator) or {@code cuda:N}
 * (as {@code torch.device}). Immutable value; equal devices are {@link #equals equal}. Making a
 * device checks nothing about the machine: see {@link DeepKern#devices()} for the usable ones.
 */
public final class Device {
    /** The backends (deepkern.h {@code dk_device_type}). */
    public enum Type {
        /** The host CPU (DLPack's kDLCPU, 1). */
        CPU(1),
        /** An NVIDIA GPU through the CUDA runtime (DLPack's kDLCUDA, 2). */
        CUDA(2),
        /** The kernel emulator: the CUDA kernels run on the CPU, on host memory (128); see {@link Emulator}. */
        EMU(128);

        private final int code;

        Type(int code) {
            this.code = code;
        }

        /** @return the native device type (deepkern.h {@code dk_device_type}): 1, 2 or 128 */
        public int code() {
            return code;
        }

        /**
         * @param code a native device type: 1 (cpu), 2 (cuda) or 128 (emu)
         * @return its type
         * @throws DeepKernException with {@link Status#INVALID_ARGUMENT} for any other code
         */
        public static Type of(int code) {
            for (Type t : values()) if (t.code == code) return t;
            throw new DeepKernException(Status.INVALID_ARGUMENT, "unknown device type " + code);
        }
    }

    /** The host CPU ({@code cpu}, index 0). */
    public static final Device CPU = new Device(Type.CPU, 0);
    /** The kernel emulator ({@code emu}, index 0). */
    public static final Device EMU = new Device(Type.EMU, 0);

    private final Type type;
    private final int index;

    private Device(Type type, int index) {
        this.type = type;
        this.index = index;
    }

    /**
     * The CUDA device {@code cuda:index} ({@code torch.device("cuda", index)}); whether it exists
     * is checked when it is first used.
     *
     * @param index the CUDA device ordinal, from 0
     * @return the device
     * @throws DeepKernException with {@link Status#INVALID_ARGUMENT} if index is negative
     */
    public static Device cuda(int index) {
        if (index < 0) throw new DeepKernException(Status.INVALID_ARGUMENT, "cuda device index must be >= 0, got " + index);
        return new Device(Type.CUDA, index);
    }

    /**
     * @param type the backend
     * @param index the CUDA device ordinal; ignored for cpu and emu, which have one device each
     * @return {@link #CPU}, {@link #EMU} or {@link #cuda(int) cuda(index)}
     * @throws DeepKernException with {@link Status#INVALID_ARGUMENT} for a negative CUDA index
     */
    public static Device of(Type type, int index) {
        return switch (type) {
            case CPU -> CPU;
            case EMU -> EMU;
            case CUDA -> cuda(index);
        };
    }

    /**
     * Parses {@code cpu}, {@code emu}, {@code cuda} (= cuda:0) or {@code cuda:N}, ignoring case and
     * surrounding blanks; the inverse of {@link #toString()}.
     *
     * @param spec the device's name
     * @return the device
     * @throws NullPointerException if spec is null
     * @throws DeepKernException with {@link Status#INVALID_ARGUMENT} for any other text
     */
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

    /** @return the backend */
    public Type type() {
        return type;
    }

    /** @return the CUDA device ordinal; 0 for cpu and emu */
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

    /** @return {@code cpu}, {@code emu} or {@code cuda:N}, as {@link #parse} reads it */
    @Override
    public String toString() {
        return type == Type.CUDA ? "cuda:" + index : type.name().toLowerCase(Locale.ROOT);
    }
}
