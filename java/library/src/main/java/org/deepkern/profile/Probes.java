package org.deepkern.profile;

import org.deepkern.DeepKernException;
import org.deepkern.Device;
import org.deepkern.Tensor;
import org.deepkern.internal.Call;
import org.deepkern.internal.Profiling;

/**
 * What a device can do and what a call costs, for rooflines and overhead budgets: an FMA-bound
 * kernel, a raw device copy, and a call that does nothing.
 */
public final class Probes {
    private Probes() {}

    /**
     * The arithmetic probe: each element of out becomes the sum of 8 independent chains of
     * iterations fused multiply-adds, {@code 16 * iterations * out.numel()} floating-point operations.
     *
     * @param out an f32 tensor
     * @param iterations the chain length, at least 1
     */
    public static void fma(Tensor out, int iterations) {
        Call c = new Call("Probes.fma");
        if (iterations < 1) throw c.invalid("iterations", "expected >= 1, got " + iterations);
        Profiling.fma(c, out, iterations);
    }

    /**
     * The bandwidth probe: src's bytes into dst's (a device memcpy, no conversion).
     *
     * @param dst where the bytes go, on src's device, as many bytes as src, contiguous
     * @param src the bytes, contiguous
     */
    public static void copyBytes(Tensor dst, Tensor src) {
        Call c = new Call("Probes.copyBytes");
        Tensor d = c.tensor("dst", dst), s = c.tensor("src", src);
        // a memcpy of the bytes the elements span: only a tensor without gaps or repeats has that many
        for (Tensor t : new Tensor[] {d, s})
            if (!t.isContiguous()) throw c.invalid(t == d ? "dst" : "src", "expected a contiguous tensor, got a view with strides "
                    + java.util.Arrays.toString(t.stride()));
        long bytes = s.numel() * s.dtype().byteSize();
        if (d.numel() * d.dtype().byteSize() != bytes) throw c.invalid("dst", "expected " + bytes + " bytes like 'src', got "
                + d.numel() * d.dtype().byteSize());
        Profiling.copyBytes(c, d, s, bytes);
    }

    /**
     * The cost of a call into the library: validates the device's context and does nothing else.
     *
     * @param device the device
     */
    public static void emptyCall(Device device) {
        if (device == null) throw DeepKernException.invalidArgument("Probes.emptyCall", "device", "expected a device, got null");
        Profiling.emptyCall("Probes.emptyCall", device);
    }
}
