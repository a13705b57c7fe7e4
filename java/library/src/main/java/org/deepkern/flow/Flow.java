package org.deepkern.flow;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.deepkern.DType;
import org.deepkern.DeepKern;
import org.deepkern.DeepKernException;
import org.deepkern.Device;
import org.deepkern.Generator;
import org.deepkern.Tensor;
import org.deepkern.autograd.NoGrad;
import org.deepkern.autograd.Tape;

/**
 * A normalizing flow: a sequence of {@link FlowLayer}s with a standard normal base distribution.
 *
 * <p>Direction (nflows' convention): {@link #forwardWithLogDet} maps data x to noise z and returns
 * log |det dz/dx|, so {@link #logProb} is log N(z; 0, I) + logDet; {@link #inverse} and
 * {@link #sample} map noise to data. z is always [N, D] with D the elements of one sample: the
 * halves factored out by {@link Split} layers (in the order they were split off), then the last
 * layer's output, each flattened row-major. A flow of [N, D] feature layers without splits gives z
 * with x's shape.
 *
 * <p>The layers are registered as children "0", "1", ..., so {@link #parameters()} lists them all
 * for an optimizer. The forward and logProb record themselves on an open
 * {@link org.deepkern.autograd.Tape}; inverse and sample do not.
 */
public final class Flow extends FlowLayer {
    private static final double LOG_2PI = Math.log(2 * Math.PI);
    private final long[] sampleShape;
    private final List<FlowLayer> layers;
    private final long[][] inShapes;   // per layer: its input's sample shape
    private final long[] finalShape;
    private final long latent;

    /**
     * A flow over samples of a given shape.
     *
     * @param sampleShape one sample's dims (after N): [D] for feature vectors, [C, H, W] for images
     * @param layers the layers, data side first
     * @throws DeepKernException naming {@code new Flow} and the argument when a shape does not fit a layer
     */
    public Flow(long[] sampleShape, FlowLayer... layers) {
        String op = "new Flow";
        if (sampleShape == null || sampleShape.length < 1)
            throw DeepKernException.invalidArgument(op, "sampleShape", "expected at least one dim, got " + Arrays.toString(sampleShape));
        for (long e : sampleShape)
            if (e < 1) throw DeepKernException.invalidArgument(op, "sampleShape", "expected positive extents, got " + Arrays.toString(sampleShape));
        if (layers == null || layers.length == 0) throw DeepKernException.invalidArgument(op, "layers", "expected at least one layer");
        this.sampleShape = sampleShape.clone();
        this.layers = new ArrayList<>();
        this.inShapes = new long[layers.length][];
        long[] s = sampleShape.clone();
        long total = 0;
        for (int i = 0; i < layers.length; ++i) {
            FlowLayer l = layers[i];
            if (l == null) throw DeepKernException.invalidArgument(op, "layers", "layer " + i + " is null");
            if (l instanceof Squeeze && (s.length != 3 || s[1] % 2 != 0 || s[2] % 2 != 0))
                throw DeepKernException.invalidArgument(op, "layers", "layer " + i + " (Squeeze) needs [C, H, W] with H and W even, got " + Arrays.toString(s));
            if (l instanceof Split && s[0] < 2)
                throw DeepKernException.invalidArgument(op, "layers", "layer " + i + " (Split) needs at least 2 channels, got " + Arrays.toString(s));
            inShapes[i] = s;
            long[] next = l.outputShape(s);
            if (l instanceof Split) total += FlowOps.numel(s) - FlowOps.numel(next);
            s = next;
            this.layers.add(registerModule(Integer.toString(i), l));
        }
        this.finalShape = s;
        this.latent = total + FlowOps.numel(s);
    }

    /** @return the layers, data side first */
    public List<FlowLayer> layers() {
        return List.copyOf(layers);
    }

    /** @return one sample's dims (after N) */
    public long[] sampleShape() {
        return sampleShape.clone();
    }

    /** @return D, the elements of one sample (z is [N, D]) */
    public long latentSize() {
        return latent;
    }

    private boolean flat() {
        return finalShape.length != 1 || layers.stream().anyMatch(l -> l instanceof Split);
    }

    private void checkInput(String op, String name, Tensor x) {
        new org.deepkern.internal.Call(op).tensor(name, x);
        long[] s = x.shape();
        if (s.length != sampleShape.length + 1 || !Arrays.equals(Arrays.copyOfRange(s, 1, s.length), sampleShape))
            throw DeepKernException.invalidArgument(op, name, "expected [N, " + Arrays.toString(sampleShape).replaceAll("[\\[\\]]", "")
                    + "], got " + Arrays.toString(s));
    }

