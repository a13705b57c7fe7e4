package org.deepkern.cli.bench;

import java.util.List;
import org.deepkern.DType;
import org.deepkern.Tensor;

/**
 * Tensor arithmetic as models use it: "add", x [rows, cols] + b [cols] broadcast over the rows
 * (x.add(b)); "sum", x summed over its last dim into [rows] (x.sum(-1)). Memory-bound: x read once,
 * the output written once. The ops return fresh tensors, which take out's place.
 */
public record ArithmeticOp(Kind kind) implements BenchOp {
    public enum Kind {
        ADD, SUM
    }

    @Override
    public String name() {
        return kind.name().toLowerCase();
    }

    @Override
    public List<long[]> inputShapes(long[] shape) {
        return kind == Kind.ADD ? List.of(shape, new long[] {shape[1]}) : List.of(shape);
    }

    @Override
    public List<long[]> outputShapes(long[] shape) {
        return kind == Kind.ADD ? List.of(shape) : List.of(new long[] {shape[0]});
    }

    @Override
    public double flopsPerElement() {
        return 1;
    }

    @Override
    public void run(long[] shape, Tensor[] in, Tensor[] out) {
        Tensor result = kind == Kind.ADD ? in[0].add(in[1]) : in[0].sum(-1);
        out[0].close();
        out[0] = result;
    }

    @Override
    public String verify(long[] shape, float[][] in, float[][] out, DType outputDtype) {
        int rows = Math.toIntExact(shape[0]), cols = Math.toIntExact(shape[1]);
        float[] x = in[0];
        if (kind == Kind.ADD) {
            float[] b = in[1];
            return Accuracy.judge(Accuracy.reference(rows * cols, i -> (double) x[i] + b[i % cols]), out[0], outputDtype);
        }
        return Accuracy.judge(Accuracy.reference(rows, r -> {
            double s = 0;
            for (int c = 0; c < cols; c++) s += x[r * cols + c];
            return s;
        }), out[0], outputDtype);
    }
}
