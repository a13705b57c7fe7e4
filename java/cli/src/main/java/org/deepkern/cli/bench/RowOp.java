package org.deepkern.cli.bench;

import org.deepkern.ops.F;

import java.util.List;
import org.deepkern.DType;
import org.deepkern.Tensor;

/**
 * The forward ops over the last dim of x [rows, hidden]: softmax, log_softmax, layer_norm (with
 * weight and bias [hidden]) and rms_norm (with weight [hidden]), eps {@value #EPS}. Memory-bound:
 * x read once, out written once. Checked on sampled rows against the double definitions.
 */
public record RowOp(Kind kind) implements BenchOp {
    public enum Kind {
        SOFTMAX, LOG_SOFTMAX, LAYER_NORM, RMS_NORM
    }

    static final double EPS = 1e-5;
    static final int SAMPLE_ROWS = 64;

    @Override
    public String name() {
        return kind.name().toLowerCase();
    }

    @Override
    public List<long[]> inputShapes(long[] shape) {
        long[] param = {shape[1]};
        return switch (kind) {
            case LAYER_NORM -> List.of(shape, param, param);
            case RMS_NORM -> List.of(shape, param);
            default -> List.of(shape);
        };
    }

    @Override
    public double flopsPerElement() {
        return switch (kind) {
            case SOFTMAX, LOG_SOFTMAX -> 10;  // max, exp (~6), sum, scale or log-subtract
            case LAYER_NORM -> 8;             // sum, squared deviation, normalize, scale and shift
            case RMS_NORM -> 5;
        };
    }

    @Override
    public void run(long[] shape, Tensor[] in, Tensor[] out) {
        switch (kind) {
            case SOFTMAX -> F.softmax(in[0], out[0]);
            case LOG_SOFTMAX -> F.logSoftmax(in[0], out[0]);
            case LAYER_NORM -> F.layerNorm(in[0], in[1], in[2], EPS, out[0]);
            case RMS_NORM -> F.rmsNorm(in[0], in[1], EPS, out[0]);
        }
    }

    @Override
    public String verify(long[] shape, float[][] in, float[][] out, DType outputDtype) {
        int rows = Math.toIntExact(shape[0]), cols = Math.toIntExact(shape[1]);
        int sampled = Math.min(rows, SAMPLE_ROWS);
        double[] ref = new double[sampled * cols];
        float[] got = new float[sampled * cols];
        for (int j = 0; j < sampled; j++) {
            int r = (int) ((long) j * rows / sampled);
            System.arraycopy(out[0], r * cols, got, j * cols, cols);
            row(in, r * cols, cols, ref, j * cols);
        }
        return Accuracy.judge(ref, got, outputDtype);
    }

    /** The op on the row of x starting at {@code from}, into ref from {@code to}. */
    private void row(float[][] in, int from, int cols, double[] ref, int to) {
        float[] x = in[0];
        double max = Double.NEGATIVE_INFINITY, sum = 0, sumSq = 0;
        for (int c = 0; c < cols; c++) {
            max = Math.max(max, x[from + c]);
            sum += x[from + c];
            sumSq += (double) x[from + c] * x[from + c];
        }
        double mean = sum / cols, expSum = 0, var = 0;
        for (int c = 0; c < cols; c++) {
            expSum += Math.exp(x[from + c] - max);
            var += (x[from + c] - mean) * (x[from + c] - mean);
        }
        var /= cols;
        for (int c = 0; c < cols; c++) {
            double v = x[from + c];
            ref[to + c] = switch (kind) {
                case SOFTMAX -> Math.exp(v - max) / expSum;
                case LOG_SOFTMAX -> v - max - Math.log(expSum);
                case LAYER_NORM -> (v - mean) / Math.sqrt(var + EPS) * in[1][c] + in[2][c];
                case RMS_NORM -> v / Math.sqrt(sumSq / cols + EPS) * in[1][c];
            };
        }
    }
}
