package org.deepkern.internal.ops;

import static org.deepkern.bindings.global.deepkern.*;
import static org.deepkern.internal.Call.fresh;
import static org.deepkern.internal.Call.handle;

import java.util.Arrays;
import org.bytedeco.javacpp.LongPointer;
import org.deepkern.DType;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.bindings.dk_pool2d_params;
import org.deepkern.bindings.dk_pyramid_pool_params;
import org.deepkern.bindings.dk_tensor;
import org.deepkern.internal.Call;
import org.deepkern.ops.Conv2dParams.Layout;
import org.deepkern.ops.Pool2dParams;
import org.deepkern.ops.PoolResult;

/**
 * 2-D max, average and adaptive pooling (kernels/pool), forward and backward, and the pooling
 * pyramids (SPP, SPPF). Output shapes come from the native shape queries. Not part of the public API.
 */
public final class Pooling {
    private Pooling() {}

    /** What to pool: max or average, over a window (p) or adaptive bins (outH x outW in layout). */
    public record Spec(boolean max, boolean adaptive, Pool2dParams window, int outH, int outW, Layout layout) {
        public static Spec windowed(boolean max, Pool2dParams p) {
            return new Spec(max, false, p, 0, 0, p == null ? null : p.layout());
        }

        public static Spec adaptive(boolean max, int outH, int outW, Layout layout) {
            return new Spec(max, true, null, outH, outW, layout);
        }
    }

    /** The spec as the C API takes it; close it after. */
    private static dk_pool2d_params params(Call c, Spec s) {
        dk_pool2d_params n = new dk_pool2d_params().kind(s.max() ? DK_POOL_MAX : DK_POOL_AVG);
        if (s.adaptive()) {
            c.required("layout", s.layout(), "NCHW or NHWC");
            return n.layout(s.layout().ordinal()).adaptive(1).output_h(s.outH()).output_w(s.outW());
        }
        Pool2dParams p = c.required("params", s.window(), "pooling parameters");
        n.layout(p.layout().ordinal());
        return n.adaptive(0).kernel_h(p.kernelH()).kernel_w(p.kernelW()).stride_h(p.strideH()).stride_w(p.strideW())
                .pad_h(p.padH()).pad_w(p.padW()).dilation_h(p.dilationH()).dilation_w(p.dilationW())
                .ceil_mode(p.ceilMode() ? 1 : 0).count_include_pad(!s.max() && p.countIncludePad() ? 1 : 0)
                .divisor_override(s.max() ? 0 : p.divisorOverride());
    }

    /** The output shape for an input x (its data not read), failures naming xName. */
    private static long[] outputShape(Call c, dk_pool2d_params np, dk_tensor x, String xName) {
        try (LongPointer shape = new LongPointer(4)) {
            c.check(dk_pool2d_output_shape(c.context(), np, x, shape), "x", xName, "params.output_h", "outputH",
                    "params.output_w", "outputW");
            long[] out = new long[4];
            shape.get(out);
            return out;
        }
    }

    /** The pooled x and, for max pooling when withIndices, the argmax indices. */
    public static PoolResult forward(Call c, Tensor x, Spec s, boolean withIndices) {
        Tensor in = c.tensor("x", x);
        boolean taped = Derivatives.records(x);  // max pooling's backward reads the indices
        try (dk_pool2d_params np = params(c, s); Scope outputs = Scope.open()) {
            long[] shape = outputShape(c, np, handle(in), "x");
            Tensor out = c.output(in.dtype(), shape);
            Tensor indices = withIndices || (taped && s.max()) ? c.output(DType.I64, shape) : null;
            c.check(dk_pool2d_forward(c.context(), np, handle(in), handle(out), Call.handleOrNull(indices)));
            if (taped) Derivatives.pool(c, x, s, out, indices);
            return new PoolResult(outputs.keep(out), withIndices ? outputs.keep(indices) : null);
        }
    }

