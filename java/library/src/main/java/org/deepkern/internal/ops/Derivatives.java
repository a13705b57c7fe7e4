package org.deepkern.internal.ops;

import java.util.Arrays;
import java.util.List;
import java.util.function.Supplier;
import org.deepkern.DeepKernException;
import org.deepkern.Device;
import org.deepkern.Tensor;
import org.deepkern.internal.Call;
import org.deepkern.internal.Recorder;
import org.deepkern.ops.Act;
import org.deepkern.ops.ActivationGrads;
import org.deepkern.ops.AttentionParams;
import org.deepkern.ops.AttentionResult;
import org.deepkern.ops.Conv2dParams;
import org.deepkern.ops.GatedGrads;
import org.deepkern.ops.InterpolateParams;
import org.deepkern.ops.LinearGrads;
import org.deepkern.ops.MatmulGrads;
import org.deepkern.ops.NormGrads;
import org.deepkern.ops.Reduction;
import org.deepkern.ops.RopeLayout;

/**
 * What each op records on an open tape (torch's derivatives.yaml): the op's inputs, the tensors its
 * backward reads, and that backward, which is the op's own backward function. The primitives record
 * here, at the form that returns a new tensor (an out form is never recorded); composite ops (a norm
 * over several dims, softmax over another dim, reshape of a strided view) are differentiated through
 * the primitives they are made of. Each rule returns the forward's result unchanged, so a call site
 * reads {@code return Derivatives.rule(..., forward(...))}. Not part of the public API.
 */
public final class Derivatives {
    private Derivatives() {}

    /** f run with recording paused: for a forward whose inner tensor ops the rule after it covers. */
    public static <T> T untaped(Supplier<T> f) {
        if (!Recorder.recording()) return f.get();
        Recorder.TapeFrame paused = Recorder.pause();
        try {
            return f.get();
        } finally {
            Recorder.resume(paused);
        }
    }

    /** @return whether an op on inputs is recorded now */
    static boolean records(Tensor... inputs) {
        return !off(inputs);
    }

    private static boolean off(Tensor... inputs) {
        return !Recorder.recording() || !Recorder.needsGrad(inputs);
    }

    private static Call backwardCall(String op) {
        return new Call(op + " (backward)");
    }

    private static boolean wants(Tensor t) {
        return t != null && t.requiresGrad();
    }

    // ---- element-wise arithmetic and reductions (Tensor's methods) ----

    /** g summed over the dims that broadcasting expanded to g's shape from shape (g itself when none). */
    static Tensor sumTo(Tensor g, long[] shape) {
        long[] gs = g.shape();
        if (Arrays.equals(gs, shape)) return g;
        int lead = gs.length - shape.length;
        int[] dims = new int[gs.length];
        int n = 0;
        for (int i = 0; i < gs.length; i++) if (i < lead || (shape[i - lead] == 1 && gs[i] != 1)) dims[n++] = i;
        try (Tensor s = g.sum(Arrays.copyOf(dims, n), true)) {
            return s.reshape(shape);
        }
    }

    private static Tensor scaledSumTo(Tensor g, double scale, long[] shape) {
        if (scale == 1) return sumTo(g, shape);
        try (Tensor s = g.mul(scale)) {
            return sumTo(s, shape);
        }
    }

    private static Tensor productSumTo(Tensor g, Tensor factor, long[] shape) {
        try (Tensor p = g.mul(factor)) {
            Tensor s = sumTo(p, shape);
            return s == p ? p.clone() : s;
        }
    }

