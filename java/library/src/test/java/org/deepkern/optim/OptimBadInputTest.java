package org.deepkern.optim;

import java.util.List;
import java.util.stream.Stream;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.internal.Access;
import org.deepkern.testing.BadInput;
import org.deepkern.testing.BadInput.Case;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Bad optimizer and clipping calls: each raises DeepKernException naming the Java call and the
 * argument (the parameter's index in the list), on every host device; the JVM lives on.
 */
class OptimBadInputTest {
    static Tensor param(Device d, DType dtype, long... shape) {
        return Tensor.zeros(shape, dtype, d);
    }

    /** p with gradient g (the slot owns g). */
    static Tensor withGrad(Tensor p, Tensor g) {
        Access.gradSlot(p).grad = Scope.detach(g);
        return p;
    }

    static Tensor withGrad(Device d, long... shape) {
        return withGrad(param(d, DType.F32, shape), param(d, DType.F32, shape));
    }

    static Device other(Device d) {
        return d.type() == Device.Type.CPU ? Device.EMU : Device.CPU;
    }

    static AdamW adamw(List<Tensor> ps) {
        return new AdamW(ps);
    }

    static final List<Case> TABLE = List.of(
            new Case("grad shape", "grads[1]", "expected shape [4]", d -> {
                Tensor p = withGrad(param(d, DType.F32, 4), param(d, DType.F32, 5));
                try (AdamW o = adamw(List.of(withGrad(d, 3), p))) {
                    o.step();
                }
            }),
            new Case("grad dtype", "grads[0]", "expected dtype f32", d -> {
                try (AdamW o = adamw(List.of(withGrad(param(d, DType.F32, 4), param(d, DType.BF16, 4))))) {
                    o.step();
                }
            }),
            new Case("sgd grad dtype", "grads[0]", "expected dtype bf16", d -> {
                try (Sgd o = new Sgd(List.of(withGrad(param(d, DType.BF16, 4), param(d, DType.F32, 4))),
                        Sgd.Options.defaults().momentum(0.9))) {
                    o.step();
                }
            }),
            new Case("params on two devices", "params[1]", "move one with to(device)",
                    d -> adamw(List.of(withGrad(d, 2), withGrad(other(d), 2)))),
            new Case("grad on another device", "grads[0]", "move one with to(device)", d -> {
                try (AdamW o = adamw(List.of(withGrad(param(d, DType.F32, 4), param(other(d), DType.F32, 4))))) {
                    o.step();
                }
            }),
            new Case("lr < 0", "lr", ">= 0", d -> new AdamW(List.of(withGrad(d, 2)), AdamW.Options.defaults().lr(-1e-3))),
            new Case("options changing masterWeights", "options", "fixed at construction",
                    d -> new AdamW(List.of(withGrad(d, 2))).options(AdamW.Options.defaults().masterWeights(true))),
            new Case("options with lr < 0", "lr", ">= 0",
                    d -> new AdamW(List.of(withGrad(d, 2))).options(AdamW.Options.defaults().lr(-1))),
            new Case("Sgd options changing maxGradNorm", "options", "fixed at construction",
                    d -> new Sgd(List.of(withGrad(d, 2)), Sgd.Options.defaults()).options(Sgd.Options.defaults().maxGradNorm(1))),
            new Case("Sgd options with Nesterov and no momentum", "nesterov", "momentum > 0",
                    d -> new Sgd(List.of(withGrad(d, 2)), Sgd.Options.defaults()).options(Sgd.Options.defaults().nesterov(true))),
            new Case("sgd lr NaN", "lr", ">= 0", d -> new Sgd(List.of(withGrad(d, 2)), Sgd.Options.defaults().lr(Double.NaN))),
            new Case("beta1 = 1", "beta1", "[0, 1)", d -> new AdamW(List.of(withGrad(d, 2)), AdamW.Options.defaults().betas(1, 0.999))),
            new Case("beta2 < 0", "beta2", "[0, 1)", d -> new AdamW(List.of(withGrad(d, 2)), AdamW.Options.defaults().betas(0.9, -0.1))),
            new Case("eps < 0", "eps", ">= 0", d -> new AdamW(List.of(withGrad(d, 2)), AdamW.Options.defaults().eps(-1))),
            new Case("weight decay < 0", "weightDecay", ">= 0",
                    d -> new AdamW(List.of(withGrad(d, 2)), AdamW.Options.defaults().weightDecay(-0.1))),
            new Case("sgd momentum < 0", "momentum", ">= 0", d -> new Sgd(List.of(withGrad(d, 2)), Sgd.Options.defaults().momentum(-0.5))),
            new Case("nesterov without momentum", "nesterov", "momentum > 0",
                    d -> new Sgd(List.of(withGrad(d, 2)), Sgd.Options.defaults().nesterov(true))),
            new Case("null options", "options", "null", d -> new AdamW(List.of(withGrad(d, 2)), null)),
            new Case("null list", "params", "null", d -> new AdamW(null)),
            new Case("empty list", "params", "at least one", d -> new AdamW(List.of())),
            new Case("integer param", "params[0]", "floating", d -> new AdamW(List.of(param(d, DType.I32, 3)))),
            new Case("a param twice", "params[1]", "params[0] again", d -> {
                Tensor p = withGrad(d, 3);
                new AdamW(List.of(p, p));
            }),
            new Case("closed param", "params[0]", "closed", d -> {
                Tensor p = withGrad(d, 3);
                p.close();
                new AdamW(List.of(p));
            }),
            new Case("param closed before step", "params[1]", "closed", d -> {
                Tensor p = withGrad(d, 3);
                try (AdamW o = adamw(List.of(withGrad(d, 2), p))) {
                    p.close();
                    o.step();
                }
            }),
            new Case("closed grad", "grads[0]", "closed", d -> {
                Tensor g = param(d, DType.F32, 3);
                Tensor p = withGrad(param(d, DType.F32, 3), g);
                try (AdamW o = adamw(List.of(p))) {
                    g.close();
                    o.step();
                }
            }),
            new Case("step after close", "this", "closed", d -> {
                AdamW o = adamw(List.of(withGrad(d, 2)));
                o.close();
                o.step();
            }),
            new Case("clip maxNorm 0", "maxNorm", "> 0", d -> ClipGrad.clipGradNorm(List.of(withGrad(d, 2)), 0)),
            new Case("clip maxNorm NaN", "maxNorm", "> 0", d -> ClipGrad.clipGradNorm(List.of(withGrad(d, 2)), Double.NaN)),
            new Case("clip maxGradNorm < 0", "maxGradNorm", ">= 0",
                    d -> new AdamW(List.of(withGrad(d, 2)), AdamW.Options.defaults().maxGradNorm(-1))),
            new Case("clip params on two devices", "params[1]", "move one with to(device)",
                    d -> ClipGrad.clipGradNorm(List.of(withGrad(d, 2), withGrad(other(d), 2)), 1)),
            new Case("clip null list", "params", "null", d -> ClipGrad.clipGradNorm(null, 1)),
            new Case("fusedStep state shape", "expAvgs[0]", "expected shape [4]", d -> AdamW.fusedStep(
                    List.of(param(d, DType.F32, 4)), List.of(param(d, DType.F32, 4)), List.of(param(d, DType.F32, 5)),
                    List.of(param(d, DType.F32, 4)), new long[] {1}, AdamW.Options.defaults())),
            new Case("fusedStep state dtype", "expAvgSqs[0]", "expected dtype f32", d -> AdamW.fusedStep(
                    List.of(param(d, DType.BF16, 4)), List.of(param(d, DType.BF16, 4)), List.of(param(d, DType.F32, 4)),
                    List.of(param(d, DType.BF16, 4)), new long[] {1}, AdamW.Options.defaults())),
            new Case("fusedStep step 0", "steps", ">= 1", d -> AdamW.fusedStep(
                    List.of(param(d, DType.F32, 4)), List.of(param(d, DType.F32, 4)), List.of(param(d, DType.F32, 4)),
                    List.of(param(d, DType.F32, 4)), new long[] {0}, AdamW.Options.defaults())),
            new Case("fusedStep state is the param", "expAvgs[0]", "overlaps", d -> {
                Tensor p = param(d, DType.F32, 4);
                AdamW.fusedStep(List.of(p), List.of(param(d, DType.F32, 4)), List.of(p), List.of(param(d, DType.F32, 4)),
                        new long[] {1}, AdamW.Options.defaults());
            }),
            new Case("fusedStep lists of two lengths", "grads", "in every list", d -> AdamW.fusedStep(
                    List.of(param(d, DType.F32, 4)), List.of(), List.of(), List.of(), new long[] {1},
                    AdamW.Options.defaults())));

    @TestFactory
    Stream<DynamicTest> rejected() {
        return BadInput.onHostDevices(TABLE);
    }
}
