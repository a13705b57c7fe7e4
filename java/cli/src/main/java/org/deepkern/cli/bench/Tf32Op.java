package org.deepkern.cli.bench;

import java.util.List;
import org.deepkern.DType;
import org.deepkern.Tensor;

/**
 * An f32 product or convolution run with TF32 allowed ({@code DeepKern.setAllowTf32}, which the
 * harness sets around the case: {@link #tf32}), named after it with "_tf32". Its gate is the
 * inner op's host reference on the inputs rounded to TF32 as the tensor cores read them (10
 * mantissa bits, nearest, ties away from zero), at f32 tolerance: a kernel that rounds otherwise,
 * or not at all, fails. The peer runs it with torch's allow_tf32 (benchmarks/gpu/torch_peer.py).
 * Cases of it run on cuda only: the cpu backend computes f32 in f32 either way.
 */
public record Tf32Op(BenchOp inner) implements BenchOp {
    @Override
    public String name() {
        return inner.name() + "_tf32";
    }

    @Override
    public boolean tf32() {
        return true;
    }

    @Override
    public List<long[]> inputShapes(long[] shape) {
        return inner.inputShapes(shape);
    }

    @Override
    public List<long[]> outputShapes(long[] shape) {
        return inner.outputShapes(shape);
    }

    @Override
    public double flops(long[] shape) {
        return inner.flops(shape);
    }

    @Override
    public void run(long[] shape, Tensor[] in, Tensor[] out) {
        inner.run(shape, in, out);
    }

    @Override
    public String verify(long[] shape, float[][] in, float[][] out, DType outputDtype) {
        float[][] rounded = new float[in.length][];
        for (int j = 0; j < in.length; j++) {
            rounded[j] = new float[in[j].length];
            for (int i = 0; i < in[j].length; i++) rounded[j][i] = round(in[j][i]);
        }
        return inner.verify(shape, rounded, out, outputDtype);
    }

    /** x to TF32: 11 significant bits, nearest, ties away from zero (cvt.rna.tf32.f32); finite x. */
    static float round(float x) {
        if (x == 0 || !Float.isFinite(x)) return x;
        double step = Math.scalb(1.0, Math.max(Math.getExponent(x), -126) - 10);
        return (float) Math.copySign(Math.floor(Math.abs(x) / step + 0.5) * step, x);
    }
}