    /** out = a op (alpha b), broadcast. */
    public static Tensor binary(String op, int kind, Tensor a, Tensor b, double alpha, Tensor out) {
        if (off(a, b)) return out;
        long[] as = a.shape(), bs = b.shape();
        boolean ga = wants(a), gb = wants(b);
        if (kind == Arithmetic.ADD || kind == Arithmetic.SUB) {
            double sign = kind == Arithmetic.SUB ? -alpha : alpha;
            Recorder.record(op, new Tensor[] {a, b}, new Tensor[] {out}, new Tensor[0], (g, s) -> new Tensor[] {
                    ga ? sumTo(g[0], as) : null, gb ? scaledSumTo(g[0], sign, bs) : null});
        } else if (kind == Arithmetic.MUL) {  // alpha is 1 here
            Recorder.record(op, new Tensor[] {a, b}, new Tensor[] {out}, new Tensor[] {ga ? b : null, gb ? a : null},
                    (g, s) -> new Tensor[] {ga ? productSumTo(g[0], s[0], as) : null, gb ? productSumTo(g[0], s[1], bs) : null});
        } else if (kind == Arithmetic.DIV) {  // d(a/b)/da = 1/b, d(a/b)/db = -out/b
            Recorder.record(op, new Tensor[] {a, b}, new Tensor[] {out}, new Tensor[] {b, gb ? out : null}, (g, s) -> {
                try (Tensor gOverB = g[0].div(s[0])) {
                    Tensor da = ga ? sumTo(gOverB, as) : null;
                    if (da == gOverB) da = gOverB.clone();
                    Tensor db = null;
                    if (gb) {
                        try (Tensor t = gOverB.mul(s[1])) {
                            db = scaledSumTo(t, -1, bs);
                            if (db == t) db = t.neg();
                        }
                    }
                    return new Tensor[] {da, db};
                }
            });
        } else {
            throw notDifferentiable(op);
        }
        return out;
    }

    /** out = a op scalar, or scalar op a when scalarFirst. */
    public static Tensor scalar(String op, int kind, Tensor a, double scalar, boolean scalarFirst, Tensor out) {
        if (off(a)) return out;
        final double factor;
        if (kind == Arithmetic.ADD) factor = 1;
        else if (kind == Arithmetic.SUB) factor = scalarFirst ? -1 : 1;
        else if (kind == Arithmetic.MUL) factor = scalar;
        else if (kind == Arithmetic.DIV && !scalarFirst) factor = 1 / scalar;
        else throw notDifferentiable(op);
        Recorder.record(op, new Tensor[] {a}, new Tensor[] {out}, new Tensor[0],
                (g, s) -> new Tensor[] {factor == 1 ? g[0] : g[0].mul(factor)});
        return out;
    }

    /** An in-place op is refused on a tensor that needs a gradient while a tape records: it would go unrecorded. */
    public static void inPlace(Call c, Tensor a, Tensor b) {
        if (!Recorder.recording()) return;
        if (wants(a)) throw c.invalid("this", "an in-place op on a tensor that needs a gradient while a tape records "
                + "(use the out-of-place form, or Tape.noGrad())");
        if (wants(b)) throw c.invalid("other", "an in-place op is not recorded, and 'other' needs a gradient (use the "
                + "out-of-place form)");
    }

    /** out = sum or mean of x over dims (none: all; negative from the end), keeping them when keepdim. */
    public static Tensor reduce(String op, int kind, Tensor x, int[] dims, boolean keepdim, Tensor out) {
        if (off(x) || !out.dtype().isFloating()) return out;  // argmax and argmin: indices, no gradient
        if (kind != Reductions.SUM && kind != Reductions.MEAN) throw notDifferentiable(op);
        long[] xs = x.shape();
        int n = xs.length;
        boolean[] reduced = new boolean[n];
        for (int d : dims) reduced[d < 0 ? d + n : d] = true;
        long count = 1;
        for (int i = 0; i < n; i++) {
            if (dims.length == 0) reduced[i] = true;
            if (reduced[i]) count *= xs[i];
        }
        double scale = kind == Reductions.MEAN ? 1.0 / count : 1.0;
        Recorder.record(op, new Tensor[] {x}, new Tensor[] {out}, new Tensor[0], (g, s) -> {
            long[] kept = xs.clone();
            for (int i = 0; i < n; i++) if (reduced[i]) kept[i] = 1;
            try (Tensor k = g[0].reshape(kept); Tensor scaled = scale == 1 ? null : k.mul(scale)) {
                return new Tensor[] {(scaled == null ? k : scaled).expand(xs)};
            }
        });
        return out;
    }

    // ---- views and copies (Tensor's methods) ----

