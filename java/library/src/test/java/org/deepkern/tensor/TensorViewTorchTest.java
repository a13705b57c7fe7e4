package org.deepkern.tensor;

import java.util.Arrays;
import java.util.List;
import java.util.function.Function;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.testing.Close;
import org.deepkern.testing.Oracle;
import org.deepkern.testing.Torch;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The views and joins against PyTorch's (f32), the oracle first checked against an index map
 * written here; deepkern is asserted against that map either way. Every value is exact.
 */
class TensorViewTorchTest {
    private static final long[] SHAPE = {3, 1, 4};

    /** One case: its name, torch's op and arguments, ours, and the source index of each result element. */
    private record Case(String op, long[] args, Function<Tensor, Tensor> ours, long[] shape, Function<long[], long[]> source) {}

    private static List<Case> cases() {
        return List.of(
                new Case("transpose", new long[] {0, 2}, x -> x.transpose(0, 2), new long[] {4, 1, 3},
                        i -> new long[] {i[2], i[1], i[0]}),
                new Case("permute", new long[] {2, 0, 1}, x -> x.permute(-1, 0, 1), new long[] {4, 3, 1},
                        i -> new long[] {i[1], i[2], i[0]}),
                new Case("narrow", new long[] {2, 1, 2}, x -> x.narrow(-1, -3, 2), new long[] {3, 1, 2},
                        i -> new long[] {i[0], i[1], i[2] + 1}),
                new Case("expand", new long[] {2, 3, 5, 4}, x -> x.expand(2, 3, 5, 4), new long[] {2, 3, 5, 4},
                        i -> new long[] {i[1], 0, i[3]}),
                new Case("cat", new long[] {0, 1, 2}, x -> Tensor.cat(List.of(x, x.narrow(0, 1, 2)), 0), new long[] {5, 1, 4},
                        i -> new long[] {i[0] < 3 ? i[0] : i[0] - 2, i[1], i[2]}));
    }

    @ParameterizedTest
    @MethodSource("org.deepkern.testing.TestDevices#host")
    void viewsAgreeWithTorch(Device dev) {
        float[] xv = new float[12];
        for (int i = 0; i < xv.length; i++) xv[i] = i * 0.5f - 2;
        for (Case c : cases()) {
            String what = c.op() + Arrays.toString(c.args()) + " of " + Arrays.toString(SHAPE) + " on " + dev;
            double[] ref = new double[(int) numel(c.shape())];
            long[] idx = new long[c.shape().length];
            for (int k = 0; k < ref.length; k++) {
                ref[k] = xv[(int) flat(SHAPE, c.source().apply(idx))];
                for (int d = idx.length - 1; d >= 0 && ++idx[d] == c.shape()[d]; d--) idx[d] = 0;
            }
            float[] theirs = Torch.layout(c.op(), xv, SHAPE, c.args());
            float[] ours;
            try (Scope scope = Scope.open()) {
                Tensor y = c.ours().apply(Tensor.of(xv, SHAPE).to(dev));
                org.junit.jupiter.api.Assertions.assertArrayEquals(c.shape(), y.shape(), what);
                ours = y.toFloatArray();
            }
            Oracle torch = Oracle.torch().vet(what, ref, theirs, 0, 0);
            Close.assertClose(ref, ours, 0, 0, what);
            torch.judge(() -> Close.assertClose(toDoubles(theirs), ours, 0, 0, what + " vs torch"));
        }
        // stack: x and x + 1 along the last dim
        float[] theirs = Torch.layout("stack", xv, SHAPE, 3);
        double[] ref = new double[24];
        for (int i = 0; i < 12; i++) {
            ref[2 * i] = xv[i];
            ref[2 * i + 1] = xv[i] + 1;
        }
        float[] ours;
        try (Scope scope = Scope.open()) {
            Tensor x = Tensor.of(xv, SHAPE).to(dev);
            ours = Tensor.stack(List.of(x, x.add(1)), 3).toFloatArray();
        }
        Oracle torch = Oracle.torch().vet("stack on " + dev, ref, theirs, 0, 0);
        Close.assertClose(ref, ours, 0, 0, "stack on " + dev);
        torch.judge(() -> Close.assertClose(toDoubles(theirs), ours, 0, 0, "stack vs torch on " + dev));
    }

    private static long numel(long[] shape) {
        long n = 1;
        for (long s : shape) n *= s;
        return n;
    }

    private static long flat(long[] shape, long[] idx) {
        long at = 0;
        for (int d = 0; d < shape.length; d++) at = at * shape[d] + idx[d];
        return at;
    }

    private static double[] toDoubles(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }
}
