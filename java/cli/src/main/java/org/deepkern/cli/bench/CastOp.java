package org.deepkern.cli.bench;

import org.deepkern.DType;
import org.deepkern.Tensor;

/** Tensor.to(DType)'s kernel into a preallocated tensor (Tensor.copyFrom); must round exactly (nearest even). */
public record CastOp(DType to) implements BenchOp {

    @Override
    public String name() {
        return "cast";
    }

    @Override
    public DType outputDtype(DType in) {
        return to;
    }

    @Override
    public double flopsPerElement() {
        return 1;
    }

    @Override
    public void run(long[] shape, Tensor[] in, Tensor[] out) {
        out[0].copyFrom(in[0]);
    }

    @Override
    public String verify(long[] shape, float[][] in, float[][] out, DType outputDtype) {
        float[] input = in[0], output = out[0];
        for (int i = 0; i < input.length; i++) {
            float want = Accuracy.round(input[i], outputDtype);
            if (Float.compare(want, output[i]) != 0)
                return "element " + i + ": " + input[i] + " -> " + output[i] + ", expected " + want;
        }
        return null;
    }
}