    /** out has x's elements in another shape (view, reshape, contiguous, squeeze, unsqueeze, clone, to). */
    public static Tensor reshaped(String op, Tensor x, Tensor out) {
        if (off(x)) return out;
        long[] xs = x.shape();
        Device device = x.device();
        org.deepkern.DType dtype = x.dtype();
        Recorder.record(op, new Tensor[] {x}, new Tensor[] {out}, new Tensor[0], (g, s) -> {
            Tensor r = Arrays.equals(g[0].shape(), xs) ? g[0] : g[0].reshape(xs);
            if (r.dtype() != dtype) r = converted(r, g[0], r.to(dtype));
            if (!r.device().equals(device)) r = converted(r, g[0], r.to(device));
            return new Tensor[] {r};
        });
        return out;
    }

    private static Tensor converted(Tensor from, Tensor keep, Tensor to) {
        if (from != keep) from.close();
        return to;
    }

    /** out = x.permute(dims). */
    public static Tensor permuted(String op, Tensor x, int[] dims, Tensor out) {
        if (off(x)) return out;
        int n = dims.length;
        int[] inverse = new int[n];
        for (int i = 0; i < n; i++) inverse[dims[i] < 0 ? dims[i] + n : dims[i]] = i;
        Recorder.record(op, new Tensor[] {x}, new Tensor[] {out}, new Tensor[0], (g, s) -> new Tensor[] {g[0].permute(inverse)});
        return out;
    }

    /** out = x.transpose(a, b). */
    public static Tensor transposed(String op, Tensor x, int a, int b, Tensor out) {
        if (off(x)) return out;
        Recorder.record(op, new Tensor[] {x}, new Tensor[] {out}, new Tensor[0], (g, s) -> new Tensor[] {g[0].transpose(a, b)});
        return out;
    }

    /** out = x.narrow(dim, start, out's extent): the gradient is zero outside the slice. */
    public static Tensor narrowed(String op, Tensor x, int dim, long start, Tensor out) {
        if (off(x)) return out;
        long[] xs = x.shape();
        int d = dim < 0 ? dim + xs.length : dim;
        long length = out.shape(d);
        Recorder.record(op, new Tensor[] {x}, new Tensor[] {out}, new Tensor[0], (g, s) -> {
            Tensor gx = Tensor.zeros(xs, g[0].dtype(), g[0].device());
            try (Tensor slice = gx.narrow(d, start, length)) {
                slice.copyFrom(g[0]);
            }
            return new Tensor[] {gx};
        });
        return out;
    }

    /** out = x.expand(...): the gradient sums over the expanded dims. */
    public static Tensor expanded(String op, Tensor x, Tensor out) {
        if (off(x)) return out;
        long[] xs = x.shape();
        Recorder.record(op, new Tensor[] {x}, new Tensor[] {out}, new Tensor[0], (g, s) -> new Tensor[] {sumTo(g[0], xs)});
        return out;
    }

    /** out = cat (or stack, a new dim) of parts along dim. */
    public static Tensor joined(String op, List<Tensor> parts, int dim, boolean stack, Tensor out) {
        Tensor[] inputs = parts.toArray(new Tensor[0]);
        if (off(inputs)) return out;
        long[] extents = new long[inputs.length];
        for (int i = 0; i < inputs.length; i++) extents[i] = stack ? 1 : inputs[i].shape(dim);
        boolean[] want = new boolean[inputs.length];
        for (int i = 0; i < inputs.length; i++) want[i] = wants(inputs[i]);
        Recorder.record(op, inputs, new Tensor[] {out}, new Tensor[0], (g, s) -> {
            Tensor[] grads = new Tensor[extents.length];
            long at = 0;
            for (int i = 0; i < extents.length; i++) {
                if (want[i]) {
                    Tensor slice = g[0].narrow(dim, at, extents[i]);
                    grads[i] = stack ? converted(slice, null, slice.squeeze(dim)) : slice;
                }
                at += extents[i];
            }
            return grads;
        });
        return out;
    }

    // ---- the F primitives ----

