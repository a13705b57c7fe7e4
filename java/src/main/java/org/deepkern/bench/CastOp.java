package org.deepkern.bench;

import org.deepkern.DType;
import org.deepkern.Tensor;
import org.deepkern.bindings.global.deepkern;
import org.deepkern.internal.Native;

/** Tensor.to(DType)'s kernel into a preallocated tensor; must round exactly (nearest even). */
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
        Native.check(deepkern.dk_cast(in[0].nativeContext(), in[0].nativeHandle(), out[0].nativeHandle()));
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
