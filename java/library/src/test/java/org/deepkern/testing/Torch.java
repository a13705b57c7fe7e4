package org.deepkern.testing;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorArrayRefOptional;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.deepkern.DType;
import org.deepkern.ops.Act;
import org.deepkern.torch.TorchEquivalents;

/**
 * PyTorch (CPU, through the JavaCPP presets) as an independent oracle: the same activation with
 * the same parameters, value and gradient by torch's autograd. Arrays go in and come out as f32;
 * the computation runs in the requested dtype (F32 or BF16). Nothing of deepkern runs here.
 */
public final class Torch {
    private Torch() {}

    static {
        torch.set_num_threads(1);  // tests may run beside other work; results do not depend on it
    }

    /** The value of an op and the gradients of its inputs for a given output gradient. */
    public record Result(float[] value, float[]... grads) {}

    /**
     * act(x) and gradOut * act'(x). The step unit has no derivative in torch (its (x > theta)
     * comparison is not differentiable): its gradients come back null.
     */
    public static Result activation(Act act, float[] x, float[] gradOut, DType dtype) {
        try (PointerScope scope = new PointerScope()) {
            Tensor tx = leaf(x, dtype);
            Tensor y = apply(act, tx);
            if (act.kind() == Act.Kind.STEP) return new Result(floats(y), (float[]) null);
            backward(y, gradOut, dtype);
            return new Result(floats(y), floats(tx.grad()));
        }
    }

    /** up * act(gate), composed from torch ops (glu's own kernel is in {@link #glu}); grads of gate and up. */
    public static Result gated(Act act, float[] gate, float[] up, float[] gradOut, DType dtype) {
        try (PointerScope scope = new PointerScope()) {
            Tensor tg = leaf(gate, dtype), tu = leaf(up, dtype);
            Tensor y = torch.mul(tu, apply(act, tg));
            backward(y, gradOut, dtype);
            return new Result(floats(y), floats(tg.grad()), floats(tu.grad()));
        }
    }

    /** torch.nn.functional.glu(x, dim=-1) on x [rows, cols], and the gradient of x. */
    public static Result glu(float[] x, long rows, long cols, float[] gradOut, DType dtype) {
        try (PointerScope scope = new PointerScope()) {
            Tensor tx = leaf(x, dtype, rows, cols);
            Tensor y = torch.glu(tx, -1);
            backward(y, gradOut, dtype);
            return new Result(floats(y), floats(tx.grad()));
        }
    }

    /** softmax (or log_softmax) over the last dim of x [rows, cols]; the gradient of x. */
    public static Result softmax(float[] x, long rows, long cols, float[] gradOut, boolean log, DType dtype) {
        try (PointerScope scope = new PointerScope()) {
            Tensor tx = leaf(x, dtype, rows, cols);
            Tensor y = log ? torch.log_softmax(tx, -1) : torch.softmax(tx, -1);
            backward(y, gradOut, dtype);
            return new Result(floats(y), floats(tx.grad()));
        }
    }

    /** torch.nn.functional.layer_norm over the last dim with weight and bias; grads of x, weight, bias. */
    public static Result layerNorm(float[] x, float[] w, float[] b, long rows, long cols, float[] gradOut, double eps,
                                   DType dtype) {
        try (PointerScope scope = new PointerScope()) {
            Tensor tx = leaf(x, dtype, rows, cols), tw = leaf(w, dtype), tb = leaf(b, dtype);
            Tensor y = torch.layer_norm(tx, new long[] {cols}, new TensorOptional(tw), new TensorOptional(tb), eps, false);
            backward(y, gradOut, dtype);
            return new Result(floats(y), floats(tx.grad()), floats(tw.grad()), floats(tb.grad()));
        }
    }

