package org.deepkern.flow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;
import java.util.stream.Stream;

import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.autograd.NoGrad;
import org.deepkern.autograd.Tape;
import org.deepkern.testing.TestDevices;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The gradient of sum(logProb(x)) w.r.t. the input and every kind of parameter, from the tape,
 * against central differences of the same sum (the f32 flow evaluated at x +- h, differenced in
 * double): a D = 4 feature flow (ActNorm, 1x1 conv, couplings by halves and parity, both ways)
 * and a 2x2x2 image flow (squeeze, conv conditioners, split). Every input element, and a random
 * subset of each flow's parameter elements (all kinds covered), are checked.
 */
class FlowGradTest {
    static Stream<Device> devices() {
        return TestDevices.host();
    }

    static double loss(Flow flow, Tensor x) {
        try (NoGrad g = Tape.noGrad(); Tensor lp = flow.logProb(x); Tensor s = lp.sum()) {
            return s.item();
        }
    }

    /** d loss / d t[i] by central differences, t changed in place and restored. */
    static double numerical(Flow flow, Tensor x, Tensor t, int i, double h) {
        float[] v = t.toFloatArray();
        float orig = v[i];
        v[i] = (float) (orig + h);
        double hp = v[i];
        set(t, v);
        double lp = loss(flow, x);
        v[i] = (float) (orig - h);
        double hm = v[i];
        set(t, v);
        double lm = loss(flow, x);
        v[i] = orig;
        set(t, v);
        return (lp - lm) / (hp - hm);
    }

    static void set(Tensor t, float[] v) {
        try (NoGrad g = Tape.noGrad(); Tensor src = Tensor.of(v, t.shape(), t.device())) {
            t.copyFrom(src);
        }
    }

    static void check(String what, double num, float got) {
        assertEquals(num, got, 3e-3 * (1 + Math.abs(num)), what);
    }

    @ParameterizedTest
    @MethodSource("devices")
    void logProbGradients(Device device) {
        List<Function<Device, Flow>> flows = List.of(d -> FlowInvertibilityTest.featureFlow(d, 31),
                d -> FlowInvertibilityTest.imageFlow(d, 32));
        int perFlow = device.type() == Device.Type.CPU ? 80 : 24;
        for (Function<Device, Flow> make : flows) {
            try (Scope scope = Scope.open(); Flow flow = make.apply(device)) {
                long[] shape = new long[flow.sampleShape().length + 1];
                shape[0] = 3;
                System.arraycopy(flow.sampleShape(), 0, shape, 1, flow.sampleShape().length);
                Tensor x = FlowInvertibilityTest.input(shape, 7, device);
                try (NoGrad g = Tape.noGrad()) {
                    flow.forwardWithLogDet(x).close();  // ActNorm's data-dependent init
                }
                x.requiresGrad(true);
                Map<String, Tensor> params = flow.namedParameters();
                for (Tensor p : params.values()) p.requiresGrad(true);
                try (Tape tape = Tape.open(); Tensor lp = flow.logProb(x); Tensor loss = lp.sum()) {
                    tape.backward(loss);
                }
                String name = flow.sampleShape().length == 1 ? "feature flow" : "image flow";
                assertNotNull(x.grad(), name + ": x has a gradient");
                float[] gx = x.grad().toFloatArray();
                for (int i = 0; i < gx.length; i++) check(name + " d/dx[" + i + "] on " + device, numerical(flow, x, x, i, 1e-2), gx[i]);
                // every parameter tensor, a few of its elements each (all of a small one)
                Random r = new Random(5);
                List<String> names = new ArrayList<>(params.keySet());
                int budget = perFlow;
                for (String pn : names) {
                    Tensor p = params.get(pn);
                    assertNotNull(p.grad(), name + ": " + pn + " has a gradient");
                    float[] gp = p.grad().toFloatArray();
                    int k = Math.max(1, Math.min(gp.length, budget / names.size()));
                    for (int j = 0; j < k; j++) {
                        int i = k == gp.length ? j : r.nextInt(gp.length);
                        check(name + " d/d " + pn + "[" + i + "] on " + device, numerical(flow, x, p, i, 1e-2), gp[i]);
                    }
                }
            }
        }
    }
}
