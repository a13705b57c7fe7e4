package org.deepkern.bench;

import java.util.ArrayList;
import java.util.List;
import org.deepkern.DType;
import org.deepkern.ops.Act;

/**
 * The registry: every op family with the dtypes and shapes it is measured at. An op issue adds
 * its entry here (and its peer call in TorchPeer and benchmarks/gpu/torch_peer.py).
 */
public final class Cases {
    private Cases() {}

    /**
     * 256K elements for --quick (42 cases and their peers in well under a minute on 2 cores); 1M
     * and 16M (64 MB of f32, past any L2) for the full run.
     */
    static List<long[]> shapes(boolean quick) {
        return quick ? List.of(new long[] {256, 1024})
                : List.of(new long[] {1024, 1024}, new long[] {4096, 4096});
    }

    /**
     * The ops measured in f32 and bf16: relu, silu and exact GELU forward and backward, each with
     * and without the fused bias; tanh GELU forward; SwiGLU split and two-tensor, forward and
     * backward; a DDIM and a DDPM sampler step; randn.
     */
    static List<BenchOp> ops() {
        List<BenchOp> ops = new ArrayList<>();
        for (Act.Kind k : List.of(Act.Kind.RELU, Act.Kind.SILU, Act.Kind.GELU))
            for (boolean backward : new boolean[] {false, true})
                for (boolean bias : new boolean[] {false, true}) ops.add(new ActivationOp(k, bias, backward));
        ops.add(new ActivationOp(Act.Kind.GELU_TANH, false, false));
        for (boolean split : new boolean[] {true, false})
            for (boolean backward : new boolean[] {false, true}) ops.add(new SwiGluOp(split, backward));
        ops.add(new DiffusionStepOp(false));
        ops.add(new DiffusionStepOp(true));
        ops.add(new RandnOp());
        return ops;
    }

    public static List<BenchCase> all(boolean quick) {
        List<BenchCase> out = new ArrayList<>();
        for (long[] s : shapes(quick)) {
            for (BenchOp op : ops()) for (DType t : List.of(DType.F32, DType.BF16)) out.add(new BenchCase(op, t, s));
            out.add(new BenchCase(new CastOp(DType.BF16), DType.F32, s));
            out.add(new BenchCase(new CastOp(DType.F32), DType.BF16, s));
        }
        return out;
    }

    /** The cases whose op name is in {@code names} (all when names is empty). */
    public static List<BenchCase> select(List<BenchCase> cases, List<String> names) {
        if (names.isEmpty()) return cases;
        List<BenchCase> out = cases.stream().filter(c -> names.contains(c.op().name())).toList();
        if (out.isEmpty()) throw new IllegalArgumentException("--ops " + names + " matches no op; ops: "
                + cases.stream().map(c -> c.op().name()).distinct().toList());
        return out;
    }
}
