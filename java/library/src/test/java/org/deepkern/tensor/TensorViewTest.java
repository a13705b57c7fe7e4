package org.deepkern.tensor;

import static org.deepkern.testing.RowChecks.normal;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.deepkern.DType;
import org.deepkern.DeepKernException;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.ops.F;
import org.deepkern.ops.GeluApproximation;
import org.deepkern.testing.Close;
import org.deepkern.testing.TestDevices;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Strided views (transpose, permute, narrow, expand, unsqueeze, squeeze, split, chunk) and what is
 * built from them (cat, stack, contiguous, reshape, copyFrom into a slice), every element against
 * index maps written here; ops that take views as inputs against double references; what cannot
 * be written through a view, refused.
 */
class TensorViewTest {
    static Stream<Arguments> cases() {
        return TestDevices.host().flatMap(d -> Stream.of(DType.F32, DType.BF16, DType.I64).map(t -> Arguments.of(d, t)));
    }

    static Stream<Device> devices() {
        return TestDevices.host();
    }

    /** 0, 1, 2, ... (exact in every dtype up to 256) as a tensor of shape. */
    private static Tensor counting(Device dev, DType dtype, long... shape) {
        float[] v = new float[(int) numel(shape)];
        for (int i = 0; i < v.length; i++) v[i] = i % 256;
        try (Tensor f = Tensor.of(v, shape, dev)) {
            return f.to(dtype);
        }
    }

    private static long numel(long[] shape) {
        long n = 1;
        for (long s : shape) n *= s;
        return n;
    }

    /** Calls f with every index of shape, row-major. */
    private static void forEachIndex(long[] shape, Consumer<long[]> f) {
        long[] idx = new long[shape.length];
        for (long n = numel(shape), i = 0; i < n; i++) {
            f.accept(idx);
            for (int d = shape.length - 1; d >= 0 && ++idx[d] == shape[d]; d--) idx[d] = 0;
        }
    }

    /** The row-major flat position of idx in shape. */
    private static long flat(long[] shape, long[] idx) {
        long at = 0;
        for (int d = 0; d < shape.length; d++) at = at * shape[d] + idx[d];
        return at;
    }

    /** The values of a view whose element idx is element source(idx) of the counting tensor of srcShape. */
    private static float[] expected(long[] shape, long[] srcShape, java.util.function.Function<long[], long[]> source) {
        float[] out = new float[(int) numel(shape)];
        int[] i = {0};
        forEachIndex(shape, idx -> out[i[0]++] = flat(srcShape, source.apply(idx)) % 256);
        return out;
    }

    @ParameterizedTest
    @MethodSource("cases")
    void transposeAndPermuteAreViewsOfEveryElement(Device dev, DType dtype) {
        long[] s = {2, 3, 5};
        try (Scope scope = Scope.open()) {
            Tensor x = counting(dev, dtype, s);
            Tensor t = x.transpose(0, 2);
            assertArrayEquals(new long[] {5, 3, 2}, t.shape());
            assertArrayEquals(new long[] {1, 5, 15}, t.stride());  // torch's strides for this transpose
            assertFalse(t.isContiguous());
            assertArrayEquals(expected(t.shape(), s, i -> new long[] {i[2], i[1], i[0]}), t.toFloatArray());
            Tensor p = x.permute(1, 2, 0);
            assertArrayEquals(expected(p.shape(), s, i -> new long[] {i[2], i[0], i[1]}), p.toFloatArray());
            // negative dims and starts count from the end, as torch's
            assertArrayEquals(p.toFloatArray(), x.permute(-2, -1, 0).toFloatArray());
            assertArrayEquals(x.narrow(2, 3, 2).toFloatArray(), x.narrow(-1, -2, 2).toFloatArray());
            Tensor back = p.permute(2, 0, 1);
            assertTrue(back.isContiguous());
            assertArrayEquals(x.toFloatArray(), back.toFloatArray());
            Tensor c = t.contiguous();
            assertTrue(c.isContiguous());
            assertArrayEquals(t.toFloatArray(), c.toFloatArray());
            // a view of a view: the slice of a transpose
            Tensor n = t.narrow(0, 1, 3).narrow(2, 1, 1);
            assertArrayEquals(expected(n.shape(), s, i -> new long[] {i[2] + 1, i[1], i[0] + 1}), n.toFloatArray());
        }
    }

