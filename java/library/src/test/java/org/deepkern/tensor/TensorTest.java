package org.deepkern.tensor;

import org.deepkern.testing.Memory;
import org.deepkern.DType;
import org.deepkern.DeepKern;
import org.deepkern.DeepKernException;
import org.deepkern.Device;
import org.deepkern.MemoryStats;
import org.deepkern.Scope;
import org.deepkern.Status;
import org.deepkern.Tensor;
import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class TensorTest {
    private static final Device D = Device.CPU;

    @Test
    void closingTwiceIsHarmless() {
        Tensor t = Tensor.zeros(new long[] {4}, DType.F32, D);
        t.close();
        t.close();
        assertTrue(t.isClosed());
    }

    @Test
    void useAfterCloseRaises() {
        Tensor t = Tensor.zeros(new long[] {4}, DType.F32, D);
        t.close();
        DeepKernException e = assertThrows(DeepKernException.class, t::toFloatArray);
        assertEquals(Status.INVALID_ARGUMENT, e.status());
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
        assertThrows(DeepKernException.class, () -> t.reshape(2, 2));
        assertThrows(DeepKernException.class, () -> t.to(DType.F16));
    }

    @Test
    void scopeClosesEverythingMadeInside() {
        Memory.settledInUse(D);
        MemoryStats before = DeepKern.memoryStats(D);
        Tensor a, b, kept;
        try (Scope scope = Scope.open()) {
            a = Tensor.zeros(new long[] {1000}, DType.F32, D);
            b = a.reshape(10, 100);
            kept = scope.keep(Tensor.full(new long[] {3}, 2.0, DType.F32, D));
            try (Scope inner = Scope.open()) {
                Tensor.zeros(new long[] {77}, DType.F16, D);
            }
            assertFalse(a.isClosed());
        }
        assertTrue(a.isClosed());
        assertTrue(b.isClosed());
        assertFalse(kept.isClosed());
        assertArrayEquals(new float[] {2, 2, 2}, kept.toFloatArray());
        kept.close();
        assertEquals(before.inUse(), DeepKern.memoryStats(D).inUse());
    }

    @Test
    void keptTensorMovesToTheEnclosingScope() {
        Tensor t;
        try (Scope outer = Scope.open()) {
            try (Scope inner = Scope.open()) {
                t = inner.keep(Tensor.zeros(new long[] {2}, DType.F32, D));
            }
            assertFalse(t.isClosed());
        }
        assertTrue(t.isClosed());
    }

    @Test
    void allocatorStatsReturnAfterManyCycles() {
        Memory.settledInUse(D);
        MemoryStats before = DeepKern.memoryStats(D);
        for (int i = 0; i < 10_000; i++) {
            try (Tensor t = Tensor.empty(new long[] {1 + (i % 97) * 13}, DType.F32, D)) {
                assertEquals(1 + (i % 97) * 13, t.numel());
            }
        }
        MemoryStats after = DeepKern.memoryStats(D);
        assertEquals(before.inUse(), after.inUse());
        assertTrue(after.cacheHits() - before.cacheHits() > 9_000, "freed blocks are reused: " + after);
        assertTrue(after.peakInUse() >= before.inUse());
    }

    @Test
    void emptyCacheReturnsCachedBlocks() {
        Tensor.zeros(new long[] {1 << 16}, DType.F32, D).close();
        assertTrue(DeepKern.memoryStats(D).cached() > 0);
        DeepKern.emptyCache(D);
        MemoryStats s = DeepKern.memoryStats(D);
        assertEquals(0, s.cached());
        assertEquals(s.inUse(), s.reserved());
    }

    @Test
    void viewsShareMemoryUntilTheLastIsClosed() {
        Tensor a = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, new long[] {2, 3}, D);
        Tensor v = a.view(3, -1);
        assertArrayEquals(new long[] {3, 2}, v.shape());
        a.close();
        assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, v.toFloatArray());
        v.close();
        DeepKernException e = assertThrows(DeepKernException.class, () -> {
            try (Tensor b = Tensor.zeros(new long[] {6}, DType.F32, D)) {
                b.reshape(4, -1);
            }
        });
        assertTrue(e.getMessage().contains("shape"), e.getMessage());
    }

    @Test
    void factoriesAndAccessors() {
        try (Scope s = Scope.open()) {
            Tensor t = Tensor.of(new float[] {1.5f, -2f}, new long[] {2, 1}, D);
            assertEquals(DType.F32, t.dtype());
            assertEquals(D, t.device());
            assertArrayEquals(new long[] {2, 1}, t.shape());
            assertEquals(2, t.ndim());
            assertEquals(1, t.shape(-1));
            assertArrayEquals(new int[] {7, -8}, Tensor.of(new int[] {7, -8}, new long[0], D).toIntArray());
            assertArrayEquals(new long[] {1L << 40}, Tensor.of(new long[] {1L << 40}, new long[0], D).toLongArray());
            assertArrayEquals(new float[0], Tensor.zeros(new long[] {0, 5}, DType.BF16, D).toFloatArray());
            Tensor scalar = Tensor.full(new long[0], 3.0, DType.F16, D);
            assertEquals(0, scalar.ndim());
            assertArrayEquals(new float[] {3f}, scalar.toFloatArray());
            assertThrows(DeepKernException.class, () -> Tensor.of(new float[] {1, 2, 3}, new long[] {2, 2}, D));
            assertThrows(DeepKernException.class, () -> Tensor.zeros(new long[] {2, -1}, DType.F32, D));
        }
    }

    @Test
    void toDeviceCopiesAndToSameDeviceIsAView() {
        try (Scope s = Scope.open()) {
            Tensor a = Tensor.of(new float[] {1, 2, 3}, new long[0], D);
            Tensor same = a.to(D);
            a.close();
            assertArrayEquals(new float[] {1, 2, 3}, same.toFloatArray());
            for (Device other : DeepKern.devices()) {
                Tensor moved = same.to(other);
                assertEquals(other, moved.device());
                assertArrayEquals(new float[] {1, 2, 3}, moved.toFloatArray());
            }
        }
    }

    @Test
    void toDtypeRoundTrips() {
        try (Scope s = Scope.open()) {
            Tensor a = Tensor.of(new float[] {1f, -2.5f, 1e6f, 0.1f}, new long[0], D);
            assertArrayEquals(new int[] {1, -2, 1000000, 0}, a.to(DType.I32).toIntArray());
            assertArrayEquals(new float[] {1f, -2.5f, Float.POSITIVE_INFINITY, 0.0999755859375f}, a.to(DType.F16).toFloatArray());
            assertArrayEquals(new float[] {1f, -2.5f, 999424f, 0.10009765625f}, a.to(DType.BF16).toFloatArray());
        }
    }
}
