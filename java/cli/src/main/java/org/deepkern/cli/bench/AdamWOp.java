package org.deepkern.cli.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.deepkern.DType;
import org.deepkern.Tensor;
import org.deepkern.optim.AdamW;

/**
 * One AdamW step (AdamW.fusedStep, torch's hyper-parameters with lr 1e-3) over a transformer's
 * parameter list: the case's shape is {layers, hidden}, each layer a GPT-style block (qkv
 * [3h, h] + bias, out proj [h, h] + bias, two LayerNorms' weight and bias, MLP [4h, h] + bias and
 * [h, 4h] + bias: 12 tensors, 12 h^2 + 13 h elements). The harness's flat operands (param, grad,
 * exp_avg, exp_avg_sq, all f32) are cut into the parameters as contiguous slices. Fused: ONE launch
 * for all of them; perParameter: one launch per tensor (the loop a non-fused optimizer runs).
 * Bytes: param, grad, m, v read, param, m, v written (28 an element): the step works in place, so
 * its outputs ARE its state inputs (it puts them in the output slots). The check: step 1 against
 * the formula in double.
 */
public record AdamWOp(boolean perParameter) implements BenchOp {
    static final AdamW.Options OPTIONS = AdamW.Options.defaults();

    @Override
    public String name() {
        return perParameter ? "adamw_per_param" : "adamw_fused";
    }

    /** The element counts of one layer's parameters at hidden size h. */
    static long[] layer(long h) {
        return new long[] {3 * h * h, 3 * h, h * h, h, h, h, 4 * h * h, 4 * h, 4 * h * h, h, h, h};
    }

    /** Every parameter's element count, layer after layer. */
    static long[] sizes(long[] shape) {
        long[] one = layer(shape[1]);
        long[] all = new long[(int) shape[0] * one.length];
        for (int l = 0; l < shape[0]; l++) System.arraycopy(one, 0, all, l * one.length, one.length);
        return all;
    }

    static long total(long[] shape) {
        return Arrays.stream(sizes(shape)).sum();
    }

    @Override
    public List<long[]> inputShapes(long[] shape) {
        long n = total(shape);
        return List.of(new long[] {n}, new long[] {n}, new long[] {n}, new long[] {n});
    }

    @Override
    public List<long[]> outputShapes(long[] shape) {
        long n = total(shape);
        return List.of(new long[] {n}, new long[] {n}, new long[] {n});
    }

    @Override
    public float[][] fromNormals(long[] shape, float[][] normals) {
        float[] v = normals[3].clone();
        for (int i = 0; i < v.length; i++) v[i] = v[i] * v[i];  // a second moment is >= 0
        return new float[][] {normals[0], normals[1], normals[2], v};
    }

    @Override
    public double flops(long[] shape) {
        return 16.0 * total(shape);  // decay, lerp, v update, sqrt, two divisions, the update
    }

    /** Contiguous slices of flat t, one per parameter. */
    static List<Tensor> slices(Tensor t, long[] sizes) {
        List<Tensor> out = new ArrayList<>(sizes.length);
        long at = 0;
        for (long s : sizes) {
            out.add(t.narrow(0, at, s));
            at += s;
        }
        return out;
    }

    @Override
    public void run(long[] shape, Tensor[] in, Tensor[] out) {
        long[] sizes = sizes(shape);
        List<Tensor> p = slices(in[0], sizes), g = slices(in[1], sizes), m = slices(in[2], sizes), v = slices(in[3], sizes);
        long[] steps = new long[sizes.length];
        Arrays.fill(steps, 1);
        try {
            if (!perParameter) AdamW.fusedStep(p, g, m, v, steps, OPTIONS);
            else
                for (int i = 0; i < sizes.length; i++)
                    AdamW.fusedStep(List.of(p.get(i)), List.of(g.get(i)), List.of(m.get(i)), List.of(v.get(i)),
                            new long[] {1}, OPTIONS);
        } finally {
            for (List<Tensor> l : List.of(p, g, m, v)) l.forEach(Tensor::close);
        }
        // in place: the updated state is the output
        int[] state = {0, 2, 3};
        for (int k = 0; k < 3; k++) {
            if (out[k] != in[state[k]]) {
                out[k].close();
                out[k] = in[state[k]];
            }
        }
    }

    @Override
    public String verify(long[] shape, float[][] in, float[][] out, DType outputDtype) {
        double lr = OPTIONS.lr(), b1 = OPTIONS.beta1(), b2 = OPTIONS.beta2(), eps = OPTIONS.eps(), wd = OPTIONS.weightDecay();
        float[] p = in[0], g = in[1], m = in[2], v = in[3];
        double[] m1 = Accuracy.reference(p.length, i -> b1 * m[i] + (1 - b1) * g[i]);
        double[] v1 = Accuracy.reference(p.length, i -> b2 * v[i] + (1 - b2) * (double) g[i] * g[i]);
        double[] p1 = Accuracy.reference(p.length,
                i -> p[i] * (1 - lr * wd) - lr / (1 - b1) * m1[i] / (Math.sqrt(v1[i] / (1 - b2)) + eps));
        return Accuracy.judge(List.of("param", "exp_avg", "exp_avg_sq"), new double[][] {p1, m1, v1}, out, outputDtype);
    }
}