    /**
     * The strided copy's paths: last dims a whole number of 16-byte runs (into compact memory, and
     * into a slice), read along a transposed last dim, an odd last dim (element by element), one
     * element; every element against the index map.
     */
    @ParameterizedTest
    @MethodSource("cases")
    void stridedCopiesInRunsAndElementByElement(Device dev, DType dtype) {
        try (Scope scope = Scope.open()) {
            long[] a = {3, 5, 16};
            Tensor x = counting(dev, dtype, a);
            Tensor p = x.permute(1, 0, 2).contiguous();  // runs, into compact memory
            assertArrayEquals(expected(p.shape(), a, i -> new long[] {i[1], i[0], i[2]}), p.toFloatArray());
            long[] b = {2, 16, 24};
            Tensor y = counting(dev, dtype, b);
            Tensor t = y.transpose(1, 2).contiguous();  // runs read 24 elements apart
            assertArrayEquals(expected(t.shape(), b, i -> new long[] {i[0], i[2], i[1]}), t.toFloatArray());
            Tensor dst = Tensor.zeros(new long[] {4, 6, 16}, dtype, dev);
            dst.narrow(1, 1, 3).copyFrom(x.permute(1, 0, 2).narrow(0, 0, 4));  // runs, into a slice
            float[] got = dst.toFloatArray();
            long[] d = {4, 6, 16};
            forEachIndex(d, i -> assertEquals(i[1] >= 1 && i[1] < 4 ? flat(a, new long[] {i[1] - 1, i[0], i[2]}) % 256 : 0,
                    got[(int) flat(d, i)], java.util.Arrays.toString(i)));
            long[] c = {4, 3, 5};
            Tensor z = counting(dev, dtype, c);
            Tensor q = z.permute(2, 0, 1).contiguous();  // an odd last dim: element by element
            assertArrayEquals(expected(q.shape(), c, i -> new long[] {i[1], i[2], i[0]}), q.toFloatArray());
            Tensor one = z.narrow(0, 2, 1).narrow(1, 1, 1).narrow(2, 3, 1).contiguous();  // no dims left to walk
            assertArrayEquals(new float[] {flat(c, new long[] {2, 1, 3}) % 256}, one.toFloatArray());
        }
    }

    @ParameterizedTest
    @MethodSource("cases")
    void expandUnsqueezeSqueeze(Device dev, DType dtype) {
        try (Scope scope = Scope.open()) {
            Tensor x = counting(dev, dtype, 3, 1);
            Tensor e = x.expand(2, 3, 4);
            assertArrayEquals(new long[] {0, 1, 0}, e.stride());
            assertArrayEquals(expected(e.shape(), new long[] {3, 1}, i -> new long[] {i[1], 0}), e.toFloatArray());
            Tensor u = x.unsqueeze(0);
            assertArrayEquals(new long[] {1, 3, 1}, u.shape());
            assertArrayEquals(x.toFloatArray(), u.toFloatArray());
            Tensor q = x.squeeze(-1);
            assertArrayEquals(new long[] {3}, q.shape());
            assertArrayEquals(new long[] {3, 1}, x.squeeze(0).shape());  // extent 3 stays
            Tensor ue = x.transpose(0, 1).unsqueeze(2);  // [1, 3, 1] of a transposed view
            assertArrayEquals(new long[] {1, 3, 1}, ue.shape());
            assertArrayEquals(x.toFloatArray(), ue.toFloatArray());
            assertThrows(DeepKernException.class, () -> x.expand(2, 4, 1));
        }
    }

