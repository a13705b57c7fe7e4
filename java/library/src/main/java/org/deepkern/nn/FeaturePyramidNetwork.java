package org.deepkern.nn;

import java.util.ArrayList;
import java.util.List;
import org.deepkern.DType;
import org.deepkern.DeepKern;
import org.deepkern.DeepKernException;
import org.deepkern.Device;
import org.deepkern.Generator;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.ops.Act;
import org.deepkern.ops.Conv2dParams;
import org.deepkern.ops.Conv2dParams.Layout;
import org.deepkern.ops.F;
import org.deepkern.ops.InterpolateParams;
import org.deepkern.ops.InterpolationMode;
import org.deepkern.ops.Pool2dParams;

/**
 * torchvision.ops.FeaturePyramidNetwork (Lin et al.): from backbone maps C_i (highest resolution
 * first) to maps P_i of outChannels each: a 1x1 lateral conv per level, the coarser level's inner
 * map upsampled (nearest, to the lateral's size) and added, a 3x3 output conv; plus an extra block
 * on the coarsest level. The add runs in the lateral conv's residual epilogue (one conv launch
 * reading the upsampled map, no separate add). Parameters and their names as torchvision's
 * ({@code inner_blocks.i.0.weight}, {@code layer_blocks.i.0.weight}, {@code extra_blocks.p6.weight}),
 * initialized as it does: kaiming_uniform_(a=1), zero bias.
 */
public final class FeaturePyramidNetwork extends Module {
    /** The block after the coarsest level. */
    public enum ExtraBlock {
        /** None. */
        NONE,
        /** torchvision's LastLevelMaxPool: max_pool2d(P_last, kernel 1, stride 2) ("pool"). */
        MAX_POOL,
        /** LastLevelP6P7 reading C_last (its in_channels != out_channels): P6 = conv3x3/2(C5), P7 = conv3x3/2(relu(P6)). */
        P6P7_FROM_C5,
        /** LastLevelP6P7 reading P_last (in_channels == out_channels, RetinaNet's). */
        P6P7_FROM_P5
    }

    private final List<Conv2d> inner = new ArrayList<>(), layer = new ArrayList<>();
    private final ExtraBlock extra;
    private final Layout layout;
    private final Conv2d p6, p7;

    /**
     * NCHW, f32 on the default device, LastLevelMaxPool: torchvision's defaults for a backbone.
     *
     * @param inChannels each level's channels, highest resolution first
     * @param outChannels the channels of every output
     */
    public FeaturePyramidNetwork(long[] inChannels, long outChannels) {
        this(inChannels, outChannels, ExtraBlock.MAX_POOL, Layout.NCHW, DType.F32, DeepKern.defaultDevice(),
                Generator.defaultGenerator());
    }

    /**
     * @param inChannels each level's channels, highest resolution first (at least one level)
     * @param outChannels the channels of every output
     * @param extra the block after the coarsest level
     * @param layout the maps' layout
     * @param dtype the parameters' dtype
     * @param device where the parameters live
     * @param generator the random source of the initialization
     */
    public FeaturePyramidNetwork(long[] inChannels, long outChannels, ExtraBlock extra, Layout layout, DType dtype,
                                 Device device, Generator generator) {
        String op = "new FeaturePyramidNetwork";
        if (inChannels == null || inChannels.length == 0)
            throw DeepKernException.invalidArgument(op, "inChannels", "expected at least one level's channels");
        if (extra == null) throw DeepKernException.invalidArgument(op, "extra", "expected an ExtraBlock, got null");
        if (layout == null) throw DeepKernException.invalidArgument(op, "layout", "expected NCHW or NHWC, got null");
        Init.size(op, "outChannels", outChannels);
        this.extra = extra;
        this.layout = layout;
        Module[] inners = new Module[inChannels.length], layers = new Module[inChannels.length];
        for (int i = 0; i < inChannels.length; i++) {
            Conv2d lateral = conv(op, Init.size(op, "inChannels", inChannels[i]), outChannels, 1, 1, dtype, device, generator);
            Conv2d output = conv(op, outChannels, outChannels, 3, 1, dtype, device, generator);
            inner.add(lateral);
            layer.add(output);
            inners[i] = new Sequential(lateral);
            layers[i] = new Sequential(output);
        }
        registerModule("inner_blocks", new Sequential(inners));
        registerModule("layer_blocks", new Sequential(layers));
        if (extra == ExtraBlock.P6P7_FROM_C5 || extra == ExtraBlock.P6P7_FROM_P5) {
            long in = extra == ExtraBlock.P6P7_FROM_C5 ? inChannels[inChannels.length - 1] : outChannels;
            p6 = conv(op, in, outChannels, 3, 2, dtype, device, generator);
            p7 = conv(op, outChannels, outChannels, 3, 2, dtype, device, generator);
            registerModule("extra_blocks", new P6P7(p6, p7));
        } else {
            p6 = p7 = null;
        }
    }

