package org.deepkern.internal.ops;

import static org.deepkern.bindings.global.deepkern.*;
import static org.deepkern.internal.Call.fresh;
import static org.deepkern.internal.Call.handle;

import java.util.Arrays;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.LongPointer;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.bindings.dk_conv2d_params;
import org.deepkern.bindings.dk_tensor;
import org.deepkern.internal.Call;
import org.deepkern.ops.Act;
import org.deepkern.ops.Conv2dParams;
import org.deepkern.ops.Conv2dWeightGrads;

/**
 * 2-D convolution (kernels/conv): forward with its fused epilogue, the data and weight gradients,
 * the transposed convolution. Output shapes come from the native shape queries. Not part of the
 * public API.
 */
public final class Convolution {
    private Convolution() {}

    /** The call's params argument as the C API takes it; close it after. */
    private static dk_conv2d_params params(Call c, Conv2dParams p) {
        c.required("params", p, "convolution parameters");
        dk_conv2d_params n = new dk_conv2d_params().layout(p.layout().ordinal()).stride_h(p.strideH())
                .stride_w(p.strideW()).pad_top(p.padTop()).pad_bottom(p.padBottom()).pad_left(p.padLeft())
                .pad_right(p.padRight()).dilation_h(p.dilationH()).dilation_w(p.dilationW()).groups(p.groups())
                .output_padding_h(p.outputPaddingH()).output_padding_w(p.outputPaddingW());
        Act act = p.activation();
        if (act == null) n.activation().kind(DK_ACT_NONE);
        else n.activation().kind(Activations.code(act.kind())).alpha(act.alpha()).beta(act.beta());
        return n;
    }

    /** The 4 extents a native conv shape query gives (renames as {@link Call#check(int, String...)}). */
    private interface ShapeQuery {
        int query(LongPointer shape);
    }

    private static long[] shape(Call c, ShapeQuery q, String... renames) {
        try (LongPointer shape = new LongPointer(4)) {
            c.check(q.query(shape), renames);
            long[] out = new long[4];
            shape.get(out);
            return out;
        }
    }

    public static Tensor conv2d(Call c, Tensor x, Tensor w, Tensor bias, Tensor residual, Conv2dParams p) {
        Tensor in = c.tensor("x", x), wt = c.tensor("w", w);
        long[] outShape;
        try (dk_conv2d_params np = params(c, p)) {
            outShape = shape(c, s -> dk_conv2d_output_shape(c.context(), np, handle(in), handle(wt), s));
        }
        return Derivatives.conv2d(c, x, w, bias, residual, p,
                fresh(c.output(in.dtype(), outShape), out -> conv2d(c, x, w, bias, residual, p, out)));
    }

    public static Tensor conv2d(Call c, Tensor x, Tensor w, Tensor bias, Tensor residual, Conv2dParams p, Tensor out) {
        c.tensor("x", x);
        try (dk_conv2d_params np = params(c, p)) {
            c.check(dk_conv2d_forward(c.context(), np, c.in("x", x), c.in("w", w), c.optional("bias", bias),
                    c.optional("residual", residual), c.in("out", out)));
        }
        return out;
    }

    public static String algorithm(Call c, Tensor x, Tensor w, Conv2dParams p) {
        c.tensor("x", x);
        try (dk_conv2d_params np = params(c, p)) {
            BytePointer name = new BytePointer((BytePointer) null);  // points at a static string
            c.check(dk_conv2d_forward_algorithm(c.context(), np, c.in("x", x), c.in("w", w), name));
            return name.getString();
        }
    }

    /** The data gradient for an input of shape inputShape. */
    public static Tensor backwardData(Call c, Tensor gradOut, Tensor w, long[] inputShape, Conv2dParams p) {
        Tensor g = c.tensor("gradOut", gradOut), wt = c.tensor("w", w);
        try (dk_conv2d_params np = params(c, p); Call.Described input = c.describe("inputShape", g.dtype(), inputShape)) {
            givesGradOut(c, np, input.handle(), handle(wt), g, "x", "inputShape", Arrays.toString(inputShape));
        }
        return fresh(c.output(g.dtype(), inputShape), gradX -> backwardData(c, gradOut, w, p, gradX));
    }

