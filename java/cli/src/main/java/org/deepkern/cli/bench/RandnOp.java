package org.deepkern.cli.bench;

import java.util.List;
import org.deepkern.DType;
import org.deepkern.Generator;
import org.deepkern.Tensor;

/**
 * Tensor.randn's kernel (Philox4x32-10 + Box-Muller) writing into a preallocated tensor (Tensor.fillRandn); checked
 * by its moments, which every correct normal generator (PyTorch's too) must match.
 */
public record RandnOp() implements BenchOp {
    private static final Generator GENERATOR = new Generator(1);

    @Override
    public String name() {
        return "randn";
    }

    @Override
    public List<long[]> inputShapes(long[] shape) {
        return List.of();
    }

    @Override
    public double flopsPerElement() {
        return 20;  // log, sqrt and sincos of Box-Muller per pair, shared by two outputs
    }

    @Override
    public void run(long[] shape, Tensor[] in, Tensor[] out) {
        out[0].fillRandn(GENERATOR);
    }

    @Override
    public String verify(long[] shape, float[][] in, float[][] out, DType outputDtype) {
        float[] output = out[0];
        double sum = 0, sumSq = 0;
        for (float v : output) {
            if (!Float.isFinite(v)) return "non-finite sample " + v;
            sum += v;
            sumSq += (double) v * v;
        }
        int n = output.length;
        double mean = sum / n, var = sumSq / n - mean * mean;
        // six standard errors: a false alarm about once in a billion runs
        if (Math.abs(mean) > 6 / Math.sqrt(n)) return String.format("mean %.3g, expected 0", mean);
        if (Math.abs(var - 1) > 6 * Math.sqrt(2.0 / n) + 2 * Accuracy.tolerance(outputDtype))
            return String.format("variance %.4f, expected 1", var);
        return null;
    }
}