    /** A k x k conv (padding k / 2) initialized as torchvision's FPN: kaiming_uniform_(a=1), bias 0. */
    private Conv2d conv(String op, long in, long out, int k, int stride, DType dtype, Device device, Generator generator) {
        long[] shape = layout == Layout.NHWC ? new long[] {out, k, k, in} : new long[] {out, in, k, k};
        double bound = Math.sqrt(3.0 / Init.fanIn(shape));  // gain sqrt(2 / (1 + a^2)) = 1: U(+-sqrt(3 / fan_in))
        Conv2dParams params = Conv2dParams.defaults().withLayout(layout).withStride(stride).withPadding(k / 2);
        return new Conv2d(Init.uniform(op, shape, bound, dtype, device, generator), Init.constant(new long[] {out}, 0, dtype, device),
                params);
    }

    /** The P6 / P7 convs under torchvision's names. */
    private static final class P6P7 extends Module {
        P6P7(Conv2d p6, Conv2d p7) {
            registerModule("p6", p6);
            registerModule("p7", p7);
        }

        @Override
        public Tensor forward(Tensor input) {
            throw DeepKernException.invalidArgument("FeaturePyramidNetwork.forward", "input", "the extra block runs inside the FPN");
        }
    }

    /**
     * The FPN takes a list of maps: use {@link #forward(List)}.
     *
     * @param input not used
     * @return never
     * @throws DeepKernException always
     */
    @Override
    public Tensor forward(Tensor input) {
        throw DeepKernException.invalidArgument("FeaturePyramidNetwork.forward", "input",
                "expected the backbone's maps as a list: call forward(List<Tensor>)");
    }

    /**
     * @param features the backbone's maps C_i, highest resolution first, one per level
     * @return P_i per level, then the extra block's maps (pool, or P6 and P7)
     */
    public List<Tensor> forward(List<Tensor> features) {
        String op = "FeaturePyramidNetwork.forward";
        if (features == null || features.size() != inner.size())
            throw DeepKernException.invalidArgument(op, "features", "expected " + inner.size() + " maps, one per level, got "
                    + (features == null ? "null" : features.size()));
        InterpolateParams nearest = InterpolateParams.of(InterpolationMode.NEAREST).withLayout(layout);
        int last = inner.size() - 1;
        Tensor[] results = new Tensor[inner.size()];
        try (Scope scope = Scope.open()) {
            Tensor lastInner = inner.get(last).forward(features.get(last));
            results[last] = scope.keep(layer.get(last).forward(lastInner));
            for (int i = last - 1; i >= 0; i--) {
                Tensor lateral = features.get(i);
                long[] size = layout == Layout.NHWC ? new long[] {lateral.shape(1), lateral.shape(2)}
                        : new long[] {lateral.shape(2), lateral.shape(3)};
                Tensor topDown = F.interpolate(lastInner, size, nearest);
                Conv2d conv = inner.get(i);
                lastInner = F.conv2d(lateral, conv.weight(), conv.bias(), topDown, conv.params());
                results[i] = scope.keep(layer.get(i).forward(lastInner));
            }
            List<Tensor> out = new ArrayList<>(List.of(results));
            switch (extra) {
                case MAX_POOL -> out.add(scope.keep(F.maxPool2d(results[last], Pool2dParams.of(1).withStride(2).withLayout(layout))));
                case P6P7_FROM_C5, P6P7_FROM_P5 -> {
                    Tensor six = p6.forward(extra == ExtraBlock.P6P7_FROM_C5 ? features.get(last) : results[last]);
                    out.add(scope.keep(six));
                    out.add(scope.keep(p7.forward(F.activation(Act.relu(), six))));
                }
                default -> { }
            }
            return out;
        }
    }

    @Override
    protected String extraRepr() {
        return inner.size() + " levels, extra=" + extra + (layout == Layout.NHWC ? ", NHWC" : "");
    }
}
