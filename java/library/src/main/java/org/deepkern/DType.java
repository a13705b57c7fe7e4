package org.deepkern;

/** Element types. Floating ops compute in f32 whatever the storage type. */
public enum DType {
    F32(2, 32),
    F16(2, 16),
    BF16(4, 16),
    I32(0, 32),
    I64(0, 64);

    private final int code;
    private final int bits;

    DType(int code, int bits) {
        this.code = code;
        this.bits = bits;
    }

    /** The DLPack type code (kDLInt 0, kDLFloat 2, kDLBfloat 4). */
    public int code() {
        return code;
    }

    public int bits() {
        return bits;
    }

    public int byteSize() {
        return bits / 8;
    }

    public boolean isFloating() {
        return code != 0;
    }

    public static DType of(int code, int bits) {
        for (DType t : values()) if (t.code == code && t.bits == bits) return t;
        throw new DeepKernException(Status.INVALID_ARGUMENT, "no dtype with code " + code + " and " + bits + " bits");
    }
}
