package org.deepkern.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.List;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.internal.Access;
import org.deepkern.testing.TestDevices;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** options(...) between steps changes the learning rate of the next step and keeps the state. */
class OptimScheduleTest {
    static java.util.stream.Stream<Device> devices() {
        return TestDevices.host();
    }

    private static void grad(Tensor p, float... g) {
        Access.gradSlot(p).grad = Scope.detach(Tensor.of(g, new long[] {g.length}, p.device()));
    }

    @ParameterizedTest
    @MethodSource("devices")
    void sgdTakesTheNewLearningRate(Device d) {
        try (Tensor p = Tensor.of(new float[] {1, 2}, new long[] {2}, d).requiresGrad(true);
             Sgd opt = new Sgd(List.of(p), Sgd.Options.defaults().lr(0.5).momentum(0.5))) {
            grad(p, 1, -2);
            opt.step();  // buffer = g; p -= 0.5 g
            assertArrayEquals(new float[] {0.5f, 3}, p.toFloatArray());
            opt.options(opt.options().lr(0.25));
            opt.step();  // buffer = 0.5 g + g = 1.5 g (kept); p -= 0.25 * 1.5 g
            assertArrayEquals(new float[] {0.125f, 3.75f}, p.toFloatArray());
        }
    }

    @ParameterizedTest
    @MethodSource("devices")
    void adamwTakesTheNewLearningRate(Device d) {
        try (Tensor p = Tensor.of(new float[] {1, -1}, new long[] {2}, d).requiresGrad(true);
             AdamW opt = new AdamW(List.of(p), AdamW.Options.defaults().lr(0).weightDecay(0))) {
            grad(p, 3, -4);
            opt.step();  // lr 0: nothing moves, the moments do
            assertArrayEquals(new float[] {1, -1}, p.toFloatArray());
            opt.options(opt.options().lr(0.1));
            opt.step();  // the same gradient twice: m_hat / sqrt(v_hat) = sign(g), so p -= 0.1 sign(g)
            float[] got = p.toFloatArray();
            assertArrayEquals(new float[] {0.9f, -0.9f}, got, 1e-6f);
        }
    }
}
