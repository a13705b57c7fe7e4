package org.deepkern.cli.bench;

import java.util.List;
import org.deepkern.DType;
import org.deepkern.Tensor;
import org.deepkern.ops.F;
import org.deepkern.ops.InterpolateParams;
import org.deepkern.ops.InterpolationMode;
import org.deepkern.ops.Pool2dParams;
import org.deepkern.ops.Conv2dParams.Layout;

/**
 * The detectors' resampling ops on x [N, C, H, W] (NCHW, the case's shape): ResNet's stem max pool
 * (3x3, stride 2, padding 1), YOLOv5's SPPF (x and three chained 5x5 stride-1 max pools, [N, 4C,
 * H, W]), FPN's nearest 2x upsample and a bilinear 2x upsample. Memory-bound: x read once, the
 * output written once. Checked on sampled outputs against the double definitions.
 */
public record VisionOp(Kind kind) implements BenchOp {
    public enum Kind {
        MAX_POOL, SPPF, UPSAMPLE_NEAREST, UPSAMPLE_BILINEAR
    }

    static final Pool2dParams STEM = Pool2dParams.of(3).withStride(2).withPadding(1);
    static final int SAMPLES = 4096;

    @Override
    public String name() {
        return kind.name().toLowerCase();
    }

    @Override
    public List<long[]> outputShapes(long[] s) {
        return List.of(switch (kind) {
            case MAX_POOL -> new long[] {s[0], s[1], (s[2] - 1) / 2 + 1, (s[3] - 1) / 2 + 1};
            case SPPF -> new long[] {s[0], 4 * s[1], s[2], s[3]};
            case UPSAMPLE_NEAREST, UPSAMPLE_BILINEAR -> new long[] {s[0], s[1], 2 * s[2], 2 * s[3]};
        });
    }

    @Override
    public double flops(long[] s) {
        long[] o = outputShapes(s).get(0);
        double outputs = BenchCase.numel(o);
        return switch (kind) {
            case MAX_POOL -> 9 * outputs;
            case SPPF -> 3 * 25 * BenchCase.numel(s);
            case UPSAMPLE_NEAREST -> 0;
            case UPSAMPLE_BILINEAR -> 6 * outputs;
        };
    }

    private static final InterpolateParams NEAREST = InterpolateParams.of(InterpolationMode.NEAREST),
            BILINEAR = InterpolateParams.of(InterpolationMode.BILINEAR);

    @Override
    public void run(long[] s, Tensor[] in, Tensor[] out) {
        Tensor y = switch (kind) {
            case MAX_POOL -> F.maxPool2d(in[0], STEM);
            case SPPF -> F.sppf(in[0], 5, Layout.NCHW);
            case UPSAMPLE_NEAREST -> F.interpolate(in[0], new long[] {2 * s[2], 2 * s[3]}, NEAREST);
            case UPSAMPLE_BILINEAR -> F.interpolate(in[0], new long[] {2 * s[2], 2 * s[3]}, BILINEAR);
        };
        out[0].close();
        out[0] = y;
    }

    @Override
    public String verify(long[] s, float[][] in, float[][] out, DType outputDtype) {
        long[] o = outputShapes(s).get(0);
        int oc = (int) o[1], oh = (int) o[2], ow = (int) o[3], h = (int) s[2], w = (int) s[3], c = (int) s[1];
        long total = BenchCase.numel(o);
        double[] ref = new double[(int) Math.min(SAMPLES, total)];
        float[] got = new float[ref.length];
        for (int k = 0; k < ref.length; k++) {
            long e = total * k / ref.length;
            got[k] = out[0][(int) e];
            int x = (int) (e % ow), y = (int) (e / ow % oh), ch = (int) (e / ((long) ow * oh) % oc), n = (int) (e / ((long) ow * oh * oc));
            ref[k] = switch (kind) {
                case MAX_POOL -> max(in[0], n, ch, c, h, w, 2 * y - 1, 2 * x - 1, 3);
                case SPPF -> {
                    int stage = ch / c, r = 2 * stage;  // window 1, 5, 9, 13 around (y, x)
                    yield max(in[0], n, ch % c, c, h, w, y - r, x - r, 2 * r + 1);
                }
                case UPSAMPLE_NEAREST -> in[0][((n * c + ch) * h + y / 2) * w + x / 2];
                case UPSAMPLE_BILINEAR -> {
                    double sum = 0;
                    for (int[] ty : taps(y, h)) for (int[] tx : taps(x, w))
                        sum += (ty[1] / 4.0) * (tx[1] / 4.0) * in[0][((n * c + ch) * h + ty[0]) * w + tx[0]];
                    yield sum;
                }
            };
        }
        return Accuracy.judge(ref, got, outputDtype);
    }

    /** The max of the k x k window at (y0, x0) inside the plane (-inf padding). */
    private static double max(float[] x, int n, int ch, int c, int h, int w, int y0, int x0, int k) {
        double best = Double.NEGATIVE_INFINITY;
        for (int y = Math.max(y0, 0); y < Math.min(y0 + k, h); y++)
            for (int z = Math.max(x0, 0); z < Math.min(x0 + k, w); z++) best = Math.max(best, x[((n * c + ch) * h + y) * w + z]);
        return best;
    }

    /** Bilinear 2x (align_corners false): source (o + 0.5) / 2 - 0.5, clamped at 0; {index, weight in quarters}. */
    private static int[][] taps(int o, int in) {
        if (o == 0) return new int[][] {{0, 4}};
        int i0 = (o - 1) / 2, i1 = Math.min(i0 + 1, in - 1);
        int frac = o % 2 == 1 ? 1 : 3;  // source i0 + 0.25 (odd o) or i0 + 0.75 (even o)
        return new int[][] {{i0, 4 - frac}, {i1, frac}};
    }
}