    @ParameterizedTest
    @MethodSource("cases")
    void splitChunkCatStack(Device dev, DType dtype) {
        long[] s = {7, 4};
        try (Scope scope = Scope.open()) {
            Tensor x = counting(dev, dtype, s);
            List<Tensor> parts = x.split(3, 0);
            assertEquals(3, parts.size());
            long[] sizes = {3, 3, 1};
            for (int k = 0; k < 3; k++) {
                final long at = 3L * k;
                assertArrayEquals(new long[] {sizes[k], 4}, parts.get(k).shape());
                assertArrayEquals(expected(parts.get(k).shape(), s, i -> new long[] {i[0] + at, i[1]}),
                        parts.get(k).toFloatArray());
            }
            // torch: chunk(4) of 4 is 4 pieces of 1; chunk(3) of 4 is pieces of 2 (ceil(4 / 3)): two
            assertEquals(4, x.chunk(4, 1).size());
            assertEquals(2, x.chunk(3, 1).size());
            assertArrayEquals(x.toFloatArray(), Tensor.cat(parts, 0).toFloatArray());
            // cat along the inner dim of a transposed view's pieces
            Tensor t = x.transpose(0, 1);  // [4, 7]
            Tensor joined = Tensor.cat(List.of(t.narrow(1, 4, 3), t.narrow(1, 0, 4)), 1);
            assertArrayEquals(expected(joined.shape(), s, i -> new long[] {(i[1] + 4) % 7, i[0]}), joined.toFloatArray());
            Tensor st = Tensor.stack(List.of(x, x.add(x)), -1);  // [7, 4, 2]
            assertArrayEquals(new long[] {7, 4, 2}, st.shape());
            float[] xs = x.toFloatArray(), got = st.toFloatArray();
            for (int i = 0; i < xs.length; i++) {
                assertEquals(xs[i], got[2 * i]);
                assertEquals(xs[i] + xs[i], got[2 * i + 1]);
            }
            var e = assertThrows(DeepKernException.class, () -> Tensor.cat(List.of(x, x.transpose(0, 1)), 0));
            assertTrue(e.getMessage().startsWith("Tensor.cat: argument 'tensors[1]'"), e.getMessage());
        }
    }

    /** A view shares its memory: a write through one is seen by the other, and outlives the tensor it came from. */
    @ParameterizedTest
    @MethodSource("devices")
    void viewsShareMemory(Device dev) {
        try (Scope scope = Scope.open()) {
            Tensor x = Tensor.zeros(new long[] {4, 5}, DType.F32, dev);
            Tensor col = x.narrow(1, 2, 1);
            col.copyFrom(Tensor.of(new float[] {1, 2, 3, 4}, new long[] {4, 1}, dev));
            float[] want = new float[20];
            for (int r = 0; r < 4; r++) want[r * 5 + 2] = r + 1;
            assertArrayEquals(want, x.toFloatArray());
            Tensor t = x.transpose(0, 1);
            x.close();
            assertArrayEquals(new float[] {1, 2, 3, 4}, t.narrow(0, 2, 1).toFloatArray());
        }
    }

