package org.deepkern.bench;

import org.deepkern.DType;
import org.deepkern.Tensor;
import org.deepkern.ops.F;
import org.deepkern.ops.GeluApproximation;

/** F.gelu, exact or tanh form, checked against GELU in double precision. */
public record GeluOp(GeluApproximation approximate) implements BenchOp {

    @Override
    public String name() {
        return approximate == GeluApproximation.TANH ? "gelu_tanh" : "gelu";
    }

    @Override
    public double flopsPerElement() {
        return 20;  // a rational erf or exp-based tanh (~14) plus the products around it
    }

    @Override
    public void run(Tensor input, Tensor out) {
        F.gelu(input, approximate, out);
    }

    @Override
    public String verify(float[] input, float[] output, DType outputDtype) {
        double[] ref = new double[input.length];
        java.util.stream.IntStream.range(0, input.length).parallel().forEach(i -> ref[i] = gelu(input[i]));
        return Accuracy.judge(ref, output, outputDtype);
    }

    double gelu(double x) {
        if (approximate == GeluApproximation.TANH) {
            double u = Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x);
            return 0.5 * x * (1 + Math.tanh(u));
        }
        return x * 0.5 * erfc(-x / Math.sqrt(2));
    }

    /**
     * erfc by the Chebyshev fit of Numerical Recipes (erfcc): relative error below 1.2e-7
     * everywhere, ample for a gate at 1e-5 and independent of the native code.
     */
    static double erfc(double x) {
        double z = Math.abs(x);
        double t = 1 / (1 + 0.5 * z);
        double r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418
                + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587
                + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? r : 2 - r;
    }
}
