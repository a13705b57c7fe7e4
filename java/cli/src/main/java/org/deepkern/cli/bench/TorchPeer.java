package org.deepkern.cli.bench;

import java.util.List;
import java.util.function.IntConsumer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.TensorArrayRefOptional;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.torch.TorchEquivalents;

/**
 * The cpu peer: PyTorch through the JavaCPP presets (optional at run time: the bench command
 * loads this class reflectively and reports n/a when the presets are missing). Same op, same
 * semantics, same input values, same thread count, same rotation of input sets as ours.
 */
public final class TorchPeer implements Peer {
    private final int threads;

    public TorchPeer(int threads) {
        this.threads = threads;
        torch.set_num_threads(threads);
    }

    @Override
    public String name() {
        return "PyTorch 2.10 cpu";
    }

    @Override
    public PeerTime time(BenchCase c, float[][] inputs, Sampler sampler) {
        ScalarType in = scalarType(c.dtype()), out = scalarType(c.outputDtype());
        if (in == null || out == null) return PeerTime.none(name(), "n/a (dtype)");
        try (PointerScope scope = new PointerScope(); DeviceClock clock = new DeviceClock(Device.CPU)) {
            int copies = Bench.copies(c.bytes(), Bench.MIN_CACHE_BYTES);
            List<long[]> inShapes = c.op().inputShapes(c.shape()), outShapes = c.op().outputShapes(c.shape());
            Runnable[] calls = new Runnable[copies];
            Tensor[] first = null;
            for (int k = 0; k < copies; k++) {
                Tensor[] xs = new Tensor[inShapes.size()];
                for (int j = 0; j < xs.length; j++) xs[j] = fromFloats(inputs[j], inShapes.get(j)).to(in);
                // written before the timing, as ours are (Bench.run)
                Tensor[] ys = outShapes.stream().map(s -> torch.zeros(s, new TensorOptions(out)))
                        .toArray(Tensor[]::new);
                calls[k] = call(c.op(), c.shape(), xs, ys);
                if (calls[k] == null) return PeerTime.none(name(), "n/a (no PyTorch op mapped)");
                if (k == 0) first = ys;
            }
            // each call in its own scope, which frees the temporaries (x + b ...) it made
            IntConsumer call = k -> {
                try (PointerScope temporaries = new PointerScope()) {
                    calls[k].run();
                }
            };
            calls[0].run();  // outside a call scope: ops that return their output keep it for the check
            float[][] values = new float[first.length][];
            for (int j = 0; j < first.length; j++) values[j] = toFloats(first[j]);
            String why = c.op().verify(c.shape(), inputs, values, c.outputDtype());
            if (why != null) return PeerTime.none(name(), Peer.WRONG + why);
            return new PeerTime(name() + " (" + threads + " threads)", sampler.time(clock, copies, call), "");
        }
    }

    /**
     * The same op in PyTorch eager, out= forms where torch has them; an op without one (conv2d,
     * the norms, attention) leaves its results in y instead. Null when none is mapped.
     */
    private static Runnable call(BenchOp op, long[] shape, Tensor[] x, Tensor[] y) {
        if (op instanceof ActivationOp a) return activation(a, x, y);
        if (op instanceof SwiGluOp s) return swiglu(s, x, y);
        if (op instanceof DiffusionStepOp d) return diffusionStep(d, x, y);
        if (op instanceof AdamWOp a) return adamw(a, shape, x, y);
        if (op instanceof RandnOp) return () -> y[0].normal_();
        if (op instanceof CastOp) return () -> y[0].copy_(x[0]);
        if (op instanceof ArithmeticOp a) return a.kind() == ArithmeticOp.Kind.ADD ? () -> torch.add_out(y[0], x[0], x[1])
                : () -> torch.sum_out(y[0], x[0], new long[] {-1}, false, new ScalarTypeOptional());
        if (op instanceof RowOp r) return row(r, shape, x, y);
        if (op instanceof MatmulOp m) return m.linearGelu() ? () -> torch.gelu_(torch.addmm_out(y[0], x[2], x[0], x[1].t()))
                : () -> torch.matmul_out(y[0], x[0], x[1]);
        if (op instanceof ConvOp c) return conv(c, shape, x, y);
        if (op instanceof VisionOp v) return vision(v, shape, x, y);
        if (op instanceof FpnOp) return fpn(x, y);
        if (op instanceof AttentionOp a) return () -> y[0] = torch.scaled_dot_product_attention(x[0], x[1], x[2],
                new TensorOptional(), 0.0, a.causal(), new DoubleOptional(), false);
        if (op instanceof AttentionTrainOp a) return () -> {  // sdpa and its autograd backward, as training runs them
            Tensor q = x[0].detach().requires_grad_(), k = x[1].detach().requires_grad_(), v = x[2].detach().requires_grad_();
            torch.scaled_dot_product_attention(q, k, v, new TensorOptional(), 0.0, a.causal(), new DoubleOptional(), false)
                    .backward(x[3], new BoolOptional(), false, new TensorArrayRefOptional());
            y[0] = q.grad();
            y[1] = k.grad();
            y[2] = v.grad();
        };
        return null;
    }