    /** torch.nn.functional.rms_norm over the last dim with a weight; grads of x and weight. */
    public static Result rmsNorm(float[] x, float[] w, long rows, long cols, float[] gradOut, double eps, DType dtype) {
        try (PointerScope scope = new PointerScope()) {
            Tensor tx = leaf(x, dtype, rows, cols), tw = leaf(w, dtype);
            Tensor y = torch.rms_norm(tx, new long[] {cols}, new TensorOptional(tw), new DoubleOptional(eps));
            backward(y, gradOut, dtype);
            return new Result(floats(y), floats(tx.grad()), floats(tw.grad()));
        }
    }

    /** softmax (or log_softmax) of x (of the given shape) over dim; the gradient of x. */
    public static Result softmax(float[] x, long[] shape, int dim, float[] gradOut, boolean log, DType dtype) {
        try (PointerScope scope = new PointerScope()) {
            Tensor tx = leaf(x, dtype, shape);
            Tensor y = log ? torch.log_softmax(tx, dim) : torch.softmax(tx, dim);
            backward(y, gradOut, dtype);
            return new Result(floats(y), floats(tx.grad()));
        }
    }

    /**
     * torch.nn.functional.layer_norm(x, normalizedShape, weight, bias, eps) on x of the given shape;
     * weight and bias null for none, eps NaN for torch's default (the two-argument call).
     */
    public static float[] layerNorm(float[] x, long[] shape, long[] normalizedShape, float[] w, float[] b, double eps,
                                    DType dtype) {
        try (PointerScope scope = new PointerScope()) {
            Tensor tx = leaf(x, dtype, shape);
            if (Double.isNaN(eps)) return floats(torch.layer_norm(tx, normalizedShape));
            return floats(torch.layer_norm(tx, normalizedShape, optional(w, normalizedShape, dtype),
                    optional(b, normalizedShape, dtype), eps, false));
        }
    }

    /** torch.nn.functional.rms_norm(x, normalizedShape, weight, eps); weight null for none, eps NaN for None. */
    public static float[] rmsNorm(float[] x, long[] shape, long[] normalizedShape, float[] w, double eps, DType dtype) {
        try (PointerScope scope = new PointerScope()) {
            return floats(torch.rms_norm(leaf(x, dtype, shape), normalizedShape, optional(w, normalizedShape, dtype),
                    Double.isNaN(eps) ? new DoubleOptional() : new DoubleOptional(eps)));
        }
    }

    /**
     * An activation called with torch's defaults only (torch.nn.functional.NAME(x)): leaky_relu, elu,
     * celu, hardtanh, softplus or gelu.
     */
    public static float[] defaultActivation(String name, float[] x, DType dtype) {
        try (PointerScope scope = new PointerScope()) {
            Tensor t = leaf(x, dtype);
            return floats(switch (name) {
                case "leaky_relu" -> torch.leaky_relu(t);
                case "elu" -> torch.elu(t);
                case "celu" -> torch.celu(t);
                case "hardtanh" -> torch.hardtanh(t);
                case "softplus" -> torch.softplus(t);
                case "gelu" -> torch.gelu(t);
                default -> throw new IllegalArgumentException(name);
            });
        }
    }

    /** torch.nn.functional.conv2d(x, w) or conv_transpose2d(x, w) with every default, in f32. */
    public static float[] conv2d(float[] x, long[] xShape, float[] w, long[] wShape, boolean transposed) {
        try (PointerScope scope = new PointerScope()) {
            Tensor tx = constant(x, xShape), tw = constant(w, wShape);
            return floats(transposed ? torch.conv_transpose2d(tx, tw) : torch.conv2d(tx, tw));
        }
    }

    /** torch.nn.functional.linear(x, w) without a bias, in f32. */
    public static float[] linear(float[] x, long[] xShape, float[] w, long[] wShape) {
        try (PointerScope scope = new PointerScope()) {
            return floats(torch.linear(constant(x, xShape), constant(w, wShape)));
        }
    }