    /** y = act(x + bias). */
    public static Tensor activation(Call c, Act act, Tensor x, Tensor bias, Tensor y) {
        if (off(x, bias)) return y;
        Recorder.record(c.op(), new Tensor[] {x, bias}, new Tensor[] {y}, new Tensor[] {x, bias}, (g, s) -> {
            if (s[1] == null) return new Tensor[] {Activations.backward(backwardCall(c.op()), act, s[0], g[0])};
            ActivationGrads r = Activations.backward(backwardCall(c.op()), act, s[0], s[1], g[0]);
            return new Tensor[] {r.input(), r.bias()};
        });
        return y;
    }

    /** y = up * act(gate). */
    public static Tensor gated(Call c, Act act, Tensor gate, Tensor up, Tensor y) {
        if (off(gate, up)) return y;
        Recorder.record(c.op(), new Tensor[] {gate, up}, new Tensor[] {y}, new Tensor[] {gate, up}, (g, s) -> {
            GatedGrads r = Activations.gatedBackward(backwardCall(c.op()), act, s[0], s[1], g[0]);
            return new Tensor[] {r.gate(), r.up()};
        });
        return y;
    }

    /** y = up * act(gate) of x = [up | gate]. */
    public static Tensor gatedSplit(Call c, Act act, Tensor x, Tensor y) {
        if (off(x)) return y;
        Recorder.record(c.op(), new Tensor[] {x}, new Tensor[] {y}, new Tensor[] {x},
                (g, s) -> new Tensor[] {Activations.gatedSplitBackward(backwardCall(c.op()), act, s[0], g[0])});
        return y;
    }

    /** y = softmax or log_softmax of x over the last dim: the backward reads y. */
    public static Tensor softmax(Call c, Tensor x, boolean log, Tensor y) {
        if (off(x)) return y;
        Recorder.record(c.op(), new Tensor[] {x}, new Tensor[] {y}, new Tensor[] {y},
                (g, s) -> new Tensor[] {Norms.softmaxBackward(backwardCall(c.op()), s[0], g[0], log)});
        return y;
    }

    /** y = layer_norm (rms_norm when rms) of x over the last dim. */
    public static Tensor norm(Call c, Tensor x, Tensor weight, Tensor bias, double eps, boolean rms, Tensor y) {
        if (off(x, weight, bias)) return y;
        boolean withBias = bias != null;
        Recorder.record(c.op(), new Tensor[] {x, weight, bias}, new Tensor[] {y}, new Tensor[] {x, weight}, (g, s) -> {
            NormGrads r = Norms.backward(backwardCall(c.op()), s[0], s[1], g[0], eps, withBias, rms);
            return new Tensor[] {r.input(), r.weight(), r.bias()};
        });
        return y;
    }

    /** y = op(a) @ op(b). */
    public static Tensor matmul(Call c, Tensor a, Tensor b, boolean transA, boolean transB, Tensor y) {
        if (off(a, b)) return y;
        Recorder.record(c.op(), new Tensor[] {a, b}, new Tensor[] {y}, new Tensor[] {a, b}, (g, s) -> {
            MatmulGrads r = Gemm.matmulBackward(backwardCall(c.op()), s[0], s[1], g[0], transA, transB);
            return new Tensor[] {r.a(), r.b()};
        });
        return y;
    }

    /** y = act(x @ weight^T + bias) + residual. */
    public static Tensor linear(Call c, Tensor x, Tensor weight, Tensor bias, Act act, Tensor residual, Tensor y) {
        if (off(x, weight, bias, residual)) return y;
        Recorder.record(c.op(), new Tensor[] {x, weight, bias, residual}, new Tensor[] {y}, new Tensor[] {x, weight, bias},
                (g, s) -> {
                    LinearGrads r = act == null
                            ? Gemm.linearBackward(backwardCall(c.op()), s[0], s[1], g[0], s[2] != null)
                            : Gemm.linearBackward(backwardCall(c.op()), s[0], s[1], s[2], act, g[0]);
                    return new Tensor[] {r.input(), r.weight(), r.bias(), residual == null ? null : g[0]};
                });
        return y;
    }

