package org.deepkern.flow;

import java.util.Arrays;
import java.util.List;
import java.util.function.Supplier;

import org.deepkern.DType;
import org.deepkern.DeepKernException;
import org.deepkern.Device;
import org.deepkern.Tensor;
import org.deepkern.autograd.Backward;
import org.deepkern.autograd.NoGrad;
import org.deepkern.autograd.Tape;
import org.deepkern.internal.Call;
import org.deepkern.ops.CouplingGrads;
import org.deepkern.ops.F;

/**
 * The flow layers' own differentiable pieces: each runs its forward under no-grad and records
 * itself as one op on the open tape (a no-op without one), with a backward written here. Views,
 * permutes and joins thus reach the tape as single ops with exact gradients, whatever the tape
 * records of view ops.
 */
final class FlowOps {
    private FlowOps() {}

    /** Runs forward with nothing recorded, then records it as op (when a tape records). */
    static Tensor[] recorded(String op, Tensor[] inputs, Tensor[] saved, Supplier<Tensor[]> forward, Backward backward) {
        Tensor[] outputs;
        try (NoGrad g = Tape.noGrad()) {
            outputs = forward.get();
        }
        Tape.record(op, inputs, outputs, saved, (gradOutputs, s) -> {
            try (NoGrad g = Tape.noGrad()) {
                return backward.apply(gradOutputs, s);
            }
        });
        return outputs;
    }

    /**
     * x checked as a flow input: open, f32, at least [N, C]. The layers compute in f32 (their
     * parameters and the host-built 1x1 weights are f32); F.affineCoupling* take f16 / bf16 too.
     */
    static Tensor input(String op, String name, Tensor x) {
        new Call(op).tensor(name, x);
        if (x.ndim() < 2)
            throw DeepKernException.invalidArgument(op, name, "expected [N, C, ...] (at least 2 dims), got " + Arrays.toString(x.shape()));
        if (x.dtype() != DType.F32)
            throw DeepKernException.invalidArgument(op, name, "expected F32 (the flow layers compute in f32), got " + x.dtype());
        return x;
    }

    /** The dims summed for a per-channel statistic: every dim but 1. */
    static int[] allButChannel(int ndim) {
        int[] dims = new int[ndim - 1];
        dims[0] = 0;
        for (int d = 2; d < ndim; ++d) dims[d - 1] = d;
        return dims;
    }

    /** Every dim but 0: a per-sample sum. */
    static int[] allButSample(int ndim) {
        int[] dims = new int[ndim - 1];
        for (int d = 1; d < ndim; ++d) dims[d - 1] = d;
        return dims;
    }

    /** Elements per channel of one sample: the product of the dims after 1. */
    static long positions(long[] shape) {
        long p = 1;
        for (int d = 2; d < shape.length; ++d) p *= shape[d];
        return p;
    }

    /** The shape [1, C, 1, ...] a per-channel vector broadcasts with over a tensor of rank ndim. */
    static long[] channelShape(long c, int ndim) {
        long[] s = new long[ndim];
        Arrays.fill(s, 1);
        s[1] = c;
        return s;
    }

    /** f32 [n] filled with v on device. */
    static Tensor constantLogDet(long n, double v, Device device) {
        return Tensor.full(new long[] {n}, v, DType.F32, device);
    }

    /** The sum of a gradient of the log-det (null counts as zero), on the host. */
    static double sumOf(Tensor g) {
        if (g == null) return 0;
        try (Tensor s = g.sum()) {
            return s.item();
        }
    }

    // ---- partition and merge along dim 1 ----

    /** The channels of the first part (the second has the rest): C / 2 (PARITY needs C even). */
    static long firstPart(long c) {
        return c / 2;
    }

    private static Tensor[] partitionRaw(Tensor x, Mask mask) {
        long[] s = x.shape();
        long c = s[1];
        if (mask == Mask.HALVES) {
            long c1 = c / 2;
            try (Tensor a = x.narrow(1, 0, c1); Tensor b = x.narrow(1, c1, c - c1)) {
                return new Tensor[] {a.contiguous(), b.contiguous()};
            }
        }
        // PARITY (c even): [N, C/2, 2, ...], even channels then odd ones
        long[] v = new long[s.length + 1];
        v[0] = s[0];
        v[1] = c / 2;
        v[2] = 2;
        System.arraycopy(s, 2, v, 3, s.length - 2);
        long[] part = s.clone();
        part[1] = c / 2;
        Tensor[] out = new Tensor[2];
        try (Tensor xc = x.contiguous(); Tensor pairs = xc.view(v)) {
            for (int k = 0; k < 2; ++k)
                try (Tensor n = pairs.narrow(2, k, 1); Tensor cc = n.contiguous()) {
                    out[k] = cc.reshape(part);
                }
        }
        return out;
    }

