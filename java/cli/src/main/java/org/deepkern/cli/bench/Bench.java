package org.deepkern.cli.bench;

import java.util.ArrayList;
import java.util.List;
import org.deepkern.Generator;
import org.deepkern.DeepKern;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;

/**
 * Runs cases on one device: for each, the correctness gate first (output poisoned with NaN,
 * then checked on the host by {@link BenchOp#verify}; a wrong result is a FAIL and is not timed),
 * then the timing over rotating input sets that together overflow the cache, then the peers.
 */
public final class Bench {
    /** Below this, a cache is assumed anyway: CPUs' last level (L3) is not in DeviceInfo. */
    static final long MIN_CACHE_BYTES = 32L << 20;
    static final int MAX_COPIES = 64;

    private final Device device;
    private final Sampler sampler;
    private final Clock clock;
    private final Roofline roofline;
    private final long cacheBytes;
    private final Peer peer;
    private final boolean time;

    /** {@code peer} may be null; {@code time} false: the gate only (for compute-sanitizer runs). */
    public Bench(Device device, Sampler sampler, Clock clock, Roofline roofline, long cacheBytes, Peer peer,
                 boolean time) {
        this.device = device;
        this.sampler = sampler;
        this.clock = clock;
        this.roofline = roofline;
        this.cacheBytes = Math.max(cacheBytes, MIN_CACHE_BYTES);
        this.peer = peer;
        this.time = time;
    }

    /**
     * Our cases first, then the peer's: a peer's idle threads (PyTorch's OpenMP workers spin
     * after each op) would otherwise steal the cores our next case runs on.
     */
    public List<Result> run(List<BenchCase> cases, Progress progress) {
        List<Result> out = new ArrayList<>();
        int step = 0;
        for (BenchCase c : cases) {
            progress.step(step++, c.op().name() + " " + c.dtypeLabel() + " " + c.shapeLabel());
            out.add(run(c));
        }
        if (peer != null) {
            for (int i = 0; i < out.size(); i++) {
                Result r = out.get(i);
                BenchCase c = r.benchCase();
                progress.step(step++, "peer: " + c.op().name() + " " + c.dtypeLabel() + " " + c.shapeLabel());
                if (r.passed() && r.stats() != null) out.set(i, r.withPeer(peer.time(c, inputValues(c), sampler)));
            }
        }
        progress.step(step, "done");
        return out;
    }

    /** Steps {@link #run(List, Progress)} reports for these cases. */
    public int steps(List<BenchCase> cases) {
        return cases.size() * (peer == null ? 1 : 2);
    }

    /** Input sets for a rotation at least four cache sizes long. */
    static int copies(double bytesPerCall, long cacheBytes) {
        return (int) Math.max(1, Math.min(MAX_COPIES, Math.ceil(4.0 * cacheBytes / bytesPerCall)));
    }

    public Result run(BenchCase c) {
        DeepKern.setAllowTf32(device, c.op().tf32());
        try (Scope scope = Scope.open()) {
            int copies = time ? copies(c.bytes(), cacheBytes) : 1;
            Tensor[][] in = new Tensor[copies][];
            Tensor[][] out = new Tensor[copies][];
            // every buffer written before any timed call: a page's first touch (a fault, 10 us and more
            // on a VM) belongs to no call's time
            for (int k = 0; k < copies; k++) {
                in[k] = inputs(c, device, k);
                out[k] = c.op().outputShapes(c.shape()).stream()
                        .map(s -> Tensor.zeros(s, c.outputDtype(), device)).toArray(Tensor[]::new);
            }
            Tensor[] poisoned = c.op().outputShapes(c.shape()).stream()
                    .map(s -> Tensor.full(s, Double.NaN, c.outputDtype(), device)).toArray(Tensor[]::new);
            String failure = gate(c, in[0], poisoned, values(in[0]));
            String name = device.toString();
            if (failure != null || !time) return new Result(c, name, failure, null, roofline, null);
            return new Result(c, name, null, sampler.time(clock, copies, k -> c.op().run(c.shape(), in[k], out[k])), roofline,
                    null);
        } catch (RuntimeException e) {
            return new Result(c, device.toString(), "error: " + e.getMessage(), null, roofline, null);
        } finally {
            DeepKern.setAllowTf32(device, false);
        }
    }

    /**
     * Input set k of a case: normal samples, never zeros (they hide unwritten outputs); input j
     * of the set from seed 1000 + k + MAX_COPIES j, so no two tensors of a run are alike; mapped
     * where the op says so ({@link BenchOp#fromNormals}).
     */
    private static Tensor[] inputs(BenchCase c, Device device, int k) {
        List<long[]> shapes = c.op().inputShapes(c.shape());
        Tensor[] in = new Tensor[shapes.size()];
        for (int j = 0; j < in.length; j++) in[j] = Tensor.randn(shapes.get(j), c.dtype(), device, new Generator(1000 + k + MAX_COPIES * j));
        float[][] mapped = c.op().fromNormals(c.shape(), values(in));
        for (int j = 0; mapped != null && j < in.length; j++) {
            in[j].close();
            in[j] = Tensor.of(mapped[j], shapes.get(j), device);
            if (c.dtype() != DType.F32) {
                try (Tensor f = in[j]) {
                    in[j] = f.to(c.dtype());
                }
            }
        }
        return in;
    }

    private static float[][] values(Tensor[] tensors) {
        float[][] v = new float[tensors.length][];
        for (int j = 0; j < v.length; j++) v[j] = tensors[j].toFloatArray();
        return v;
    }

    /** The values of input set 0, which the gate checked and the peer computes on. */
    private float[][] inputValues(BenchCase c) {
        try (Scope scope = Scope.open()) {
            return values(inputs(c, Device.CPU, 0));  // Philox: the same bits on every backend
        }
    }

    private static String gate(BenchCase c, Tensor[] inputs, Tensor[] poisoned, float[][] inputValues) {
        c.op().run(c.shape(), inputs, poisoned);
        String why = c.op().verify(c.shape(), inputValues, values(poisoned), c.outputDtype());
        return why == null ? null : "wrong result: " + why;
    }
}