    /**
     * torch's 2-D pooling of x [N, C, H, W] in f32: max_pool2d / avg_pool2d over window {kh, kw, sh,
     * sw, ph, pw, dh, dw} (divisor 0 = none), or, with window null, adaptive_max_pool2d /
     * adaptive_avg_pool2d to out {oh, ow}; the value and the gradient of x for gradOut.
     */
    public static Result pool2d(boolean max, float[] x, long[] shape, long[] window, boolean ceil, boolean countIncludePad,
                                long divisor, long[] out, float[] gradOut) {
        try (PointerScope scope = new PointerScope()) {
            Tensor tx = leaf(x, DType.F32, shape);
            long[] k = window == null ? null : new long[] {window[0], window[1]};
            long[] st = window == null ? null : new long[] {window[2], window[3]};
            long[] pad = window == null ? null : new long[] {window[4], window[5]};
            long[] dil = window == null ? null : new long[] {window[6], window[7]};
            Tensor y;
            if (window == null) y = max ? torch.adaptive_max_pool2d(tx, out).get0() : torch.adaptive_avg_pool2d(tx, out);
            else if (max) y = torch.max_pool2d(tx, k, st, pad, dil, ceil);
            else y = torch.avg_pool2d(tx, k, st, pad, ceil, countIncludePad,
                    divisor == 0 ? new LongOptional() : new LongOptional(divisor));
            backward(y, gradOut, DType.F32);
            return new Result(floats(y), floats(tx.grad()));
        }
    }

    /**
     * torch.nn.functional.interpolate of x [N, C, H, W] in f32, to size {oh, ow} or by scaleFactor
     * (recompute_scale_factor=False; size null), mode "nearest", "nearest-exact", "bilinear" or
     * "bicubic" (align_corners passed only to the interpolating modes, as torch requires); the value
     * and the gradient of x for gradOut.
     */
    public static Result interpolate(float[] x, long[] shape, long[] size, double[] scaleFactor, String mode,
                                     boolean alignCorners, boolean antialias, float[] gradOut) {
        try (PointerScope scope = new PointerScope()) {
            Tensor tx = leaf(x, DType.F32, shape);
            org.bytedeco.pytorch.InterpolateFuncOptions o = new org.bytedeco.pytorch.InterpolateFuncOptions();
            if (size != null) o.size().put(new org.bytedeco.pytorch.LongVector(size));
            else {
                o.scale_factor().put(new org.bytedeco.pytorch.DoubleVector(scaleFactor));
                o.recompute_scale_factor().put(false);
            }
            switch (mode) {
                case "nearest" -> o.mode().put(new org.bytedeco.pytorch.kNearest());
                case "nearest-exact" -> o.mode().put(new org.bytedeco.pytorch.kNearestExact());
                case "bilinear" -> o.mode().put(new org.bytedeco.pytorch.kBilinear());
                case "bicubic" -> o.mode().put(new org.bytedeco.pytorch.kBicubic());
                default -> throw new IllegalArgumentException(mode);
            }
            if (mode.equals("bilinear") || mode.equals("bicubic")) o.align_corners().put(alignCorners);
            o.antialias().put(antialias);
            Tensor y = torch.interpolate(tx, o);
            backward(y, gradOut, DType.F32);
            return new Result(floats(y), floats(tx.grad()));
        }
    }

    /** What torch.arange made: f32 values (reals) or i64 ones (integers), the other null. */
    public record Range(float[] reals, long[] integers) {}

    /**
     * torch.arange(start, end, step) with torch's own dtype choice: integral arguments (Long, Integer)
     * go in as integer scalars, the others as floating ones.
     */
    public static Range arange(Number start, Number end, Number step) {
        try (PointerScope scope = new PointerScope()) {
            Tensor t = torch.arange(scalar(start), scalar(end), scalar(step));
            if (t.is_floating_point()) return new Range(floats(t), null);
            long[] v = new long[(int) t.numel()];
            if (v.length > 0) t.contiguous().data_ptr_long().get(v);
            return new Range(null, v);
        }
    }

    /** torch.linspace(start, end, steps) in f32. */
    public static float[] linspace(double start, double end, long steps) {
        try (PointerScope scope = new PointerScope()) {
            return floats(torch.linspace(new Scalar(start), new Scalar(end), steps));
        }
    }

