package org.deepkern.internal;

import java.util.function.BiFunction;
import java.util.function.Function;
import org.deepkern.Generator;
import org.deepkern.Tensor;

/**
 * The bridge from the public {@link Tensor} to its native side: Tensor hands its accessor over
 * when its class initializes, so the public class exposes no native handle and internal code still
 * reaches one. Likewise {@link Generator} hands over its counter reservation, for kernels that draw
 * their own noise (the fused diffusion step). Not part of the public API.
 */
public final class Access {
    private static volatile Function<Tensor, NativeTensor> tensors;
    private static volatile BiFunction<Generator, Long, long[]> reservations;
    private static volatile Function<Tensor, GradSlot> gradSlots;

    private Access() {}

    /** Called once, by Tensor's static initializer. */
    public static void tensors(Function<Tensor, NativeTensor> accessor) {
        if (tensors != null) throw new IllegalStateException("the tensor accessor is set already");
        tensors = accessor;
    }

    /** t's native side (a Tensor instance exists, so its class has initialized and set the accessor). */
    public static NativeTensor of(Tensor t) {
        return tensors.apply(t);
    }

    /**
     * Called once, by Generator's static initializer.
     *
     * @param reserve Generator's reservation of the counters of n normals
     */
    public static void generators(BiFunction<Generator, Long, long[]> reserve) {
        if (reservations != null) throw new IllegalStateException("the generator accessor is set already");
        reservations = reserve;
    }

    /**
     * Reserves the Philox counters of n normals from g, as a draw of n values would (a Generator
     * instance exists, so its class has initialized and set the accessor).
     *
     * @param g the generator
     * @param n how many normals the draw makes
     * @return the key and the first counter of the draw
     */
    public static long[] reserve(Generator g, long n) {
        return reservations.apply(g, n);
    }

    /** Called once, by Tensor's static initializer. */
    public static void gradSlots(Function<Tensor, GradSlot> accessor) {
        if (gradSlots != null) throw new IllegalStateException("the gradient accessor is set already");
        gradSlots = accessor;
    }

    /** t's autograd state, made on first use. */
    public static GradSlot gradSlot(Tensor t) {
        return gradSlots.apply(t);
    }
}
