package org.deepkern.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.deepkern.testing.Memory;
import org.deepkern.DType;
import org.deepkern.DeepKern;
import org.deepkern.DeepKernException;
import org.deepkern.Device;
import org.deepkern.Generator;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.ops.Act;
import org.deepkern.ops.F;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Sequential chains its modules, names them "0", "1", ... and frees what it makes on the way. */
class SequentialTest {
    @ParameterizedTest
    @MethodSource("org.deepkern.testing.TestDevices#host")
    void forwardChainsAndFreesTheIntermediates(Device d) {
        Generator g = new Generator(4);
        try (Sequential seq = new Sequential(new Linear(6, 8, true, DType.F32, d, g), new Activation(Act.gelu()),
                new Linear(8, 3, true, DType.F32, d, g)); Scope s = Scope.open()) {
            assertEquals(3, seq.size());
            assertSame(seq.get(1), seq.namedChildren().get("1"));
            Linear first = (Linear) seq.get(0), last = (Linear) seq.get(2);
            Tensor x = Tensor.randn(new long[] {2, 6}, DType.F32, d, new Generator(5));
            Tensor want = F.linear(F.gelu(F.linear(x, first.weight(), first.bias())), last.weight(), last.bias());
            long before = Memory.settledInUse(d);
            try (Tensor y = seq.forward(x)) {
                long kept = DeepKern.memoryStats(d).inUse() - before;
                try (Tensor probe = Tensor.emptyLike(y)) {  // what stays is one output's allocation
                    assertEquals(kept, DeepKern.memoryStats(d).inUse() - before - kept, "intermediates left on " + d);
                }
                assertArrayEquals(want.toFloatArray(), y.toFloatArray());
            }
            assertSame(x, new Sequential().forward(x), "an empty Sequential is the identity");
            var e = assertThrows(DeepKernException.class, () -> new Sequential(new Activation(Act.gelu()), null));
            assertEquals("new Sequential: argument '1': expected a module, got null", e.getMessage());
            try (Sequential bad = new Sequential(new Linear(6, 8, true, DType.F32, d, g), new Linear(5, 3, true, DType.F32, d, g))) {
                long at = Memory.settledInUse(d);
                assertThrows(DeepKernException.class, () -> bad.forward(x));
                assertEquals(at, DeepKern.memoryStats(d).inUse(), "a failed forward left the first output open on " + d);
            }
        }
    }
}