    /** softmax_out and log_softmax_out; layer_norm and rms_norm as a model calls them (no out= form). */
    private static Runnable row(RowOp r, long[] shape, Tensor[] x, Tensor[] y) {
        long[] hidden = {shape[1]};
        return switch (r.kind()) {
            case SOFTMAX -> () -> torch.softmax_out(y[0], x[0], -1);
            case LOG_SOFTMAX -> () -> torch.log_softmax_out(y[0], x[0], -1);
            case LAYER_NORM -> () -> y[0] = torch.layer_norm(x[0], hidden, new TensorOptional(x[1]), new TensorOptional(x[2]),
                    RowOp.EPS, false);
            case RMS_NORM -> () -> y[0] = torch.rms_norm(x[0], hidden, new TensorOptional(x[1]), new DoubleOptional(RowOp.EPS));
        };
    }

    /**
     * torch.conv2d on channels-last views of the NHWC operands (the layout PyTorch's oneDNN path
     * takes and keeps); the fused form's peer adds the bias and applies ReLU eagerly, in place.
     * y[0] is the result viewed back as NHWC.
     */
    private static Runnable conv(ConvOp c, long[] s, Tensor[] x, Tensor[] y) {
        Tensor in = x[0].permute(0, 3, 1, 2), w = x[1].permute(0, 3, 1, 2);
        Tensor bias = c.biasRelu() ? x[2].view(1, -1, 1, 1) : null;
        long[] stride = {s[7], s[7]}, pad = {s[8], s[8]}, dilation = {1, 1};
        long groups = c.depthwise() ? s[3] : 1;
        return () -> {
            Tensor out = torch.conv2d(in, w, new TensorOptional(), stride, pad, dilation, groups);
            if (bias != null) out.add_(bias).relu_();
            y[0] = out.permute(0, 2, 3, 1);
        };
    }

    /**
     * torchvision's FeaturePyramidNetwork.forward in PyTorch eager: conv2d laterals, upsample_nearest2d
     * to the lateral's size added in place, 3x3 conv2d outputs, max_pool2d(1, 2) of the last (x: the
     * four maps, then each level's lateral weight and bias, then each level's output weight and bias).
     */
    private static Runnable fpn(Tensor[] x, Tensor[] y) {
        long[] one = {1, 1}, zero = {0, 0};
        int levels = FpnOp.LEVELS, outputs = 3 * levels;
        return () -> {
            Tensor inner = torch.conv2d(x[levels - 1], x[levels + 2 * (levels - 1)], new TensorOptional(x[levels + 2 * levels - 1]),
                    one, zero, one, 1);
            y[levels - 1] = torch.conv2d(inner, x[outputs + 2 * (levels - 1)], new TensorOptional(x[outputs + 2 * levels - 1]),
                    one, one, one, 1);
            for (int l = levels - 2; l >= 0; l--) {
                Tensor lateral = torch.conv2d(x[l], x[levels + 2 * l], new TensorOptional(x[levels + 2 * l + 1]), one, zero, one, 1);
                inner = lateral.add_(torch.upsample_nearest2d(inner, new long[] {x[l].size(2), x[l].size(3)}));
                y[l] = torch.conv2d(inner, x[outputs + 2 * l], new TensorOptional(x[outputs + 2 * l + 1]), one, one, one, 1);
            }
            y[levels] = torch.max_pool2d(y[levels - 1], one, new long[] {2, 2}, zero, one, false);
        };
    }