    /** y = act(conv(x, w) + bias) + residual: with an activation the backward recomputes its input. */
    public static Tensor conv2d(Call c, Tensor x, Tensor w, Tensor bias, Tensor residual, Conv2dParams p, Tensor y) {
        if (off(x, w, bias, residual)) return y;
        Act act = p.activation();
        boolean withBias = bias != null, gx = wants(x), gw = wants(w) || wants(bias);
        Recorder.record(c.op(), new Tensor[] {x, w, bias, residual}, new Tensor[] {y}, new Tensor[] {x, w, bias}, (g, s) -> {
            Call bc = backwardCall(c.op());
            Conv2dParams linear = p.withActivation(null);  // the gradients are of the convolution itself
            Tensor gz = g[0];
            if (act != null) {
                try (Tensor z = Convolution.conv2d(bc, s[0], s[1], s[2], null, linear)) {
                    gz = Activations.backward(bc, act, z, g[0]);
                }
            }
            try {
                Tensor dx = gx ? Convolution.backwardData(bc, gz, s[1], s[0].shape(), linear) : null;
                var dw = gw ? Convolution.backwardWeight(bc, s[0], gz, s[1].shape(), withBias, linear) : null;
                return new Tensor[] {dx, dw == null ? null : dw.gradWeight(), dw == null ? null : dw.gradBias(),
                        residual == null ? null : g[0]};
            } finally {
                if (gz != g[0]) gz.close();
            }
        });
        return y;
    }

    /** y = act(convT(x, w) + bias): convT is the data gradient of a convolution, so its gradients are that convolution's. */
    public static Tensor convTranspose2d(Call c, Tensor x, Tensor w, Tensor bias, Conv2dParams p, Tensor y) {
        if (off(x, w, bias)) return y;
        if (p.activation() != null) throw c.invalid("params", "a fused activation is not differentiable in a transposed "
                + "convolution yet: apply the activation after it");
        long[] ws = w.shape();
        boolean gx = wants(x), gw = wants(w), gb = wants(bias);
        int[] pixels = p.layout() == Conv2dParams.Layout.NHWC ? new int[] {0, 1, 2} : new int[] {0, 2, 3};
        Recorder.record(c.op(), new Tensor[] {x, w, bias}, new Tensor[] {y}, new Tensor[] {x, w}, (g, s) -> {
            Call bc = backwardCall(c.op());
            Tensor dx = gx ? Convolution.conv2d(bc, g[0], s[1], null, null, p) : null;
            // y = backwardData(x, w): the conv's input is y's shape, its output gradient x
            Tensor dw = gw ? Convolution.backwardWeight(bc, g[0], s[0], ws, false, p).gradWeight() : null;
            Tensor db = gb ? g[0].sum(pixels, false) : null;  // per output channel
            return new Tensor[] {dx, dw, db};
        });
        return y;
    }

    /** out = attention(q, k, v): the backward reads the forward's out and logsumexp. */
    public static AttentionResult attention(Call c, Tensor q, Tensor k, Tensor v, AttentionParams p, AttentionResult r) {
        if (off(q, k, v)) return r;
        Recorder.record(c.op(), new Tensor[] {q, k, v}, new Tensor[] {r.out()},
                new Tensor[] {q, k, v, r.out(), r.logsumexp()}, (g, s) -> {
                    var grads = Attention.backward(backwardCall(c.op()), s[0], s[1], s[2], new AttentionResult(s[3], s[4]),
                            g[0], p);
                    return new Tensor[] {grads.gradQ(), grads.gradK(), grads.gradV()};
                });
        return r;
    }

    /** y = x turned by the rotary embedding: its backward turns the gradient back. */
    public static Tensor rope(Call c, Tensor x, RopeLayout layout, double base, long offset, Tensor y) {
        if (off(x)) return y;
        Recorder.record(c.op(), new Tensor[] {x}, new Tensor[] {y}, new Tensor[0], (g, s) -> new Tensor[] {
                Rope.apply(backwardCall(c.op()), "gradOut", g[0], layout, base, offset, true)});
        return y;
    }

    /** y = pool(x); max pooling's backward reads the indices. */
    static Tensor pool(Call c, Tensor x, Pooling.Spec spec, Tensor y, Tensor indices) {
        long[] xs = x.shape();
        Recorder.record(c.op(), new Tensor[] {x}, new Tensor[] {y}, new Tensor[] {indices}, (g, s) -> new Tensor[] {
                Pooling.backward(backwardCall(c.op()), g[0], s[0], xs, spec)});
        return y;
    }

