package org.deepkern.flow;

import java.util.Arrays;

import org.deepkern.DType;
import org.deepkern.DeepKern;
import org.deepkern.DeepKernException;
import org.deepkern.Device;
import org.deepkern.Generator;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.autograd.NoGrad;
import org.deepkern.autograd.Tape;
import org.deepkern.ops.Conv2dWeightGrads;
import org.deepkern.ops.F;

/**
 * Glow's invertible 1x1 convolution, LU-parameterized: a C x C matrix W applied across the
 * channels at every position (for [N, D] features, the invertible linear map z = W x per row),
 * with W = P L (U + diag(sign * exp(logScale))), P a fixed permutation, L unit lower triangular,
 * U strictly upper triangular, sign fixed. log |det| = positions * sum(logScale) per sample.
 *
 * <p>Initialization as Glow's: a random rotation (the Q of a Gaussian matrix's QR) factored as
 * P L U with partial pivoting; sign and logScale from U's diagonal. W, its inverse and the chain rule
 * from dW to the parameters are computed on the host in double (C is small): every forward reads
 * the parameters (3 C^2 floats), builds W, applies it with {@link F#linear} or a 1x1
 * {@link F#conv2d}. Parameters: "lower" [C, C] (only its strictly lower part is used), "upper"
 * [C, C] (strictly upper part), "logScale" [C]; P and sign are fixed by the generator and are not
 * part of the state dict: build the layer with the same generator seed before loading one.
 */
public final class InvertibleConv1x1 extends FlowLayer {
    private final int channels;
    private final int[] rowOf;   // W[r] = (L M)[rowOf[r]]
    private final double[] sign;

    /**
     * A layer over C channels, f32 on the default device, initialized from the default generator.
     *
     * @param channels C, 1 to 4096
     */
    public InvertibleConv1x1(long channels) {
        this(channels, DeepKern.defaultDevice(), Generator.defaultGenerator());
    }

    /**
     * A layer over C channels with Glow's random-rotation initialization.
     *
     * @param channels C, 1 to 4096
     * @param device where the parameters live (f32)
     * @param generator the random source of the rotation
     */
    public InvertibleConv1x1(long channels, Device device, Generator generator) {
        String op = "new InvertibleConv1x1";
        if (channels < 1 || channels > 4096)
            throw DeepKernException.invalidArgument(op, "channels", "expected 1 to 4096, got " + channels);
        if (device == null) throw DeepKernException.invalidArgument(op, "device", "expected a device, got null");
        if (generator == null) throw DeepKernException.invalidArgument(op, "generator", "expected a generator, got null");
        int c = (int) channels;
        this.channels = c;
        double[][] q = randomRotation(c, generator);
        // partial pivoting: rows piv[i] of q, in order, = L U
        int[] piv = new int[c];
        for (int i = 0; i < c; ++i) piv[i] = i;
        double[][] a = new double[c][];
        for (int i = 0; i < c; ++i) a[i] = q[i].clone();
        for (int k = 0; k < c; ++k) {
            int best = k;
            for (int i = k + 1; i < c; ++i) if (Math.abs(a[i][k]) > Math.abs(a[best][k])) best = i;
            double[] t = a[k]; a[k] = a[best]; a[best] = t;
            int ti = piv[k]; piv[k] = piv[best]; piv[best] = ti;
            for (int i = k + 1; i < c; ++i) {
                a[i][k] /= a[k][k];
                for (int j = k + 1; j < c; ++j) a[i][j] -= a[i][k] * a[k][j];
            }
        }
        rowOf = new int[c];
        for (int i = 0; i < c; ++i) rowOf[piv[i]] = i;  // q[piv[i]] = (LU)[i]
        sign = new double[c];
        float[] lower = new float[c * c], upper = new float[c * c], logs = new float[c];
        for (int i = 0; i < c; ++i) {
            for (int j = 0; j < c; ++j) {
                if (j < i) lower[i * c + j] = (float) a[i][j];
                if (j > i) upper[i * c + j] = (float) a[i][j];
            }
            sign[i] = Math.signum(a[i][i]) == 0 ? 1 : Math.signum(a[i][i]);
            logs[i] = (float) Math.log(Math.abs(a[i][i]));
        }
        registerParameter("lower", Scope.detach(Tensor.of(lower, new long[] {c, c}, device)));
        registerParameter("upper", Scope.detach(Tensor.of(upper, new long[] {c, c}, device)));
        registerParameter("logScale", Scope.detach(Tensor.of(logs, new long[] {c}, device)));
    }