    private static Tensor mergeRaw(Tensor a, Tensor b, Mask mask) {
        if (mask == Mask.HALVES) return Tensor.cat(List.of(a, b), 1);
        long[] s = a.shape();
        long[] full = s.clone();
        full[1] = 2 * s[1];
        try (Tensor st = Tensor.stack(List.of(a, b), 2)) {
            return st.reshape(full);
        }
    }

    /** x split along dim 1 into [first part, second part] (see {@link Mask}), recorded. */
    static Tensor[] partition(Tensor x, Mask mask) {
        return recorded("flow.partition", new Tensor[] {x}, new Tensor[0], () -> partitionRaw(x, mask),
                (g, s) -> new Tensor[] {mergeRaw(g[0], g[1], mask)});
    }

    /** The parts joined again along dim 1, recorded. */
    static Tensor merge(Tensor a, Tensor b, Mask mask) {
        return recorded("flow.merge", new Tensor[] {a, b}, new Tensor[0], () -> new Tensor[] {mergeRaw(a, b, mask)},
                (g, s) -> partitionRaw(g[0], mask))[0];
    }

    // ---- squeeze ----

    static Tensor squeezeRaw(Tensor x) {
        long[] s = x.shape();
        long n = s[0], c = s[1], h = s[2], w = s[3];
        try (Tensor xc = x.contiguous(); Tensor v = xc.view(n, c, h / 2, 2, w / 2, 2);
             Tensor p = v.permute(0, 1, 3, 5, 2, 4); Tensor pc = p.contiguous()) {
            return pc.reshape(n, 4 * c, h / 2, w / 2);
        }
    }

    static Tensor unsqueezeRaw(Tensor z) {
        long[] s = z.shape();
        long n = s[0], c = s[1] / 4, h = s[2], w = s[3];
        try (Tensor zc = z.contiguous(); Tensor v = zc.view(n, c, 2, 2, h, w);
             Tensor p = v.permute(0, 1, 4, 2, 5, 3); Tensor pc = p.contiguous()) {
            return pc.reshape(n, c, 2 * h, 2 * w);
        }
    }

    /** Glow's squeeze2d, recorded. */
    static Tensor squeeze(Tensor x) {
        return recorded("flow.squeeze", new Tensor[] {x}, new Tensor[0], () -> new Tensor[] {squeezeRaw(x)},
                (g, s) -> new Tensor[] {unsqueezeRaw(g[0])})[0];
    }

    // ---- flatten and join (a flow's z) ----

    /** Each part flattened to [N, k] and the parts joined along dim 1, recorded. */
    static Tensor flattenCat(List<Tensor> parts) {
        Tensor[] in = parts.toArray(new Tensor[0]);
        long[][] shapes = new long[in.length][];
        for (int i = 0; i < in.length; ++i) shapes[i] = in[i].shape();
        return recorded("flow.flatten", in, new Tensor[0], () -> new Tensor[] {flattenCatRaw(in)}, (g, s) -> {
            Tensor[] out = new Tensor[shapes.length];
            long at = 0;
            for (int i = 0; i < shapes.length; ++i) {
                long k = shapes[i][0] == 0 ? 0 : numel(shapes[i]) / shapes[i][0];
                try (Tensor nv = g[0].narrow(1, at, k); Tensor c = nv.contiguous()) {
                    out[i] = c.reshape(shapes[i]);
                }
                at += k;
            }
            return out;
        })[0];
    }

    static Tensor flattenCatRaw(Tensor[] parts) {
        Tensor[] flat = new Tensor[parts.length];
        try {
            for (int i = 0; i < parts.length; ++i) flat[i] = parts[i].reshape(parts[i].shape(0), -1);
            return flat.length == 1 ? flat[0].clone() : Tensor.cat(Arrays.asList(flat), 1);
        } finally {
            for (Tensor t : flat) if (t != null) t.close();
        }
    }

    static long numel(long[] shape) {
        long n = 1;
        for (long e : shape) n *= e;
        return n;
    }

    // ---- the fused coupling ----

    /** The fused coupling's forward, recorded: [y, logDet f32 [N]] from the transformed part and h. */
    static Tensor[] coupling(Tensor x, Tensor h) {
        return recorded("flow.coupling", new Tensor[] {x, h}, new Tensor[] {x, h}, () -> {
            Tensor ld = Tensor.zeros(new long[] {x.shape(0)}, DType.F32, x.device());
            try {
                return new Tensor[] {F.affineCouplingForward(x, h, ld), ld};
            } catch (RuntimeException e) {
                ld.close();
                throw e;
            }
        }, (g, s) -> {
            CouplingGrads grads = F.affineCouplingBackward(s[0], s[1], g[0], g[1]);
            return new Tensor[] {grads.x(), grads.h()};
        });
    }
}
