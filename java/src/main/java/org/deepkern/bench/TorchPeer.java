package org.deepkern.bench;

import java.util.function.IntConsumer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.deepkern.DType;
import org.deepkern.Device;

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
    public PeerTime time(BenchCase c, float[] input, Sampler sampler) {
        ScalarType in = scalarType(c.dtype()), out = scalarType(c.outputDtype());
        if (in == null || out == null) return PeerTime.none(name(), "n/a (dtype)");
        try (PointerScope scope = new PointerScope(); DeviceTimer clock = new DeviceTimer(Device.CPU)) {
            int copies = Bench.copies(c.bytes(), Bench.MIN_CACHE_BYTES);
            Tensor[] xs = new Tensor[copies];
            Tensor[] ys = new Tensor[copies];
            for (int k = 0; k < copies; k++) {
                xs[k] = c.op().hasInput() ? fromFloats(input, c.shape()).to(in) : null;
                ys[k] = torch.empty(c.shape(), new TensorOptions(out), new MemoryFormatOptional());
            }
            IntConsumer call = switch (c.op().name()) {
                case "gelu" -> k -> torch.gelu_out(ys[k], xs[k], "none");
                case "gelu_tanh" -> k -> torch.gelu_out(ys[k], xs[k], "tanh");
                case "randn" -> k -> ys[k].normal_();
                case "cast" -> k -> ys[k].copy_(xs[k]);
                default -> null;
            };
            if (call == null) return PeerTime.none(name(), "n/a (no PyTorch op mapped)");
            call.accept(0);
            String why = c.op().verify(input, toFloats(ys[0], c.numel()), c.outputDtype());
            if (why != null) return PeerTime.none(name(), "FAIL: " + why);
            return new PeerTime(name() + " (" + threads + " threads)", sampler.time(clock, copies, call), "");
        }
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

    private static float[] toFloats(Tensor t, long numel) {
        float[] out = new float[Math.toIntExact(numel)];
        try (FloatPointer p = new FloatPointer(Math.max(1, numel))) {
            torch.from_blob(p, new long[] {numel}, new TensorOptions(ScalarType.Float))
                    .copy_(t.to(ScalarType.Float).contiguous().view(numel));
            p.get(out);
        }
        return out;
    }
}