    /** y = x resized. */
    public static Tensor interpolate(Call c, Tensor x, double[] scales, InterpolateParams p, Tensor y) {
        if (off(x)) return y;
        long[] xs = x.shape();
        Recorder.record(c.op(), new Tensor[] {x}, new Tensor[] {y}, new Tensor[0], (g, s) -> new Tensor[] {
                Resizing.backward(backwardCall(c.op()), g[0], xs, scales, p)});
        return y;
    }

    /** y = roi_align(input, boxes): boxes get no gradient (torchvision's neither). */
    public static Tensor roiAlign(Call c, Tensor input, Tensor boxes, double spatialScale, int samplingRatio,
                                  boolean aligned, Tensor y) {
        if (off(input)) return y;
        long[] xs = input.shape();
        Recorder.record(c.op(), new Tensor[] {input}, new Tensor[] {y}, new Tensor[] {boxes}, (g, s) -> new Tensor[] {
                Detection.roiAlignBackward(backwardCall(c.op()), g[0], s[0], xs, spatialScale, samplingRatio, aligned)});
        return y;
    }

    // ---- losses: the target of an element-wise loss of (input - target) gets minus the input's gradient ----

    /** y = loss(input, target) of an element-wise kind, reduced. */
    public static Tensor loss(Call c, int kind, Tensor input, Tensor target, Reduction r, double beta, Tensor posWeight,
                              Tensor y) {
        if (off(input, target)) return y;
        if (kind == Losses.BCE_WITH_LOGITS && wants(target)) throw c.invalid("target", "the gradient of "
                + "binaryCrossEntropyWithLogits with respect to its target is not supported (detach the target)");
        boolean gi = wants(input), gt = wants(target);
        Recorder.record(c.op(), new Tensor[] {input, target}, new Tensor[] {y}, new Tensor[] {input, target, posWeight},
                (g, s) -> {
                    Tensor dx = Losses.backward(backwardCall(c.op()), kind, g[0], s[0], s[1], r, beta, s[2]);
                    Tensor dt = gt ? dx.neg() : null;
                    if (!gi) {
                        dx.close();
                        dx = null;
                    }
                    return new Tensor[] {dx, dt};
                });
        return y;
    }

    /** y = cross_entropy(logits, class indices). */
    public static Tensor crossEntropy(Call c, Tensor logits, Tensor target, Reduction r, long ignoreIndex, double smoothing,
                                      Tensor y) {
        if (off(logits)) return y;
        Recorder.record(c.op(), new Tensor[] {logits}, new Tensor[] {y}, new Tensor[] {logits, target}, (g, s) -> new Tensor[] {
                Losses.crossEntropyBackward(backwardCall(c.op()), g[0], s[0], s[1], r, ignoreIndex, smoothing)});
        return y;
    }

    /** y = CenterNet's focal loss of logits against a heatmap (which gets no gradient). */
    public static Tensor focal(Call c, Tensor logits, Tensor heatmap, double alpha, double beta, Tensor y) {
        if (off(logits, heatmap)) return y;
        if (wants(heatmap)) throw c.invalid("heatmap", "the focal loss's gradient with respect to the heatmap is not "
                + "supported (detach it)");
        Recorder.record(c.op(), new Tensor[] {logits}, new Tensor[] {y}, new Tensor[] {logits, heatmap}, (g, s) -> new Tensor[] {
                Losses.focalBackward(backwardCall(c.op()), g[0], s[0], s[1], alpha, beta)});
        return y;
    }

    /** An op a tape cannot record was given a tensor that needs a gradient. */
    public static DeepKernException notDifferentiable(String op) {
        return DeepKernException.invalidArgument(op, "this", "the op has no backward, and an input needs a gradient "
                + "while a tape records (run it under Tape.noGrad(), or on values that need none)");
    }

    /** Refuses a non-differentiable op while a tape records and an input needs a gradient. */
    public static void refuse(String op, Tensor... inputs) {
        if (!off(inputs)) throw notDifferentiable(op);
    }
}