    private static Scalar scalar(Number n) {
        return n instanceof Long || n instanceof Integer ? new Scalar(n.longValue()) : new Scalar(n.doubleValue());
    }

    /** An optional tensor argument: values (null for none) of the given shape in dtype. */
    private static TensorOptional optional(float[] values, long[] shape, DType dtype) {
        return values == null ? new TensorOptional() : new TensorOptional(leaf(values, dtype, shape));
    }

    /** torch.matmul(a, b) for operands of the given shapes; grads of a and b. */
    public static Result matmul(float[] a, long[] aShape, float[] b, long[] bShape, float[] gradOut, DType dtype) {
        try (PointerScope scope = new PointerScope()) {
            Tensor ta = leaf(a, dtype, aShape), tb = leaf(b, dtype, bShape);
            Tensor y = torch.matmul(ta, tb);
            backward(y, gradOut, dtype);
            return new Result(floats(y), floats(ta.grad()), floats(tb.grad()));
        }
    }

    /** torch.nn.functional.linear(x, w, b) with x [rows, in], w [out, in], b [out]; grads of x, w, b. */
    public static Result linear(float[] x, long rows, long in, float[] w, long out, float[] b, float[] gradOut, DType dtype) {
        try (PointerScope scope = new PointerScope()) {
            Tensor tx = leaf(x, dtype, rows, in), tw = leaf(w, dtype, out, in), tb = leaf(b, dtype);
            Tensor y = torch.linear(tx, tw, new TensorOptional(tb));
            backward(y, gradOut, dtype);
            return new Result(floats(y), floats(tx.grad()), floats(tw.grad()), floats(tb.grad()));
        }
    }

    /** torch's attention output, the row logsumexp, and the gradients of q, k and v. */
    public record Attention(float[] out, float[] logsumexp, float[] gradQ, float[] gradK, float[] gradV) {}

    /**
     * torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask, is_causal, scale, enable_gqa=True)
     * with q [B, Hq, Lq, D], k and v [B, Hkv, Lk, D]; mask null or additive [B, Hq, Lq, Lk] (-inf masks,
     * given to torch in the dtype); scale NaN for torch's default. torch's SDPA does not return the
     * logsumexp: it is computed here in f32 as torch.logsumexp(scale q k^T + mask (+ the top-left causal
     * mask)) over the keys, with k repeated per group by repeat_interleave.
     */
    public static Attention attention(float[] q, long[] qShape, float[] k, float[] v, long[] kShape, float[] mask,
                                      boolean isCausal, double scale, float[] gradOut, DType dtype) {
        try (PointerScope scope = new PointerScope()) {
            Tensor tq = leaf(q, dtype, qShape), tk = leaf(k, dtype, kShape), tv = leaf(v, dtype, kShape);
            long lq = qShape[2], lk = kShape[2];
            long[] sShape = {qShape[0], qShape[1], lq, lk};
            Tensor tm = mask == null ? null : constant(mask, sShape);
            Tensor y = torch.scaled_dot_product_attention(tq, tk, tv,
                    tm == null ? new TensorOptional() : new TensorOptional(tm.to(scalarType(dtype))), 0.0, isCausal,
                    Double.isNaN(scale) ? new DoubleOptional() : new DoubleOptional(scale), true);
            backward(y, gradOut, dtype);
            double s = Double.isNaN(scale) ? 1 / Math.sqrt(qShape[3]) : scale;
            Tensor kf = tk.detach().to(torch.ScalarType.Float)
                    .repeat_interleave(qShape[1] / kShape[1], new LongOptional(1), new LongOptional());
            Tensor scores = torch.matmul(tq.detach().to(torch.ScalarType.Float), kf.transpose(-2, -1)).mul(new Scalar(s));
            if (tm != null) scores = scores.add(tm);
            if (isCausal) {
                float[] c = new float[(int) (lq * lk)];
                for (int i = 0; i < lq; i++)
                    for (int j = 0; j < lk; j++) c[(int) (i * lk + j)] = j > i ? Float.NEGATIVE_INFINITY : 0f;
                scores = scores.add(constant(c, lq, lk));
            }
            Tensor lse = torch.logsumexp(scores, -1);
            return new Attention(floats(y), floats(lse), floats(tq.grad()), floats(tk.grad()), floats(tv.grad()));
        }
    }

