package org.deepkern.tensor;

import static org.deepkern.testing.BadInput.assertRejects;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.stream.Stream;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.testing.Close;
import org.deepkern.testing.TestDevices;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * sum, mean, max, min, argmax and argmin over every set of dims of a 3-D tensor, with and without
 * keepdim, against a double reference that walks the dims plainly; empty reductions, NaN, ties and
 * a long reduction.
 */
class ReductionTest {
    static Stream<Arguments> cases() {
        return TestDevices.host().flatMap(d -> Stream.of(DType.F32, DType.BF16, DType.I32, DType.I64).map(t -> Arguments.of(d, t)));
    }

    static final int[][] DIM_SETS = {{}, {0}, {1}, {2}, {-1}, {0, 2}, {2, 0}, {1, 2}, {0, 1, 2}};
    static final String[] OPS = {"sum", "mean", "max", "min", "argmax", "argmin"};

    static Tensor run(Tensor x, String op, int[] dims, boolean keepdim) {
        boolean all = dims.length == 0 && !keepdim;
        return switch (op) {
            case "sum" -> all ? x.sum() : x.sum(dims, keepdim);
            case "mean" -> all ? x.mean() : x.mean(dims, keepdim);
            case "max" -> all ? x.max() : x.max(dims[0], keepdim);
            case "min" -> all ? x.min() : x.min(dims[0], keepdim);
            case "argmax" -> all ? x.argmax() : x.argmax(dims[0], keepdim);
            default -> all ? x.argmin() : x.argmin(dims[0], keepdim);
        };
    }

    /** The reference: op over the reduced dims of x [shape], the arg ops indexing the reduced elements in order. */
    static double[] reference(float[] x, long[] shape, String op, boolean[] reduced) {
        int nd = shape.length;
        long outN = 1, inN = 1;
        for (int d = 0; d < nd; d++) {
            if (reduced[d]) inN *= shape[d];
            else outN *= shape[d];
        }
        double[] out = new double[(int) outN];
        for (int o = 0; o < outN; o++) {
            double acc = op.equals("sum") || op.equals("mean") ? 0 : Double.NaN;
            int best = -1;
            for (int r = 0; r < inN; r++) {
                // compose the element: kept dims from o, reduced dims from r, both row-major
                long oo = o, rr = r;
                int[] idx = new int[nd];
                for (int d = nd - 1; d >= 0; d--) {
                    if (reduced[d]) { idx[d] = (int) (rr % shape[d]); rr /= shape[d]; }
                    else { idx[d] = (int) (oo % shape[d]); oo /= shape[d]; }
                }
                int at = 0;
                for (int d = 0; d < nd; d++) at = (int) (at * shape[d] + idx[d]);
                double v = x[at];
                switch (op) {
                    case "sum", "mean" -> acc += v;
                    default -> {
                        boolean max = op.endsWith("max");
                        if (best < 0 || (!Double.isNaN(acc) && (Double.isNaN(v) || (max ? v > acc : v < acc)))) {
                            acc = v;
                            best = r;
                        }
                    }
                }
            }
            out[o] = switch (op) {
                case "mean" -> acc / inN;
                case "argmax", "argmin" -> best;
                default -> acc;
            };
        }
        return out;
    }