    /** max_pool2d, SPPF as three max_pool2d calls and a cat (YOLOv5's module), upsample_nearest2d / upsample_bilinear2d. */
    private static Runnable vision(VisionOp v, long[] s, Tensor[] x, Tensor[] y) {
        long[] up = {2 * s[2], 2 * s[3]}, one = {1, 1};
        return switch (v.kind()) {
            case MAX_POOL -> () -> y[0] = torch.max_pool2d(x[0], new long[] {3, 3}, new long[] {2, 2}, one, one, false);
            case SPPF -> () -> {
                long[] k = {5, 5}, pad = {2, 2};
                Tensor m1 = torch.max_pool2d(x[0], k, one, pad, one, false), m2 = torch.max_pool2d(m1, k, one, pad, one, false);
                y[0] = torch.cat(new org.bytedeco.pytorch.TensorVector(x[0], m1, m2, torch.max_pool2d(m2, k, one, pad, one, false)), 1);
            };
            case UPSAMPLE_NEAREST -> () -> y[0] = torch.upsample_nearest2d(x[0], up);
            case UPSAMPLE_BILINEAR -> () -> y[0] = torch.upsample_bilinear2d(x[0], up, false);
        };
    }

    /**
     * The activations.tsv forms: forward, act's out= form into y (for act(x + b): add_out into y,
     * then the same form from y into y); backward, torch's own backward kernel into grad_in from x
     * or x + b (added into a buffer made once), then grad_bias as the sum of grad_in over every
     * dim but the last.
     */
    private static Runnable activation(ActivationOp a, Tensor[] x, Tensor[] y) {
        String name = a.kind().name().toLowerCase();
        Tensor b = a.bias() ? x[x.length - 1] : null;
        if (!a.backward()) {
            if (b == null) return TorchEquivalents.forwardInto(name, x[0], y[0], 0, 0);
            Runnable act = TorchEquivalents.forwardInto(name, y[0], y[0], 0, 0);
            return () -> {
                torch.add_out(y[0], x[0], b);
                act.run();
            };
        }
        Tensor pre = b == null ? x[0] : torch.empty_like(x[0]);
        Runnable grad = TorchEquivalents.backwardInto(name, x[1], pre, y[0]);
        return () -> {
            if (b != null) torch.add_out(pre, x[0], b);
            grad.run();
            if (b != null) torch.sum_out(y[1], y[0].view(-1, y[1].numel()), 0);
        };
    }

    /**
     * PyTorch eager silu(gate) * up (the split form on narrow views of x, [up | gate]); backward:
     * grad_gate = silu_backward(gradOut * up, gate), grad_up = gradOut * silu(gate).
     */
    private static Runnable swiglu(SwiGluOp s, Tensor[] x, Tensor[] y) {
        Tensor gate, up, gradGate, gradUp;
        if (s.split()) {
            long h = x[0].size(-1) / 2;
            up = x[0].narrow(-1, 0, h);
            gate = x[0].narrow(-1, h, h);
            gradUp = s.backward() ? y[0].narrow(-1, 0, h) : null;
            gradGate = s.backward() ? y[0].narrow(-1, h, h) : null;
        } else {
            gate = x[0];
            up = x[1];
            gradGate = y[0];
            gradUp = s.backward() ? y[1] : null;
        }
        if (!s.backward()) return () -> torch.mul_out(y[0], torch.silu(gate), up);
        Tensor gradOut = x[x.length - 1];
        return () -> {
            torch.silu_backward_out(gradGate, gradOut.mul(up), gate);
            torch.mul_out(gradUp, gradOut, torch.silu(gate));
        };
    }