    public static Tensor backwardData(Call c, Tensor gradOut, Tensor w, Conv2dParams p, Tensor gradX) {
        c.tensor("gradOut", gradOut);
        try (dk_conv2d_params np = params(c, p)) {
            c.check(dk_conv2d_backward_data(c.context(), np, c.in("gradOut", gradOut), c.in("w", w), c.in("gradX", gradX)));
        }
        return gradX;
    }

    /** The weight gradient for a weight of shape weightShape and, when withBias, the bias gradient. */
    public static Conv2dWeightGrads backwardWeight(Call c, Tensor x, Tensor gradOut, long[] weightShape, boolean withBias,
                                                   Conv2dParams p) {
        Tensor in = c.tensor("x", x), g = c.tensor("gradOut", gradOut);
        try (dk_conv2d_params np = params(c, p); Call.Described filters = c.describe("weightShape", in.dtype(), weightShape)) {
            givesGradOut(c, np, handle(in), filters.handle(), g, "w", "weightShape",
                    "'x' with " + Arrays.toString(weightShape));
        }
        try (Scope outputs = Scope.open()) {
            Tensor gradW = c.output(in.dtype(), weightShape);
            Tensor gradB = withBias ? c.output(in.dtype(), weightShape[0]) : null;
            backwardWeight(c, x, gradOut, p, gradW, gradB);
            return new Conv2dWeightGrads(outputs.keep(gradW), outputs.keep(gradB));
        }
    }

    public static void backwardWeight(Call c, Tensor x, Tensor gradOut, Conv2dParams p, Tensor gradW, Tensor gradBias) {
        c.tensor("x", x);
        try (dk_conv2d_params np = params(c, p)) {
            c.check(dk_conv2d_backward_weight(c.context(), np, c.in("x", x), c.in("gradOut", gradOut),
                    c.in("gradW", gradW), c.optional("gradBias", gradBias)));
        }
    }

    public static Tensor transpose2d(Call c, Tensor x, Tensor w, Tensor bias, Conv2dParams p) {
        Tensor in = c.tensor("x", x), wt = c.tensor("w", w);
        long[] outShape;
        try (dk_conv2d_params np = params(c, p)) {
            outShape = shape(c, s -> dk_conv_transpose2d_output_shape(c.context(), np, handle(in), handle(wt), s));
        }
        return Derivatives.convTranspose2d(c, x, w, bias, p,
                fresh(c.output(in.dtype(), outShape), out -> transpose2d(c, x, w, bias, p, out)));
    }

    public static Tensor transpose2d(Call c, Tensor x, Tensor w, Tensor bias, Conv2dParams p, Tensor out) {
        c.tensor("x", x);
        try (dk_conv2d_params np = params(c, p)) {
            c.check(dk_conv_transpose2d_forward(c.context(), np, c.in("x", x), c.in("w", w), c.optional("bias", bias),
                    c.in("out", out)));
        }
        return out;
    }

    /**
     * A gradient's shape argument, checked before its output is allocated: the convolution of image
     * through filters (one of them described from that argument, native name nativeName) must give
     * gradOut's shape.
     */
    private static void givesGradOut(Call c, dk_conv2d_params np, dk_tensor image, dk_tensor filters, Tensor gradOut,
                                     String nativeName, String argument, String what) {
        long[] out = shape(c, s -> dk_conv2d_output_shape(c.context(), np, image, filters, s), nativeName, argument);
        if (!Arrays.equals(out, gradOut.shape())) throw c.invalid(argument, "the convolution of " + what + " gives "
                + Arrays.toString(out) + ", but 'gradOut' is " + Arrays.toString(gradOut.shape()));
    }
}
