package org.deepkern.flow;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.deepkern.testing.Memory;
import org.deepkern.DeepKern;
import org.deepkern.Device;
import org.deepkern.Tensor;
import org.deepkern.autograd.Tape;
import org.junit.jupiter.api.Test;

/**
 * Flows release what they make: outside any Scope, a forward, an inverse, a logProb with its
 * backward and a sample, their results closed and the gradients cleared, leave the allocator
 * holding exactly what it held before (the parameters); the second round shows nothing accumulates.
 */
class FlowMemoryTest {
    @Test
    void nothingLeftBehind() {
        Device d = Device.CPU;
        for (java.util.function.Supplier<Flow> make : java.util.List.<java.util.function.Supplier<Flow>>of(
                () -> FlowInvertibilityTest.featureFlow(d, 1), () -> FlowInvertibilityTest.imageFlow(d, 2))) {
            try (Flow flow = make.get()) {
                long[] shape = new long[flow.sampleShape().length + 1];
                shape[0] = 5;
                System.arraycopy(flow.sampleShape(), 0, shape, 1, flow.sampleShape().length);
                try (Tensor x = FlowInvertibilityTest.input(shape, 3, d)) {
                    flow.forwardWithLogDet(x).close();  // ActNorm's init
                    long base = Memory.settledInUse(d);
                    for (int round = 0; round < 2; round++) {
                        try (FlowResult r = flow.forwardWithLogDet(x); Tensor back = flow.inverse(r.z())) {
                            assertEquals(x.numel(), back.numel());
                        }
                        try (Tape tape = Tape.open(); Tensor lp = flow.logProb(x); Tensor loss = lp.sum()) {
                            tape.backward(loss);
                        }
                        for (Tensor p : flow.parameters()) p.clearGrad();
                        flow.sample(3, new org.deepkern.Generator(round)).close();
                        assertEquals(base, DeepKern.memoryStats(d).inUse(), "bytes in use after round " + round);
                    }
                }
            }
        }
    }
}
