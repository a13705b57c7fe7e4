package org.deepkern.cli.bench;


import java.util.List;
import java.util.function.IntUnaryOperator;
import org.deepkern.DType;
import org.deepkern.Tensor;
import org.deepkern.ops.Act;
import org.deepkern.ops.F;

/**
 * SwiGLU, up * silu(gate), through the kernels behind F.swiglu and F.gatedBackward(Act.silu(), ...),
 * writing into preallocated outputs; checked against {@link HostAct}. Split form: the case's
 * shape is x [rows, 2H] = [up | gate] (torch glu's order), the output [rows, H]; backward reads
 * x and gradOut [rows, H] and writes grad_x like x. Two-tensor form: gate and up (and gradOut)
 * of the case's shape; backward writes grad_gate and grad_up.
 */
public record SwiGluOp(boolean split, boolean backward) implements BenchOp {
    private static final Act SILU = Act.silu();

    @Override
    public String name() {
        return "swiglu" + (split ? "_split" : "") + (backward ? "_bwd" : "");
    }

    private static long[] half(long[] shape) {
        long[] h = shape.clone();
        h[h.length - 1] /= 2;
        return h;
    }

    @Override
    public List<long[]> inputShapes(long[] shape) {
        if (split) return backward ? List.of(shape, half(shape)) : List.of(shape);
        return backward ? List.of(shape, shape, shape) : List.of(shape, shape);
    }

    @Override
    public List<long[]> outputShapes(long[] shape) {
        if (split) return List.of(backward ? shape : half(shape));
        return backward ? List.of(shape, shape) : List.of(shape);
    }

    @Override
    public double flopsPerElement() {
        double perOutput = backward ? 20 : 9;  // silu (8) and a product; backward: silu and its derivative
        return split ? perOutput / 2 : perOutput;
    }

    @Override
    public void run(long[] shape, Tensor[] in, Tensor[] out) {
        if (split && backward) F.gatedSplitBackward(SILU, in[0], in[1], out[0]);
        else if (split) F.gatedSplit(SILU, in[0], out[0]);
        else if (backward) F.gatedBackward(SILU, in[0], in[1], in[2], out[0], out[1]);
        else F.gated(SILU, in[0], in[1], out[0]);
    }

    @Override
    public String verify(long[] shape, float[][] in, float[][] out, DType outputDtype) {
        // element i of the [rows, H] result reads up[upAt(i)] and gate[gateAt(i)]
        float[] gate = in[0], up = in[split ? 0 : 1];
        int h = (int) (shape[shape.length - 1] / (split ? 2 : 1));
        int n = split ? gate.length / 2 : gate.length;
        IntUnaryOperator upAt = split ? i -> i / h * 2 * h + i % h : i -> i;
        IntUnaryOperator gateAt = split ? i -> i / h * 2 * h + h + i % h : i -> i;
        if (!backward) return Accuracy.judge(Accuracy.reference(n,
                i -> up[upAt.applyAsInt(i)] * HostAct.value(Act.Kind.SILU, gate[gateAt.applyAsInt(i)])), out[0], outputDtype);
        float[] gradOut = in[split ? 1 : 2];
        double[] gradGate = Accuracy.reference(n, i -> gradOut[i] * up[upAt.applyAsInt(i)]
                * HostAct.derivative(Act.Kind.SILU, gate[gateAt.applyAsInt(i)]));
        double[] gradUp = Accuracy.reference(n, i -> gradOut[i] * HostAct.value(Act.Kind.SILU, gate[gateAt.applyAsInt(i)]));
        if (!split) return Accuracy.judge(List.of("grad_gate", "grad_up"), new double[][] {gradGate, gradUp}, out,
                outputDtype);
        double[] gradX = new double[2 * n];
        for (int i = 0; i < n; i++) {
            gradX[upAt.applyAsInt(i)] = gradUp[i];
            gradX[gateAt.applyAsInt(i)] = gradGate[i];
        }
        return Accuracy.judge(gradX, out[0], outputDtype);
    }
}