    /** a op b (add, sub, mul, div, maximum, minimum) with torch's broadcasting, in f32. */
    public static float[] binary(String op, float[] a, long[] as, float[] b, long[] bs) {
        try (PointerScope scope = new PointerScope()) {
            Tensor ta = constant(a, as), tb = constant(b, bs);
            return floats(switch (op) {
                case "add" -> torch.add(ta, tb);
                case "sub" -> torch.sub(ta, tb);
                case "mul" -> torch.mul(ta, tb);
                case "div" -> torch.div(ta, tb);
                case "maximum" -> torch.maximum(ta, tb);
                case "minimum" -> torch.minimum(ta, tb);
                default -> throw new IllegalArgumentException(op);
            });
        }
    }

    /** sum, mean, amax, amin, argmax or argmin of x (f32) over dims (argmax / argmin: one dim). */
    public static float[] reduce(String op, float[] x, long[] shape, long[] dims, boolean keepdim) {
        try (PointerScope scope = new PointerScope()) {
            Tensor t = constant(x, shape);
            return floats(switch (op) {
                case "sum" -> torch.sum(t, dims, keepdim, new ScalarTypeOptional());
                case "mean" -> torch.mean(t, dims, keepdim, new ScalarTypeOptional());
                case "max" -> torch.amax(t, dims, keepdim);
                case "min" -> torch.amin(t, dims, keepdim);
                case "argmax" -> torch.argmax(t, new LongOptional(dims[0]), keepdim);
                case "argmin" -> torch.argmin(t, new LongOptional(dims[0]), keepdim);
                default -> throw new IllegalArgumentException(op);
            });
        }
    }

    /**
     * x (f32, shape) through one of torch's view ops, made contiguous: "transpose" (args dim0, dim1),
     * "permute" (args the dims), "narrow" (dim, start, length), "expand" (the sizes), "cat" (x and
     * x's narrow(args[0], args[1], args[2]) joined along args[0]), "stack" (x and x + 1 along args[0]).
     */
    public static float[] layout(String op, float[] x, long[] shape, long... args) {
        try (PointerScope scope = new PointerScope()) {
            Tensor t = constant(x, shape);
            return floats(switch (op) {
                case "transpose" -> t.transpose(args[0], args[1]).contiguous();
                case "permute" -> t.permute(args).contiguous();
                case "narrow" -> t.narrow(args[0], args[1], args[2]).contiguous();
                case "expand" -> t.expand(args).contiguous();
                case "cat" -> torch.cat(new TensorVector(t, t.narrow(args[0], args[1], args[2])), args[0]);
                case "stack" -> torch.stack(new TensorVector(t, torch.add(t, new Scalar(1.0))), args[0]);
                default -> throw new IllegalArgumentException(op);
            });
        }
    }

    /**
     * torch.nn.functional's element-wise losses (mse_loss, l1_loss, smooth_l1_loss with beta,
     * binary_cross_entropy_with_logits with pos_weight or null) of x and t shaped shape, reduction as
     * at::Reduction numbers it (0 none, 1 mean, 2 sum); the value and the gradient of x.
     */
    public static Result loss(String kind, float[] x, float[] t, long[] shape, float[] posWeight, long reduction,
                              double beta, float[] gradOut, DType dtype) {
        try (PointerScope scope = new PointerScope()) {
            Tensor tx = leaf(x, dtype, shape);
            Tensor tt = torch.from_blob(new FloatPointer(t), shape).clone().to(scalarType(dtype));
            Tensor y = switch (kind) {
                case "mse" -> torch.mse_loss(tx, tt, reduction);
                case "l1" -> torch.l1_loss(tx, tt, reduction);
                case "smoothL1" -> torch.smooth_l1_loss(tx, tt, reduction, beta);
                case "bce" -> torch.binary_cross_entropy_with_logits(tx, tt, new TensorOptional(), posWeight == null
                        ? new TensorOptional()
                        : new TensorOptional(torch.from_blob(new FloatPointer(posWeight), posWeight.length).clone()
                                .to(scalarType(dtype))), reduction);
                default -> throw new IllegalArgumentException(kind);
            };
            backward(y, gradOut, dtype);
            return new Result(floats(y), floats(tx.grad()));
        }
    }