    /** Ops read their inputs through the strides: each against a double reference of the view's values. */
    @ParameterizedTest
    @MethodSource("devices")
    void opsTakeViews(Device dev) {
        try (Scope scope = Scope.open()) {
            int m = 6, k = 5, n = 7;
            float[] av = normal(m * k, 1, 0, 1), bv = normal(n * k, 2, 0, 1);
            Tensor a = Tensor.of(av, new long[] {m, k}, dev);
            Tensor bt = Tensor.of(bv, new long[] {n, k}, dev).transpose(0, 1);  // [k, n], strides [1, k]
            double[] ref = new double[m * n];
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                    for (int p = 0; p < k; p++) ref[i * n + j] += (double) av[i * k + p] * bv[j * k + p];
            long before = org.deepkern.DeepKern.memoryStats(dev).allocCount();
            Tensor prod = F.matmul(a, bt);
            // the transposed view is read as b with its trans flag flipped: the output is the only allocation
            assertEquals(1, org.deepkern.DeepKern.memoryStats(dev).allocCount() - before, "allocations of matmul(a, b.mT)");
            Close.assertClose(ref, prod.toFloatArray(), 1e-5, 1e-5, "matmul of a transposed view");
            Tensor at2 = Tensor.of(av, new long[] {m, k}, dev).transpose(0, 1).transpose(0, 1);  // compact again
            Close.assertClose(ref, F.matmul(at2, bt).toFloatArray(), 1e-5, 1e-5, "matmul of a double transpose");
            // batched: [2, m, k] @ [2, k, n] given as [2, n, k].mT
            float[] b2 = normal(2 * n * k, 3, 0, 1), a2 = normal(2 * m * k, 4, 0, 1);
            double[] ref2 = new double[2 * m * n];
            for (int q = 0; q < 2; q++)
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < n; j++)
                        for (int p = 0; p < k; p++)
                            ref2[(q * m + i) * n + j] += (double) a2[(q * m + i) * k + p] * b2[(q * n + j) * k + p];
            Tensor bb = Tensor.of(b2, new long[] {2, n, k}, dev).transpose(-2, -1);
            Close.assertClose(ref2, F.matmul(Tensor.of(a2, new long[] {2, m, k}, dev), bb).toFloatArray(), 1e-5, 1e-5,
                    "batched matmul of a transposed view");
            Close.assertClose(ref2, F.matmul(Tensor.of(a2, new long[] {2, m, k}, dev), bb.contiguous()).toFloatArray(), 1e-5,
                    1e-5, "the same from a copy");

            Tensor at = a.transpose(0, 1);  // [k, m]: softmax over m for each of k rows
            double[] soft = new double[k * m];
            for (int r = 0; r < k; r++) {
                double max = Double.NEGATIVE_INFINITY, sum = 0;
                for (int c = 0; c < m; c++) max = Math.max(max, av[c * k + r]);
                for (int c = 0; c < m; c++) sum += Math.exp(av[c * k + r] - max);
                for (int c = 0; c < m; c++) soft[r * m + c] = Math.exp(av[c * k + r] - max) / sum;
            }
            Close.assertClose(soft, F.softmax(at).toFloatArray(), 1e-5, 1e-6, "softmax of a transposed view");

            // element-wise and reductions walk strides: an expanded row plus a slice, summed over the slow dim
            Tensor row = Tensor.of(new float[] {1, 2, 3, 4, 5}, new long[] {1, 5}, dev).expand(m, 5);
            Tensor sum = row.add(a).sum(0, false);
            double[] want = new double[k];
            for (int c = 0; c < k; c++)
                for (int r = 0; r < m; r++) want[c] += (c + 1) + (double) av[r * k + c];
            Close.assertClose(want, sum.toFloatArray(), 1e-5, 1e-5, "sum(expand + x)");
            double[] colMax = new double[m];
            for (int r = 0; r < m; r++) {
                colMax[r] = Double.NEGATIVE_INFINITY;
                for (int c = 1; c < 4; c++) colMax[r] = Math.max(colMax[r], av[r * k + c]);
            }
            Close.assertClose(colMax, a.narrow(1, 1, 3).max(1, false).toFloatArray(), 0, 0, "max of a slice");
        }
    }

    /** Outputs are written contiguously; a view with gaps or repeats cannot take them. */
    @ParameterizedTest
    @MethodSource("devices")
    void outputsMustBeContiguous(Device dev) {
        try (Scope scope = Scope.open()) {
            Tensor x = Tensor.zeros(new long[] {4, 6}, DType.F32, dev);
            Tensor out = Tensor.zeros(new long[] {6, 4}, DType.F32, dev).transpose(0, 1);
            var e = assertThrows(DeepKernException.class, () -> F.gelu(x, GeluApproximation.NONE, out));
            assertTrue(e.getMessage().startsWith("F.gelu: argument 'out'") && e.getMessage().contains("contiguous"),
                    e.getMessage());
            Tensor one = Tensor.zeros(new long[] {1, 6}, DType.F32, dev);
            e = assertThrows(DeepKernException.class, () -> one.expand(4, 6).copyFrom(x));
            assertTrue(e.getMessage().startsWith("Tensor.copyFrom: argument 'this'") && e.getMessage().contains("one address"),
                    e.getMessage());
            e = assertThrows(DeepKernException.class, () -> x.transpose(0, 1).view(24));
            assertTrue(e.getMessage().startsWith("Tensor.view: argument 'this'") && e.getMessage().contains("reshape()"),
                    e.getMessage());
            Tensor flat = x.transpose(0, 1).reshape(-1);
            assertArrayEquals(new long[] {24}, flat.shape());
            assertTrue(flat.isContiguous());
            assertTrue(x.reshape(3, 8).isContiguous());
        }
    }

    /** A copy between views whose memory overlaps reads the source as it was (torch's copy_); onto itself, nothing. */
    @ParameterizedTest
    @MethodSource("devices")
    void copiesBetweenOverlappingViews(Device dev) {
        try (Scope scope = Scope.open()) {
            Tensor x = Tensor.of(new float[] {0, 1, 2, 3, 4, 5, 6, 7}, new long[] {2, 4}, dev);
            x.narrow(1, 0, 3).copyFrom(x.narrow(1, 1, 3));  // a shift left by one within each row
            assertArrayEquals(new float[] {1, 2, 3, 3, 5, 6, 7, 7}, x.toFloatArray());
            x.copyFrom(x);
            assertArrayEquals(new float[] {1, 2, 3, 3, 5, 6, 7, 7}, x.toFloatArray());
            Tensor t = Tensor.of(new float[] {0, 1, 2, 3}, new long[] {2, 2}, dev);
            t.copyFrom(t.transpose(0, 1));  // in-place transpose through the copy
            assertArrayEquals(new float[] {0, 2, 1, 3}, t.toFloatArray());
        }
    }

    /** fillRandn writes a contiguous tensor only, and a refused fill draws nothing from the generator. */
    @ParameterizedTest
    @MethodSource("devices")
    void fillRandnRefusesViewsWithoutDrawing(Device dev) {
        try (Scope scope = Scope.open()) {
            org.deepkern.Generator g = new org.deepkern.Generator(3), fresh = new org.deepkern.Generator(3);
            Tensor x = Tensor.zeros(new long[] {4, 4}, DType.F32, dev);
            var e = assertThrows(DeepKernException.class, () -> x.transpose(0, 1).fillRandn(g));
            assertTrue(e.getMessage().startsWith("Tensor.fillRandn: argument 'this': expected a contiguous tensor"), e.getMessage());
            e = assertThrows(DeepKernException.class, () -> Tensor.zeros(new long[] {4}, DType.I32, dev).fillRandn(g));
            assertTrue(e.getMessage().startsWith("Tensor.fillRandn: argument 'this': expected a floating dtype"), e.getMessage());
            assertArrayEquals(Tensor.randn(new long[] {4}, DType.F32, dev, fresh).toFloatArray(),
                    Tensor.randn(new long[] {4}, DType.F32, dev, g).toFloatArray(), "the generator did not move");
        }
    }

    /** torch's rules at the edges: a scalar reduces over dim 0 or -1; integer scalars must fit the dtype. */
    @ParameterizedTest
    @MethodSource("devices")
    void reductionAndScalarEdges(Device dev) {
        try (Scope scope = Scope.open()) {
            Tensor s = Tensor.of(new float[] {2.5f}, new long[0], dev);
            assertEquals(2.5, s.sum(0).item());
            assertEquals(2.5, s.mean(-1, true).item());
            assertArrayEquals(new long[0], s.sum(0).shape());
            Tensor i = Tensor.of(new int[] {1, 2}, new long[] {2}, dev);
            var e = assertThrows(DeepKernException.class, () -> i.add(1e10));
            assertTrue(e.getMessage().startsWith("Tensor.add: argument 'scalar': expected a whole number in the range of the i32"),
                    e.getMessage());
            e = assertThrows(DeepKernException.class, () -> i.mul(0.5));
            assertTrue(e.getMessage().startsWith("Tensor.mul: argument 'scalar'"), e.getMessage());
            assertArrayEquals(new int[] {2147483647 - 1, 2147483647}, i.add(2147483645).toIntArray());
        }
    }

    /** matmul with a strided or expanded vector reads it through its strides (a compact copy). */
    @ParameterizedTest
    @MethodSource("devices")
    void matmulOfStridedVectors(Device dev) {
        try (Scope scope = Scope.open()) {
            int m = 3, k = 4;
            float[] av = normal(m * k, 5, 0, 1), bv = normal(k * 3, 6, 0, 1);
            Tensor a = Tensor.of(av, new long[] {m, k}, dev);
            Tensor column = Tensor.of(bv, new long[] {k, 3}, dev).narrow(1, 1, 1).squeeze(1);  // stride 3
            double[] ref = new double[m], ones = new double[m];
            for (int r = 0; r < m; r++)
                for (int p = 0; p < k; p++) {
                    ref[r] += (double) av[r * k + p] * bv[p * 3 + 1];
                    ones[r] += 2.0 * av[r * k + p];
                }
            Close.assertClose(ref, F.matmul(a, column).toFloatArray(), 1e-5, 1e-5, "matmul with a strided vector");
            Tensor twos = Tensor.of(new float[] {2}, 1).to(dev).expand(k);  // one element, stride 0
            Close.assertClose(ones, F.matmul(a, twos).toFloatArray(), 1e-5, 1e-5, "matmul with an expanded vector");
        }
    }

    /** In-place arithmetic writes through a view (torch's x[:, 1:3] += y); overlapping or repeated outputs are refused. */
    @ParameterizedTest
    @MethodSource("devices")
    void inPlaceArithmeticOnViews(Device dev) {
        try (Scope scope = Scope.open()) {
            Tensor x = Tensor.of(new float[] {0, 1, 2, 3, 4, 5, 6, 7}, new long[] {2, 4}, dev);
            Tensor y = Tensor.of(new float[] {10, 20}, new long[] {1, 2}, dev);
            Tensor slice = x.narrow(1, 1, 2);
            assertSame(slice, slice.add_(y));
            assertArrayEquals(new float[] {0, 11, 22, 3, 4, 15, 26, 7}, x.toFloatArray());
            x.transpose(0, 1).mul_(2);  // every element, read and written through the same strides
            assertArrayEquals(new float[] {0, 22, 44, 6, 8, 30, 52, 14}, x.toFloatArray());
            x.narrow(0, 1, 1).add_(100);
            assertArrayEquals(new float[] {0, 22, 44, 6, 108, 130, 152, 114}, x.toFloatArray());
            var e = assertThrows(DeepKernException.class, () -> x.narrow(1, 0, 3).add_(x.narrow(1, 1, 3)));
            assertTrue(e.getMessage().startsWith("Tensor.add_: argument 'this': shares memory with 'other'"), e.getMessage());
            Tensor one = Tensor.zeros(new long[] {1, 4}, DType.F32, dev);
            e = assertThrows(DeepKernException.class, () -> one.expand(2, 4).add_(x));
            assertTrue(e.getMessage().startsWith("Tensor.add_: argument 'this'") && e.getMessage().contains("one address"),
                    e.getMessage());
        }
    }
}