    /**
     * Data to noise: z (see the class comment for its layout) and log |det dz/dx| per sample, the
     * sum of the layers' log-dets.
     *
     * @param x [N, sampleShape...]
     * @return z [N, D] and f32 [N]
     * @throws DeepKernException naming {@code Flow.forward} and 'x' when x does not have the flow's sample shape
     */
    @Override
    public FlowResult forwardWithLogDet(Tensor x) {
        checkInput("Flow.forward", "x", x);
        List<Tensor> factored = new ArrayList<>();
        Tensor cur = x;
        Tensor logDet = FlowOps.constantLogDet(x.shape(0), 0, x.device());
        try {
            for (FlowLayer l : layers) {
                Tensor next;
                if (l instanceof Split s) {
                    Tensor[] parts = s.split(cur);
                    factored.add(parts[1]);
                    next = parts[0];
                } else {
                    FlowResult r = l.forwardWithLogDet(cur);
                    try (Tensor ld = r.logDet()) {
                        Tensor sum = logDet.add(ld);
                        logDet.close();
                        logDet = sum;
                    } catch (RuntimeException e) {
                        r.z().close();
                        throw e;
                    }
                    next = r.z();
                }
                if (cur != x) cur.close();
                cur = next;
            }
            factored.add(cur);
            Tensor z;
            if (flat()) {
                z = FlowOps.flattenCat(factored);
            } else {
                z = cur;
                factored.remove(factored.size() - 1);
            }
            FlowResult out = new FlowResult(z, logDet);
            logDet = null;
            return out;
        } finally {
            for (Tensor t : factored) if (t != x) t.close();
            if (logDet != null) logDet.close();
        }
    }

    /**
     * log p(x) = log N(z; 0, I) + log |det dz/dx| per sample.
     *
     * @param x [N, sampleShape...]
     * @return f32 [N]
     * @throws DeepKernException naming {@code Flow.forward} and 'x' when x does not have the flow's sample shape
     */
    public Tensor logProb(Tensor x) {
        try (FlowResult r = forwardWithLogDet(x); Tensor prior = Split.standardNormalLogProb(r.z())) {
            return prior.add(r.logDet());
        }
    }

    /**
     * Noise to data; not recorded.
     *
     * @param z [N, D] as {@link #forwardWithLogDet} gives it
     * @return x [N, sampleShape...]
     * @throws DeepKernException naming {@code Flow.inverse} and 'z' when z is not [N, D]
     */
    @Override
    public Tensor inverse(Tensor z) {
        String op = "Flow.inverse";
        new org.deepkern.internal.Call(op).tensor("z", z);
        long n = z.ndim() >= 1 ? z.shape(0) : -1;
        boolean ok = flat() ? z.ndim() == 2 && z.shape(1) == latent
                : z.ndim() == finalShape.length + 1 && Arrays.equals(Arrays.copyOfRange(z.shape(), 1, z.ndim()), finalShape);
        if (!ok)
            throw DeepKernException.invalidArgument(op, "z", "expected [N, " + latent + "], got " + Arrays.toString(z.shape()));
        try (NoGrad g = Tape.noGrad()) {
            List<Tensor> factored = new ArrayList<>();
            Tensor cur;
            if (flat()) {
                long at = 0;
                for (int i = 0; i < layers.size(); ++i)
                    if (layers.get(i) instanceof Split) {
                        long[] part = inShapes[i].clone();
                        part[0] = inShapes[i][0] - inShapes[i][0] / 2;
                        factored.add(slice(z, at, n, part));
                        at += FlowOps.numel(part);
                    }
                cur = slice(z, at, n, finalShape);
            } else {
                cur = z.clone();
            }
            try {
                int next = factored.size() - 1;
                for (int i = layers.size() - 1; i >= 0; --i) {
                    FlowLayer l = layers.get(i);
                    Tensor prev = l instanceof Split s ? s.merge(cur, factored.get(next--)) : l.inverse(cur);
                    cur.close();
                    cur = prev;
                }
                return cur;
            } finally {
                for (Tensor t : factored) t.close();
            }
        }
    }

    private static Tensor slice(Tensor z, long at, long n, long[] sample) {
        long k = FlowOps.numel(sample);
        long[] shape = new long[sample.length + 1];
        shape[0] = n;
        System.arraycopy(sample, 0, shape, 1, sample.length);
        try (Tensor v = z.narrow(1, at, k); Tensor c = v.contiguous()) {
            return c.reshape(shape);
        }
    }

    /**
     * n samples: z ~ N(0, I) drawn from generator, mapped to data; not recorded.
     *
     * @param n how many, at least 0
     * @param generator the random source
     * @return [n, sampleShape...] f32 on the parameters' device (the default device without parameters)
     * @throws DeepKernException naming {@code Flow.sample} and the argument when n is negative or generator null
     */
    public Tensor sample(long n, Generator generator) {
        if (n < 0) throw DeepKernException.invalidArgument("Flow.sample", "n", "expected >= 0, got " + n);
        if (generator == null) throw DeepKernException.invalidArgument("Flow.sample", "generator", "expected a generator, got null");
        List<Tensor> ps = parameters();
        Device device = ps.isEmpty() ? DeepKern.defaultDevice() : ps.get(0).device();
        long[] shape;
        if (flat()) {
            shape = new long[] {n, latent};
        } else {
            shape = new long[finalShape.length + 1];
            shape[0] = n;
            System.arraycopy(finalShape, 0, shape, 1, finalShape.length);
        }
        try (Tensor z = Tensor.randn(shape, DType.F32, device, generator)) {
            return inverse(z);
        }
    }

    /**
     * @param sampleShape the flow's sample shape
     * @return [D] when z is flattened, else the last layer's output shape
     */
    @Override
    public long[] outputShape(long[] sampleShape) {
        return flat() ? new long[] {latent} : finalShape.clone();
    }

    @Override
    protected String extraRepr() {
        return "sample_shape=" + Arrays.toString(sampleShape) + ", latent=" + latent;
    }
}