    /** The gradient of x [inputShape] for gradOut (and, for max pooling, the forward's indices). */
    public static Tensor backward(Call c, Tensor gradOut, Tensor indices, long[] inputShape, Spec s) {
        Tensor g = c.tensor("gradOut", gradOut);
        if (s.max()) c.tensor("indices", indices);
        try (dk_pool2d_params np = params(c, s); Call.Described input = c.describe("inputShape", g.dtype(), inputShape)) {
            long[] expected = outputShape(c, np, input.handle(), "inputShape");
            if (!Arrays.equals(expected, g.shape()))
                throw c.invalid("gradOut", "expected the forward's output shape " + Arrays.toString(expected)
                        + " for inputShape " + Arrays.toString(inputShape) + ", got " + Arrays.toString(g.shape()));
            return fresh(c.output(g.dtype(), inputShape), gradX -> c.check(dk_pool2d_backward(c.context(), np,
                    handle(g), s.max() ? c.in("indices", indices) : null, handle(gradX)), "grad_out", "gradOut"));
        }
    }

    /** He et al.'s spatial pyramid pooling of x over levels (grid sizes). */
    public static Tensor spp(Call c, Tensor x, int[] levels, Layout layout) {
        Derivatives.refuse(c.op(), x);
        int[] l = c.required("levels", levels, "grid sizes");
        if (l.length < 1 || l.length > DK_MAX_PYRAMID_LEVELS)
            throw c.invalid("levels", "expected 1 to " + DK_MAX_PYRAMID_LEVELS + " grid sizes, got " + l.length);
        return pyramid(c, x, layout, n -> {
            n.kind(DK_PYRAMID_SPP).num_levels(l.length);
            for (int i = 0; i < l.length; i++) n.levels(i, l[i]);
        });
    }

    /** YOLOv5's SPPF pooling of x: x and three chained kernel x kernel stride-1 max pools, concatenated over channels. */
    public static Tensor sppf(Call c, Tensor x, int kernel, Layout layout) {
        if (!Derivatives.records(x)) return pyramid(c, x, layout, n -> n.kind(DK_PYRAMID_SPPF).kernel(kernel));
        // on a tape, the same stages from the recorded pool and cat, once the fused form's checks pass
        pyramid(c, x, layout, n -> n.kind(DK_PYRAMID_SPPF).kernel(kernel), false);
        Spec pool = Spec.windowed(true, Pool2dParams.of(kernel).withStride(1).withPadding(kernel / 2).withLayout(layout));
        try (Tensor p1 = forward(c, x, pool, false).output(); Tensor p2 = forward(c, p1, pool, false).output();
             Tensor p3 = forward(c, p2, pool, false).output()) {
            return Tensor.cat(java.util.List.of(x, p1, p2, p3), layout == Layout.NHWC ? 3 : 1);
        }
    }

    private static Tensor pyramid(Call c, Tensor x, Layout layout, java.util.function.Consumer<dk_pyramid_pool_params> set) {
        return pyramid(c, x, layout, set, true);
    }

    /** The fused pyramid pooling, or (run false) only its arguments' validation: null then. */
    private static Tensor pyramid(Call c, Tensor x, Layout layout, java.util.function.Consumer<dk_pyramid_pool_params> set,
                                  boolean run) {
        Tensor in = c.tensor("x", x);
        c.required("layout", layout, "NCHW or NHWC");
        try (dk_pyramid_pool_params np = new dk_pyramid_pool_params().layout(layout.ordinal())) {
            set.accept(np);
            long[] shape = c.shape((s, d) -> dk_pyramid_pool_output_shape(c.context(), np, handle(in), s, d),
                    "params.levels", "levels", "params.kernel", "kernel");
            if (!run) return null;
            return fresh(c.output(in.dtype(), shape), out -> c.check(dk_pyramid_pool_forward(c.context(), np, handle(in),
                    handle(out))));
        }
    }

}
