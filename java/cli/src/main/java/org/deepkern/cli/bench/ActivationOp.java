package org.deepkern.cli.bench;


import java.util.List;
import org.deepkern.DType;
import org.deepkern.Tensor;
import org.deepkern.ops.Act;
import org.deepkern.ops.F;
import org.deepkern.ops.GeluApproximation;

/**
 * The activation kernels behind F.activation and F.activationBackward, forward or backward,
 * with or without the fused bias act(x + b), writing into preallocated outputs; checked against
 * {@link HostAct}. Inputs: x, then gradOut (backward), then bias [C] over the last dim (bias
 * forms). Outputs: out; or grad_in, then grad_bias [C] (the bias form's one call computes both,
 * so they are timed together).
 */
public record ActivationOp(Act.Kind kind, boolean bias, boolean backward) implements BenchOp {

    @Override
    public String name() {
        return kind.name().toLowerCase() + (bias ? "_bias" : "") + (backward ? "_bwd" : "");
    }

    @Override
    public List<long[]> inputShapes(long[] shape) {
        long[] b = {shape[shape.length - 1]};
        return backward ? (bias ? List.of(shape, shape, b) : List.of(shape, shape)) : (bias ? List.of(shape, b) : List.of(shape));
    }

    @Override
    public List<long[]> outputShapes(long[] shape) {
        return backward && bias ? List.of(shape, new long[] {shape[shape.length - 1]}) : List.of(shape);
    }

    @Override
    public double flopsPerElement() {
        double act = switch (kind) {
            case RELU -> 1;
            case SILU -> 8;    // exp (~6) and a division
            default -> 20;     // a rational erf or exp-based tanh (~14) plus the products around it
        };
        return backward ? 2 * act + 1 + (bias ? 2 : 0) : act + (bias ? 1 : 0);
    }

    @Override
    public void run(long[] shape, Tensor[] in, Tensor[] out) {
        Tensor b = bias ? in[in.length - 1] : null;
        if (backward) F.activationBackward(act(kind), in[0], b, in[1], out[0], bias ? out[1] : null);
        else F.activation(act(kind), in[0], b, out[0]);
    }

    @Override
    public String verify(long[] shape, float[][] in, float[][] out, DType outputDtype) {
        float[] x = in[0];
        float[] b = bias ? in[in.length - 1] : new float[] {0};
        int c = b.length;
        if (!backward) return Accuracy.judge(Accuracy.reference(x.length, i -> HostAct.value(kind, x[i] + (double) b[i % c])),
                out[0], outputDtype);
        float[] gradOut = in[1];
        double[] gradIn = Accuracy.reference(x.length,
                i -> gradOut[i] * HostAct.derivative(kind, x[i] + (double) b[i % c]));
        if (!bias) return Accuracy.judge(gradIn, out[0], outputDtype);
        double[] gradBias = new double[c];
        for (int i = 0; i < gradIn.length; i++) gradBias[i % c] += gradIn[i];
        return Accuracy.judge(List.of("grad_in", "grad_bias"), new double[][] {gradIn, gradBias}, out, outputDtype);
    }

    /** The parameterless activation of a kind the bench measures. */
    static Act act(Act.Kind kind) {
        return switch (kind) {
            case RELU -> Act.relu();
            case SILU -> Act.silu();
            case GELU -> Act.gelu();
            case GELU_TANH -> Act.gelu(GeluApproximation.TANH);
            default -> throw new IllegalArgumentException("no bench case for " + kind);
        };
    }
}