    /**
     * torch.nn.functional.cross_entropy of logits x (shape, class dim 1) against class indices
     * (targetShape), no class weights; the value and the gradient of x.
     */
    public static Result crossEntropy(float[] x, long[] shape, long[] target, long[] targetShape, long reduction,
                                      long ignoreIndex, double labelSmoothing, float[] gradOut, DType dtype) {
        try (PointerScope scope = new PointerScope()) {
            Tensor tx = leaf(x, dtype, shape);
            float[] tv = new float[target.length];
            for (int i = 0; i < tv.length; i++) tv[i] = target[i];
            Tensor tt = torch.from_blob(new FloatPointer(tv), new long[] {tv.length}).clone().to(torch.ScalarType.Long)
                    .reshape(targetShape);
            Tensor y = torch.cross_entropy_loss(tx, tt, new TensorOptional(), reduction, ignoreIndex, labelSmoothing);
            backward(y, gradOut, dtype);
            return new Result(floats(y), floats(tx.grad()));
        }
    }

    private static Tensor constant(float[] x, long... shape) {
        return torch.from_blob(new FloatPointer(x), shape).clone();
    }

    /** act(x @ w^T + b) + residual on x [rows, in]; grads of x, w, b (the residual's is gradOut). */
    public static Result linear(float[] x, long rows, long in, float[] w, long out, float[] b, Act act, float[] residual,
                                float[] gradOut, DType dtype) {
        try (PointerScope scope = new PointerScope()) {
            Tensor tx = leaf(x, dtype, rows, in), tw = leaf(w, dtype, out, in), tb = leaf(b, dtype);
            Tensor tr = torch.from_blob(new FloatPointer(residual), rows, out).clone().to(scalarType(dtype));
            Tensor y = torch.add(apply(act, torch.linear(tx, tw, new TensorOptional(tb))), tr);
            backward(y, gradOut, dtype);
            return new Result(floats(y), floats(tx.grad()), floats(tw.grad()), floats(tb.grad()));
        }
    }

    /** act(x) as PyTorch computes it: the row of activations.tsv named as deepkern.h names the kind. */
    private static Tensor apply(Act act, Tensor x) {
        return TorchEquivalents.forward(act.kind().name().toLowerCase(), x, act.alpha(), act.beta());
    }

    private static torch.ScalarType scalarType(DType dtype) {
        return switch (dtype) {
            case F32 -> torch.ScalarType.Float;
            case BF16 -> torch.ScalarType.BFloat16;
            case F16 -> torch.ScalarType.Half;
            default -> throw new IllegalArgumentException(dtype.toString());
        };
    }

    /** A tensor of dtype holding x (rounded), owning its memory, that autograd differentiates. */
    private static Tensor leaf(float[] x, DType dtype, long... shape) {
        long[] s = shape.length == 0 ? new long[] {x.length} : shape;
        Tensor t = torch.from_blob(new FloatPointer(x), s).clone().to(scalarType(dtype));
        t.set_requires_grad(true);
        return t;
    }

    private static void backward(Tensor y, float[] gradOut, DType dtype) {
        Tensor g = torch.from_blob(new FloatPointer(gradOut), gradOut.length).clone().to(scalarType(dtype))
                .reshape(y.sizes());
        y.backward(g, new BoolOptional(), false, new TensorArrayRefOptional());
    }

    private static float[] floats(Tensor t) {
        Tensor f = t.detach().to(torch.ScalarType.Float).contiguous();
        float[] out = new float[(int) f.numel()];
        if (out.length > 0) f.data_ptr_float().get(out);  // an empty tensor has no data pointer
        return out;
    }
}