    @ParameterizedTest
    @MethodSource("cases")
    void everyDimSetMatchesTheReference(Device dev, DType dtype) {
        long[] shape = {3, 5, 7};
        float[] xv = ArithmeticTest.values(105, 4, dtype);
        xv[17] = xv[3];  // a tie somewhere
        try (Scope scope = Scope.open()) {
            Tensor x = ArithmeticTest.make(xv, shape, dtype, dev);
            for (String op : OPS) {
                if (op.equals("mean") && !dtype.isFloating()) continue;
                for (int[] dims : DIM_SETS) {
                    boolean single = op.equals("sum") || op.equals("mean") || dims.length <= 1;
                    if (!single) continue;
                    for (boolean keepdim : new boolean[] {false, true}) {
                        if (dims.length == 0 && keepdim && !(op.equals("sum") || op.equals("mean"))) continue;
                        boolean[] reduced = new boolean[3];
                        for (int d : dims) reduced[(d + 3) % 3] = true;
                        if (dims.length == 0) Arrays.fill(reduced, true);
                        String what = op + Arrays.toString(dims) + (keepdim ? " keepdim " : " ") + dtype + " on " + dev;
                        Tensor out = run(x, op, dims, keepdim);
                        long[] want = keepdim ? new long[] {reduced[0] ? 1 : 3, reduced[1] ? 1 : 5, reduced[2] ? 1 : 7}
                                : Arrays.stream(new long[] {0, 1, 2}).filter(d -> !reduced[(int) d]).map(d -> shape[(int) d]).toArray();
                        assertArrayEquals(want, out.shape(), what);
                        DType expectType = op.startsWith("arg") || (op.equals("sum") && !dtype.isFloating()) ? DType.I64 : dtype;
                        assertEquals(expectType, out.dtype(), what);
                        double rtol = op.startsWith("arg") || !dtype.isFloating() ? 0 : ArithmeticTest.tol(dtype) * 2;
                        Close.assertClose(reference(xv, shape, op, reduced), out.toFloatArray(), rtol, rtol, what);
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("org.deepkern.testing.TestDevices#host")
    void emptyNaNAndLongReductions(Device dev) {
        try (Scope scope = Scope.open()) {
            Tensor empty = Tensor.zeros(new long[] {0, 3}, DType.F32, dev);
            assertArrayEquals(new float[] {0, 0, 0}, empty.sum(0, false).toFloatArray());
            float[] mean = empty.mean(0, false).toFloatArray();
            assertTrue(Float.isNaN(mean[0]), Arrays.toString(mean));
            assertRejects("this", "at least one element", () -> empty.max(0, false));
            assertArrayEquals(new long[] {0}, empty.sum(1, false).shape());

            Tensor nan = Tensor.of(new float[] {1, Float.NaN, 3, Float.NaN}, new long[] {4}, dev);
            assertTrue(Double.isNaN(nan.max().item()) && Double.isNaN(nan.min().item()));
            assertEquals(1, nan.argmax().item());
            assertEquals(1, nan.argmin().item());

            int n = 300_001;
            float[] v = new float[n];
            double sum = 0;
            for (int i = 0; i < n; i++) {
                v[i] = (float) Math.sin(i * 0.001);
                sum += v[i];
            }
            Tensor longRow = Tensor.of(v, new long[] {1, n}, dev);
            assertEquals(sum, longRow.sum().item(), 1e-6 * n);
            assertEquals(sum / n, longRow.mean(1, true).item(), 1e-6);
            assertEquals(3.0 * n, Tensor.full(new long[] {n, 3}, 1.0, DType.I32, dev).sum().item());
            // runs longer than the cpu's summing block, strided: each column of [n, 2] over dim 0
            float[] pairs = new float[2 * n];
            for (int i = 0; i < n; i++) {
                pairs[2 * i] = v[i];
                pairs[2 * i + 1] = 2 * v[i];
            }
            float[] columns = Tensor.of(pairs, new long[] {n, 2}, dev).sum(0, false).toFloatArray();
            assertEquals(sum, columns[0], 1e-6 * n);
            assertEquals(2 * sum, columns[1], 2e-6 * n);
        }
    }

    @org.junit.jupiter.api.Test
    void theBlockTreeIsTheSameInEveryThreadOrder() {
        org.deepkern.testing.EmuSchedules.assumeEmu();
        float[] xv = ArithmeticTest.values(37 * 1000, 8, DType.F32);
        for (String op : OPS) {
            for (int dim : new int[] {0, 1}) {
                float[] got = org.deepkern.testing.EmuSchedules.sameInEveryOrder(op + " dim " + dim, 5, () -> {
                    try (Scope scope = Scope.open()) {
                        return run(ArithmeticTest.make(xv, new long[] {37, 1000}, DType.F32, Device.EMU), op, new int[] {dim},
                                false).toFloatArray();
                    }
                });
                boolean[] reduced = {dim == 0, dim == 1};
                Close.assertClose(reference(xv, new long[] {37, 1000}, op, reduced), got, 1e-5, 1e-4, op + " dim " + dim);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("org.deepkern.testing.TestDevices#host")
    void badDimsAreNamed(Device dev) {
        try (Scope scope = Scope.open()) {
            Tensor x = Tensor.zeros(new long[] {2, 3}, DType.F32, dev);
            assertRejects("dim", "-2..1", () -> x.sum(2, false));
            assertRejects("dims", "twice", () -> x.sum(new int[] {1, -1}, false));
            assertRejects("dims", "null", () -> x.sum(null, false));
            assertRejects("this", "floating", () -> Tensor.zeros(new long[] {2}, DType.I32, dev).mean());
            assertRejects("this", "one element", () -> x.item());
        }
    }
}