    private static double[][] randomRotation(int c, Generator generator) {
        float[] g;
        try (Tensor t = Tensor.randn(new long[] {c, c}, DType.F32, Device.CPU, generator)) {
            g = t.toFloatArray();
        }
        // modified Gram-Schmidt on the columns: Q of the QR, columns q_j
        double[][] q = new double[c][c];
        for (int j = 0; j < c; ++j) {
            double[] v = new double[c];
            for (int i = 0; i < c; ++i) v[i] = g[i * c + j];
            for (int k = 0; k < j; ++k) {
                double d = 0;
                for (int i = 0; i < c; ++i) d += q[i][k] * v[i];
                for (int i = 0; i < c; ++i) v[i] -= d * q[i][k];
            }
            double norm = 0;
            for (int i = 0; i < c; ++i) norm += v[i] * v[i];
            norm = Math.sqrt(norm);
            for (int i = 0; i < c; ++i) q[i][j] = v[i] / norm;
        }
        return q;
    }

    /** The factors read from the parameters: L (unit lower), M = U + diag(sign exp(logs)), and W. */
    private record Factors(double[][] l, double[][] m, double[][] w, double[] scale, double sumLogs) {}

    private Factors factors() {
        int c = channels;
        float[] lo = parameter("lower").toFloatArray(), up = parameter("upper").toFloatArray();
        float[] logs = parameter("logScale").toFloatArray();
        double[][] l = new double[c][c], m = new double[c][c];
        double[] scale = new double[c];
        double sumLogs = 0;
        for (int i = 0; i < c; ++i) {
            for (int j = 0; j < c; ++j) {
                l[i][j] = j < i ? lo[i * c + j] : (i == j ? 1 : 0);
                m[i][j] = j > i ? up[i * c + j] : 0;
            }
            scale[i] = Math.exp(logs[i]);
            m[i][i] = sign[i] * scale[i];
            sumLogs += logs[i];
        }
        double[][] lm = mul(l, m);
        double[][] w = new double[c][];
        for (int r = 0; r < c; ++r) w[r] = lm[rowOf[r]];
        return new Factors(l, m, w, scale, sumLogs);
    }

    private static double[][] mul(double[][] a, double[][] b) {
        int n = a.length;
        double[][] o = new double[n][n];
        for (int i = 0; i < n; ++i)
            for (int k = 0; k < n; ++k) {
                double v = a[i][k];
                if (v != 0) for (int j = 0; j < n; ++j) o[i][j] += v * b[k][j];
            }
        return o;
    }

    /**
     * @return W = P L (U + diag(sign exp(logScale))), [C, C] f32 on the parameters' device, a new tensor
     */
    public Tensor weight() {
        return toTensor(factors().w, false, parameter("logScale").device());
    }

    private Tensor toTensor(double[][] a, boolean transpose, Device device) {
        int c = channels;
        float[] f = new float[c * c];
        for (int i = 0; i < c; ++i)
            for (int j = 0; j < c; ++j) f[i * c + j] = (float) (transpose ? a[j][i] : a[i][j]);
        return Tensor.of(f, new long[] {c, c}, device);
    }

    private static double[][] inverse(double[][] a) {
        int n = a.length;
        double[][] m = new double[n][2 * n];
        for (int i = 0; i < n; ++i) {
            System.arraycopy(a[i], 0, m[i], 0, n);
            m[i][n + i] = 1;
        }
        for (int k = 0; k < n; ++k) {
            int best = k;
            for (int i = k + 1; i < n; ++i) if (Math.abs(m[i][k]) > Math.abs(m[best][k])) best = i;
            double[] t = m[k]; m[k] = m[best]; m[best] = t;
            double p = m[k][k];
            for (int j = 0; j < 2 * n; ++j) m[k][j] /= p;
            for (int i = 0; i < n; ++i) {
                if (i == k || m[i][k] == 0) continue;
                double f = m[i][k];
                for (int j = 0; j < 2 * n; ++j) m[i][j] -= f * m[k][j];
            }
        }
        double[][] inv = new double[n][n];
        for (int i = 0; i < n; ++i) System.arraycopy(m[i], n, inv[i], 0, n);
        return inv;
    }

    private void check(String op, String name, Tensor x) {
        FlowOps.input(op, name, x);
        Tensor p = parameter("logScale");
        if (x.shape(1) != channels || (x.ndim() != 2 && x.ndim() != 4))
            throw DeepKernException.invalidArgument(op, name, "expected [N, " + channels + "] or [N, " + channels
                    + ", H, W], got " + Arrays.toString(x.shape()));
        if (x.dtype() != p.dtype() || !x.device().equals(p.device()))
            throw DeepKernException.invalidArgument(op, name, "expected " + p.dtype() + " on " + p.device()
                    + " (the parameters'), got " + x.dtype() + " on " + x.device());
    }

