package org.deepkern;

/**
 * Element types, with DLPack's codes. Floating ops compute in f32 whatever the storage type;
 * the integer types hold indices and lengths (attention's key lengths, for one).
 */
public enum DType {
    /** 32-bit IEEE float ({@code torch.float32}). */
    F32(2, 32),
    /** 16-bit IEEE half ({@code torch.float16}): 10-bit mantissa, largest finite 65504. */
    F16(2, 16),
    /** 16-bit brain float ({@code torch.bfloat16}): f32's exponent range, 7-bit mantissa. */
    BF16(4, 16),
    /** 32-bit signed integer ({@code torch.int32}). */
    I32(0, 32),
    /** 64-bit signed integer ({@code torch.int64}, torch's default integer type). */
    I64(0, 64);

    private final int code;
    private final int bits;

    DType(int code, int bits) {
        this.code = code;
        this.bits = bits;
    }

    /**
     * The DLPack type code (deepkern.h {@code dk_dtype_code}).
     *
     * @return kDLInt 0, kDLFloat 2 or kDLBfloat 4
     */
    public int code() {
        return code;
    }

    /** @return the bits of one element: 16, 32 or 64 */
    public int bits() {
        return bits;
    }

    /** @return the bytes of one element: 2, 4 or 8 (torch's {@code element_size()}) */
    public int byteSize() {
        return bits / 8;
    }

    /** @return whether this is F32, F16 or BF16 ({@code torch.is_floating_point}) */
    public boolean isFloating() {
        return code != 0;
    }

    /**
     * The type of a DLPack code and bit width.
     *
     * @param code the DLPack type code: 0 (int), 2 (float) or 4 (bfloat)
     * @param bits the bits of one element
     * @return the matching type
     * @throws DeepKernException with {@link Status#INVALID_ARGUMENT} if no type has both
     */
    public static DType of(int code, int bits) {
        for (DType t : values()) if (t.code == code && t.bits == bits) return t;
        throw new DeepKernException(Status.INVALID_ARGUMENT, "no dtype with code " + code + " and " + bits + " bits");
    }
}
