package org.deepkern.flow;

import java.util.List;
import java.util.stream.Stream;

import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Generator;
import org.deepkern.Tensor;
import org.deepkern.nn.Linear;
import org.deepkern.ops.F;
import org.deepkern.testing.BadInput;
import org.deepkern.testing.BadInput.Case;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/** Invalid calls of the flow ops and layers raise DeepKernException naming the Java call and the argument. */
class FlowBadInputTest {
    static Tensor t(Device d, long... shape) {
        return Tensor.zeros(shape, DType.F32, d);
    }

    static Tensor t(Device d, DType dtype, long... shape) {
        return Tensor.zeros(shape, dtype, d);
    }

    static Linear lin(long in, long out, Device d) {
        return new Linear(in, out, true, DType.F32, d, new Generator(1));
    }

    static final List<Case> KERNEL = List.of(
            new Case("x null", "x", "F.affineCouplingForward: ", d -> F.affineCouplingForward(null, t(d, 2, 4), null)),
            new Case("h null", "h", "expected a tensor", d -> F.affineCouplingForward(t(d, 2, 2), null, null)),
            new Case("h wrong size", "h", "[shift | raw scale]", d -> F.affineCouplingForward(t(d, 2, 3), t(d, 2, 4), null)),
            new Case("h other sample count", "h", "3 samples", d -> F.affineCouplingForward(t(d, 3, 2), t(d, 2, 4), null)),
            new Case("h other dtype", "h", "", d -> F.affineCouplingForward(t(d, 2, 2), t(d, DType.BF16, 2, 4), null)),
            new Case("x integer", "x", "", d -> F.affineCouplingForward(t(d, DType.I32, 2, 2), t(d, DType.I32, 2, 4), null)),
            new Case("x scalar", "x", "sample dim", d -> F.affineCouplingForward(t(d), t(d, 2, 4), null)),
            new Case("logDet shape", "logDet", "f32 [2]", d -> F.affineCouplingForward(t(d, 2, 2), t(d, 2, 4), t(d, 3))),
            new Case("logDet dtype", "logDet", "f32 [2]", d -> F.affineCouplingForward(t(d, 2, 2), t(d, 2, 4), t(d, DType.F16, 2))),
            new Case("inverse y wrong", "h", "", d -> F.affineCouplingInverse(t(d, 2, 3), t(d, 2, 4), null)),
            new Case("inverse y null", "y", "F.affineCouplingInverse: ", d -> F.affineCouplingInverse(null, t(d, 2, 4), null)),
            new Case("backward gradY shape", "gradY", "", d -> F.affineCouplingBackward(t(d, 2, 2), t(d, 2, 4), t(d, 2, 3), null)),
            new Case("backward gradLogDet", "gradLogDet", "f32 [2]", d -> F.affineCouplingBackward(t(d, 2, 2), t(d, 2, 4), t(d, 2, 2), t(d, 5))),
            new Case("backward h", "h", "", d -> F.affineCouplingBackward(t(d, 2, 2), t(d, 2, 5), t(d, 2, 2), null)));

