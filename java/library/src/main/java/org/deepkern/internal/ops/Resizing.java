package org.deepkern.internal.ops;

import static org.deepkern.bindings.global.deepkern.*;
import static org.deepkern.internal.Call.fresh;
import static org.deepkern.internal.Call.handle;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.LongPointer;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.bindings.dk_image_pyramid_params;
import org.deepkern.bindings.dk_interpolate_params;
import org.deepkern.internal.Call;
import org.deepkern.ops.Conv2dParams.Layout;
import org.deepkern.ops.ImagePyramid;
import org.deepkern.ops.InterpolateParams;

/** Resizing (kernels/resize): F.interpolate, its backward, the image pyramid. Not part of the public API. */
public final class Resizing {
    private Resizing() {}

    /** p (and the scale factors the size came from, or null) into the C struct n. */
    private static void fill(Call c, dk_interpolate_params n, InterpolateParams p, double[] scales) {
        c.required("params", p, "interpolation parameters");
        n.layout(p.layout().ordinal()).mode(p.mode().ordinal()).align_corners(p.alignCorners() ? 1 : 0)
                .antialias(p.antialias() ? 1 : 0).scale_h(scales == null ? 0 : scales[0]).scale_w(scales == null ? 0 : scales[1]);
    }

    /** The image shape of x with its spatial dims replaced (x checked to be 4-D). */
    private static long[] resized(Call c, String name, long[] shape, Layout layout, long h, long w) {
        if (shape.length != 4)
            throw c.invalid(name, "expected a 4-D image " + (layout == Layout.NHWC ? "[N, H, W, C]" : "[N, C, H, W]")
                    + ", got shape " + Arrays.toString(shape));
        long[] out = shape.clone();
        out[layout == Layout.NHWC ? 1 : 2] = h;
        out[layout == Layout.NHWC ? 2 : 3] = w;
        return out;
    }

    private static long spatial(long[] shape, Layout layout, int d) {
        return shape[(layout == Layout.NHWC ? 1 : 2) + d];
    }

    /** {Ho, Wo} from a size argument, checked. */
    public static long[] size(Call c, long[] size) {
        c.required("size", size, "{height, width}");
        if (size.length != 2 || size[0] < 1 || size[1] < 1)
            throw c.invalid("size", "expected {height, width}, each >= 1, got " + Arrays.toString(size));
        return size;
    }

    /** {Ho, Wo} = floor(in * scale) per dim (torch's), the scales checked. */
    public static long[] sizeOf(Call c, long[] shape, Layout layout, double[] scales) {
        c.required("scaleFactor", scales, "{height scale, width scale}");
        if (scales.length != 2 || !(scales[0] > 0) || !(scales[1] > 0) || Double.isInfinite(scales[0])
                || Double.isInfinite(scales[1]))
            throw c.invalid("scaleFactor", "expected two finite scale factors > 0, got " + Arrays.toString(scales));
        resized(c, "x", shape, layout, 1, 1);
        long[] out = {(long) Math.floor(spatial(shape, layout, 0) * scales[0]), (long) Math.floor(spatial(shape, layout, 1) * scales[1])};
        if (out[0] < 1 || out[1] < 1)
            throw c.invalid("scaleFactor", Arrays.toString(scales) + " makes the " + Arrays.toString(shape)
                    + " image's output " + out[0] + "x" + out[1] + ": empty");
        return out;
    }

    /** x resized to size {Ho, Wo} (scales: the factors it came from, or null). */
    public static Tensor forward(Call c, Tensor x, long[] size, double[] scales, InterpolateParams p) {
        Tensor in = c.tensor("x", x);
        try (dk_interpolate_params n = new dk_interpolate_params()) {
            fill(c, n, p, scales);
            long[] shape = resized(c, "x", in.shape(), p.layout(), size[0], size[1]);
            return Derivatives.interpolate(c, x, scales, p, fresh(c.output(in.dtype(), shape),
                    out -> c.check(dk_interpolate_forward(c.context(), n, handle(in), handle(out)))));
        }
    }

    /** The gradient of x [inputShape] for gradOut (the forward's output; scales as the forward's). */
    public static Tensor backward(Call c, Tensor gradOut, long[] inputShape, double[] scales, InterpolateParams p) {
        Tensor g = c.tensor("gradOut", gradOut);
        c.required("inputShape", inputShape, "the forward's input shape");
        try (dk_interpolate_params n = new dk_interpolate_params()) {
            fill(c, n, p, scales);
            resized(c, "inputShape", inputShape, p.layout(), 1, 1);
            return fresh(c.output(g.dtype(), inputShape), gx -> c.check(dk_interpolate_backward(c.context(), n, handle(g),
                    handle(gx)), "grad_x", "inputShape"));
        }
    }

    /** x resized to every level of MTCNN's pyramid, in one launch. */
    public static ImagePyramid pyramid(Call c, Tensor x, double minSize, double minObject, double factor,
                                       InterpolateParams p) {
        Tensor in = c.tensor("x", x);
        try (dk_image_pyramid_params n = new dk_image_pyramid_params();
             LongPointer sizes = new LongPointer(2L * DK_MAX_IMAGE_PYRAMID_LEVELS); IntPointer count = new IntPointer(1);
             Scope outputs = Scope.open()) {
            fill(c, n.resize(), p, null);
            n.min_size(minSize).min_object(minObject).factor(factor);
            c.check(dk_image_pyramid_levels(c.context(), n, handle(in), sizes, count), "params.min_size", "minSize",
                    "params.min_object", "minObject", "params.factor", "factor");
            long[] shape = in.shape();
            List<long[]> levels = new ArrayList<>();
            long total = 0;
            for (int l = 0; l < count.get(); l++) {
                long[] level = resized(c, "x", shape, p.layout(), sizes.get(2L * l), sizes.get(2L * l + 1));
                levels.add(level);
                total += Arrays.stream(level).reduce(1, (a, b) -> a * b);
            }
            Tensor packed = c.output(in.dtype(), total);
            c.check(dk_image_pyramid_forward(c.context(), n, handle(in), handle(packed)));
            List<Tensor> views = new ArrayList<>();
            long offset = 0;
            for (long[] level : levels) {
                long numel = Arrays.stream(level).reduce(1, (a, b) -> a * b);
                views.add(outputs.keep(packed.narrow(0, offset, numel).view(level)));
                offset += numel;
            }
            return new ImagePyramid(outputs.keep(packed), List.copyOf(views));
        }
    }
}