    /**
     * The diffusers formula as eager ops (what a Java user of the presets would write): x0 from
     * eps, then the DDIM update, or the DDPM posterior mean plus sigma * torch.randn_like.
     */
    private static Runnable diffusionStep(DiffusionStepOp d, Tensor[] x, Tensor[] y) {
        double[] s = DiffusionStepOp.scalars();
        double abT = DiffusionStepOp.AB_T, abP = DiffusionStepOp.AB_PREV;
        Scalar rootAb = new Scalar(Math.sqrt(abT)), rootOneMinusAb = new Scalar(Math.sqrt(1 - abT));
        return () -> {
            Tensor x0 = x[0].sub(x[1].mul(rootOneMinusAb)).div(rootAb);
            if (d.noisy())
                torch.add_out(y[0], x0.mul(new Scalar(s[0])).add(x[0].mul(new Scalar(s[1]))),
                        torch.randn_like(x[0]).mul(new Scalar(s[2])));
            else
                torch.add_out(y[0], x0.mul(new Scalar(Math.sqrt(abP))), x[1].mul(new Scalar(Math.sqrt(1 - abP))));
        };
    }

    /**
     * torch.optim.AdamW's single-tensor update (foreach=False: mul_, lerp_, mul_ + addcmul_, sqrt /
     * div_ / add_, addcdiv_) at step 1, in place: once over the flat buffers for adamw_fused (a
     * generous peer: torch's loop would run it per parameter), once per parameter's slice for
     * adamw_per_param; the updated param, exp_avg and exp_avg_sq are the outputs.
     */
    private static Runnable adamw(AdamWOp op, long[] shape, Tensor[] x, Tensor[] y) {
        org.deepkern.optim.AdamW.Options o = AdamWOp.OPTIONS;
        Scalar decay = new Scalar(1 - o.lr() * o.weightDecay()), w1 = new Scalar(1 - o.beta1()),
                b2 = new Scalar(o.beta2()), w2 = new Scalar(1 - o.beta2()), bc2 = new Scalar(Math.sqrt(1 - o.beta2())),
                eps = new Scalar(o.eps()), step = new Scalar(-o.lr() / (1 - o.beta1()));
        long[] sizes = op.perParameter() ? AdamWOp.sizes(shape) : new long[] {AdamWOp.total(shape)};
        return () -> {
            long at = 0;
            for (long n : sizes) {
                Tensor p = x[0].narrow(0, at, n), g = x[1].narrow(0, at, n), m = x[2].narrow(0, at, n),
                        v = x[3].narrow(0, at, n);
                at += n;
                p.mul_(decay);
                m.lerp_(g, w1);
                v.mul_(b2).addcmul_(g, g, w2);
                p.addcdiv_(m, v.sqrt().div_(bc2).add_(eps), step);
            }
            y[0] = x[0];
            y[1] = x[2];
            y[2] = x[3];
        };
    }

    private static ScalarType scalarType(DType t) {
        return switch (t) {
            case F32 -> ScalarType.Float;
            case BF16 -> ScalarType.BFloat16;
            case F16 -> ScalarType.Half;
            default -> null;
        };
    }

    /** A torch tensor owning a copy of the values (from_blob does not own its memory). */
    private static Tensor fromFloats(float[] values, long[] shape) {
        try (FloatPointer p = new FloatPointer(values)) {
            return torch.from_blob(p, shape, new TensorOptions(ScalarType.Float)).clone();
        }
    }

    private static float[] toFloats(Tensor t) {
        long numel = t.numel();
        float[] out = new float[Math.toIntExact(numel)];
        try (FloatPointer p = new FloatPointer(Math.max(1, numel))) {
            torch.from_blob(p, new long[] {numel}, new TensorOptions(ScalarType.Float))
                    .copy_(t.to(ScalarType.Float).contiguous().view(numel));
            p.get(out);
        }
        return out;
    }
}