    static final List<Case> LAYERS = List.of(
            new Case("ActNorm channels", "channels", "new ActNorm: ", d -> new ActNorm(0, d)),
            new Case("ActNorm x channels", "x", "ActNorm.forward: ", d -> new ActNorm(3, d).forwardWithLogDet(t(d, 2, 4))),
            new Case("ActNorm x rank", "x", "at least 2 dims", d -> new ActNorm(3, d).forwardWithLogDet(t(d, 3))),
            new Case("ActNorm x null", "x", "", d -> new ActNorm(3, d).forwardWithLogDet(null)),
            new Case("ActNorm z", "z", "ActNorm.inverse: ", d -> new ActNorm(3, d).inverse(t(d, 2, 2))),
            new Case("ActNorm dtype", "x", "F32", d -> new ActNorm(2, d).forwardWithLogDet(t(d, DType.BF16, 2, 2))),
            new Case("coupling bf16", "x", "F32", d -> new AffineCoupling(4, lin(2, 4, d), Mask.HALVES, false).forwardWithLogDet(t(d, DType.BF16, 3, 4))),
            new Case("squeeze integer", "x", "F32", d -> new Squeeze().forwardWithLogDet(t(d, DType.I32, 1, 2, 2, 2))),
            new Case("Conv1x1 channels", "channels", "new InvertibleConv1x1: ", d -> new InvertibleConv1x1(0, d, new Generator(1))),
            new Case("Conv1x1 generator", "generator", "", d -> new InvertibleConv1x1(2, d, null)),
            new Case("Conv1x1 x", "x", "InvertibleConv1x1.forward: ", d -> new InvertibleConv1x1(2, d, new Generator(1)).forwardWithLogDet(t(d, 2, 3))),
            new Case("Conv1x1 x rank 3", "x", "", d -> new InvertibleConv1x1(2, d, new Generator(1)).forwardWithLogDet(t(d, 2, 2, 3))),
            new Case("Conv1x1 z", "z", "InvertibleConv1x1.inverse: ", d -> new InvertibleConv1x1(2, d, new Generator(1)).inverse(t(d, 2, 3))),
            new Case("coupling channels", "channels", "new AffineCoupling: ", d -> new AffineCoupling(1, lin(1, 2, d), Mask.HALVES, false)),
            new Case("coupling parity odd", "channels", "even", d -> new AffineCoupling(5, lin(2, 6, d), Mask.PARITY, false)),
            new Case("coupling mask", "mask", "", d -> new AffineCoupling(4, lin(2, 4, d), null, false)),
            new Case("coupling conditioner null", "conditioner", "", d -> new AffineCoupling(4, null, Mask.HALVES, false)),
            new Case("coupling x", "x", "AffineCoupling.forward: ", d -> new AffineCoupling(4, lin(2, 4, d), Mask.HALVES, false).forwardWithLogDet(t(d, 3, 5))),
            new Case("coupling conditioner output", "conditioner", "[3, 4]", d -> new AffineCoupling(4, lin(2, 3, d), Mask.HALVES, false).forwardWithLogDet(t(d, 3, 4))),
            new Case("coupling inverse z", "z", "AffineCoupling.inverse: ", d -> new AffineCoupling(4, lin(2, 4, d), Mask.HALVES, false).inverse(t(d, 3, 6))),
            new Case("squeeze odd", "x", "Squeeze.forward: ", d -> new Squeeze().forwardWithLogDet(t(d, 1, 2, 3, 4))),
            new Case("squeeze rank", "x", "even", d -> new Squeeze().forwardWithLogDet(t(d, 2, 4))),
            new Case("unsqueeze channels", "z", "Squeeze.inverse: ", d -> new Squeeze().inverse(t(d, 1, 6, 2, 2))),
            new Case("split one channel", "x", "Split.split: ", d -> new Split().forwardWithLogDet(t(d, 2, 1))),
            new Case("split merge", "factored", "Split.merge: ", d -> new Split().merge(t(d, 2, 2), t(d, 2, 5))),
            new Case("flow sample shape", "sampleShape", "new Flow: ", d -> new Flow(new long[0], new Squeeze())),
            new Case("flow layers", "layers", "", d -> new Flow(new long[] {4})),
            new Case("flow squeeze", "layers", "Squeeze", d -> new Flow(new long[] {4}, new Squeeze())),
            new Case("flow x", "x", "Flow.forward: ", d -> new Flow(new long[] {4}, new ActNorm(4, d)).forwardWithLogDet(t(d, 2, 5))),
            new Case("flow logProb x", "x", "Flow.forward: ", d -> new Flow(new long[] {4}, new ActNorm(4, d)).logProb(t(d, 2, 4, 1))),
            new Case("flow z", "z", "Flow.inverse: ", d -> new Flow(new long[] {4}, new ActNorm(4, d)).inverse(t(d, 2, 3))),
            new Case("flow sample n", "n", "Flow.sample: ", d -> new Flow(new long[] {4}, new ActNorm(4, d)).sample(-1, new Generator(1))),
            new Case("flow sample generator", "generator", "", d -> new Flow(new long[] {4}, new ActNorm(4, d)).sample(1, null)));

    @TestFactory
    Stream<DynamicTest> kernel() {
        return BadInput.onHostDevices(KERNEL);
    }

    @TestFactory
    Stream<DynamicTest> layers() {
        return BadInput.onHostDevices(LAYERS);
    }
}