    /** x W^T for rows, or the 1x1 convolution with W for images. */
    private static Tensor apply(Tensor x, Tensor w) {
        if (x.ndim() == 2) return F.linear(x, w);
        long c = w.shape(0);
        try (Tensor w4 = w.view(c, c, 1, 1)) {
            return F.conv2d(x, w4);
        }
    }

    /**
     * z = W x over the channels at every position.
     *
     * @param x [N, C] or [N, C, H, W]
     * @return z and log |det| = positions * sum(logScale) per sample
     * @throws DeepKernException naming {@code InvertibleConv1x1.forward} and 'x' on a bad shape, dtype or device
     */
    @Override
    public FlowResult forwardWithLogDet(Tensor x) {
        check("InvertibleConv1x1.forward", "x", x);
        Factors f = factors();
        long positions = FlowOps.positions(x.shape());
        long n = x.shape(0);
        Device dev = x.device();
        Tensor lo = parameter("lower"), up = parameter("upper"), ls = parameter("logScale");
        Tensor[] out = FlowOps.recorded("flow.invconv", new Tensor[] {x, lo, up, ls}, new Tensor[] {x}, () -> {
            try (Tensor w = toTensor(f.w, false, dev)) {
                return new Tensor[] {apply(x, w), FlowOps.constantLogDet(n, positions * f.sumLogs, dev)};
            }
        }, (g, saved) -> {
            Tensor xs = saved[0], gy = g[0];
            double[][] gw = new double[channels][channels];
            Tensor gx;
            try (Tensor wt = toTensor(f.w, true, dev)) {
                gx = apply(gy, wt);  // dx = W^T dy
            }
            float[] gwf;
            if (xs.ndim() == 2) {
                try (Tensor t = F.matmul(gy, xs, true, false)) {
                    gwf = t.toFloatArray();
                }
            } else {
                try (Conv2dWeightGrads wg = F.conv2dBackwardWeight(xs, gy, new long[] {channels, channels, 1, 1}, false)) {
                    gwf = wg.gradWeight().toFloatArray();
                }
            }
            for (int i = 0; i < channels; ++i)
                for (int j = 0; j < channels; ++j) gw[i][j] = gwf[i * channels + j];
            return withParameterGrads(gx, gw, f, positions * FlowOps.sumOf(g[1]), dev);
        });
        return new FlowResult(out[0], out[1]);
    }

    /** [dx, dLower, dUpper, dLogScale] from dW (host, double), W = P L M, M = U + diag(sign exp(logs)). */
    private Tensor[] withParameterGrads(Tensor gx, double[][] gw, Factors f, double logDetGrad, Device dev) {
        int c = channels;
        // P^T dW: row rowOf[r] of (L M) is row r of W
        double[][] pg = new double[c][c];
        for (int r = 0; r < c; ++r) pg[rowOf[r]] = gw[r];
        double[][] mt = transpose(f.m), lt = transpose(f.l);
        double[][] dl = mul(pg, mt), dm = mul(lt, pg);
        float[] dLower = new float[c * c], dUpper = new float[c * c], dLogs = new float[c];
        for (int i = 0; i < c; ++i) {
            for (int j = 0; j < c; ++j) {
                if (j < i) dLower[i * c + j] = (float) dl[i][j];
                if (j > i) dUpper[i * c + j] = (float) dm[i][j];
            }
            dLogs[i] = (float) (dm[i][i] * sign[i] * f.scale[i] + logDetGrad);
        }
        return new Tensor[] {gx, Tensor.of(dLower, new long[] {c, c}, dev), Tensor.of(dUpper, new long[] {c, c}, dev),
                Tensor.of(dLogs, new long[] {c}, dev)};
    }

    private static double[][] transpose(double[][] a) {
        int n = a.length;
        double[][] t = new double[n][n];
        for (int i = 0; i < n; ++i) for (int j = 0; j < n; ++j) t[j][i] = a[i][j];
        return t;
    }

    /**
     * x = W^-1 z (W inverted on the host in double); not recorded.
     *
     * @param z [N, C] or [N, C, H, W]
     * @return x
     * @throws DeepKernException naming {@code InvertibleConv1x1.inverse} and 'z' on a bad shape, dtype or device
     */
    @Override
    public Tensor inverse(Tensor z) {
        check("InvertibleConv1x1.inverse", "z", z);
        try (NoGrad g = Tape.noGrad(); Tensor wi = toTensor(inverse(factors().w), false, z.device())) {
            return apply(z, wi);
        }
    }

    @Override
    protected String extraRepr() {
        return "channels=" + channels;
    }
}
