package org.deepkern.nn;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.deepkern.DeepKernException;
import org.deepkern.ops.Pool2dParams;

/**
 * Well-known stacks as {@link ReceptiveField}s, layer for layer as their reference code builds
 * them, so that their fields can be read off (and checked against published values) by name.
 */
public enum ReceptiveFieldNet {
    /** VGG-16 (configuration D): conv5_3 sees 196 px at stride 16, pool5 212 px at stride 32. */
    VGG16(224),
    /** torchvision's ResNet-50 (v1.5: the stride on each first bottleneck's 3x3): 427 px at stride 32. */
    RESNET50(224),
    /** An FPN on torchvision's ResNet-50: P2-P5 from C2-C5, P6 a stride-2 subsampling of P5. */
    FPN(224),
    /** MTCNN's P-Net: a 12-pixel window every 2 pixels. */
    PNET(12),
    /** MTCNN's R-Net on its 24 x 24 crop. */
    RNET(24),
    /** MTCNN's O-Net on its 48 x 48 crop. */
    ONET(48);

    private final int defaultSize;

    ReceptiveFieldNet(int defaultSize) {
        this.defaultSize = defaultSize;
    }

    /** @return the input size the net is usually run at (square) */
    public int defaultSize() {
        return defaultSize;
    }

    /** @return the name the command line takes, e.g. "resnet50" */
    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * @param name a {@link #cliName()}
     * @return that net
     */
    public static ReceptiveFieldNet named(String name) {
        for (ReceptiveFieldNet n : values()) if (n.cliName().equals(name)) return n;
        throw DeepKernException.invalidArgument("ReceptiveFieldNet.named", "name", "expected one of "
                + List.of(values()).stream().map(ReceptiveFieldNet::cliName).toList() + ", got '" + name + "'");
    }

    /**
     * @param height the input's height
     * @param width the input's width
     * @return the net's outputs (one, or FPN's five levels) for that input
     */
    public List<ReceptiveField> outputs(int height, int width) {
        return switch (this) {
            case VGG16 -> List.of(vgg16(height, width));
            case RESNET50 -> List.of(resnet50(height, width));
            case FPN -> fpn(height, width);
            case PNET -> List.of(pnet(height, width));
            case RNET -> List.of(rnet(height, width));
            case ONET -> List.of(onet(height, width));
        };
    }

    /**
     * VGG-16's thirteen 3x3 convolutions (padding 1) in five blocks, each closed by a 2x2 / 2 max
     * pooling; layers named as the paper's conv1_1 ... pool5.
     *
     * @param height the input's height
     * @param width the input's width
     * @return pool5
     */
    public static ReceptiveField vgg16(int height, int width) {
        ReceptiveField x = ReceptiveField.of(height, width);
        int[] convs = {2, 2, 3, 3, 3};
        for (int b = 1; b <= convs.length; b++) {
            for (int c = 1; c <= convs[b - 1]; c++) x = x.conv("conv" + b + "_" + c, 3, 1, 1);
            x = x.maxPool("pool" + b, 2, 2, 0);
        }
        return x;
    }

    /**
     * torchvision's resnet50 up to layer4 (its avgpool and fc see everything): conv1 7x7 / 2 pad 3,
     * maxpool 3x3 / 2 pad 1, then 3, 4, 6, 3 bottlenecks (1x1, 3x3 carrying the stride, 1x1,
     * summed with the identity or a 1x1 downsample), named as torchvision's modules.
     *
     * @param height the input's height
     * @param width the input's width
     * @return layer4's last block
     */
    public static ReceptiveField resnet50(int height, int width) {
        return stages(height, width).get(3);
    }

    /** C2-C5: the outputs of torchvision's layer1-layer4. */
    private static List<ReceptiveField> stages(int height, int width) {
        ReceptiveField x = ReceptiveField.of(height, width).conv("conv1", 7, 2, 3).maxPool("maxpool", 3, 2, 1);
        int[] blocks = {3, 4, 6, 3};
        List<ReceptiveField> stages = new ArrayList<>();
        for (int l = 0; l < blocks.length; l++) {
            for (int b = 0; b < blocks[l]; b++) {
                String n = "layer" + (l + 1) + "." + b;
                int stride = b == 0 && l > 0 ? 2 : 1;
                ReceptiveField main = x.conv(n + ".conv1", 1, 1, 0).conv(n + ".conv2", 3, stride, 1).conv(n + ".conv3", 1, 1, 0);
                x = main.merge(n, b == 0 ? x.conv(n + ".downsample.0", 1, stride, 0) : x);
            }
            stages.add(x);
        }
        return stages;
    }

    /**
     * A feature pyramid (Lin et al., 2017, as torchvision's FeaturePyramidNetwork) on
     * {@link #resnet50}: a 1x1 lateral conv on each of C2-C5, from the top down each level plus
     * the level above upsampled x2 (nearest), then a 3x3 output conv; P6 is P5 subsampled by 2
     * (max pooling 1x1 / 2). The adds must align, so the input's sides must be multiples of 32.
     *
     * @param height the input's height
     * @param width the input's width
     * @return P2, P3, P4, P5 and P6
     */
    public static List<ReceptiveField> fpn(int height, int width) {
        List<ReceptiveField> c = stages(height, width);
        ReceptiveField[] p = new ReceptiveField[5];
        ReceptiveField inner = c.get(3).conv("fpn.inner5", 1, 1, 0);
        p[3] = inner.conv("fpn.P5", 3, 1, 1);
        for (int l = 2; l >= 0; l--) {
            ReceptiveField lateral = c.get(l).conv("fpn.inner" + (l + 2), 1, 1, 0);
            inner = lateral.merge("fpn.add" + (l + 2), inner.upsample("fpn.up" + (l + 3), 2));
            p[l] = inner.conv("fpn.P" + (l + 2), 3, 1, 1);
        }
        p[4] = p[3].maxPool("fpn.P6", 1, 2, 0);
        return List.of(p);
    }

    /**
     * MTCNN's P-Net (Zhang et al., 2016), fully convolutional: conv 3x3, max pooling 2x2 / 2 (ceil
     * mode), conv 3x3, conv 3x3; its 1x1 heads change no field. Each output scores a 12 x 12
     * window, one every 2 pixels.
     *
     * @param height the input's height
     * @param width the input's width
     * @return conv3
     */
    public static ReceptiveField pnet(int height, int width) {
        return ReceptiveField.of(height, width).conv("conv1", 3, 1, 0).maxPool("pool1", ceilPool(2, 2))
                .conv("conv2", 3, 1, 0).conv("conv3", 3, 1, 0);
    }

    /**
     * MTCNN's R-Net: conv 3x3, max pooling 3x3 / 2, conv 3x3, max pooling 3x3 / 2 (ceil mode),
     * conv 2x2, then a fully connected layer, here a conv over the whole 3 x 3 map ("dense"):
     * conv3 sees 17 px; dense sees the whole 24 px crop (r 25: the ceil-mode pools' last windows
     * reach one pixel past it).
     *
     * @param height the input's height
     * @param width the input's width
     * @return dense
     */
    public static ReceptiveField rnet(int height, int width) {
        return ReceptiveField.of(height, width).conv("conv1", 3, 1, 0).maxPool("pool1", ceilPool(3, 2))
                .conv("conv2", 3, 1, 0).maxPool("pool2", ceilPool(3, 2)).conv("conv3", 2, 1, 0).conv("dense", 3, 1, 0);
    }

    /**
     * MTCNN's O-Net: conv 3x3, max pooling 3x3 / 2, conv 3x3, max pooling 3x3 / 2, conv 3x3, max
     * pooling 2x2 / 2 (ceil mode), conv 2x2, then a fully connected layer as a 3x3 conv ("dense"):
     * conv4 sees 33 px; dense the whole 48 px crop (r 49, as for R-Net).
     *
     * @param height the input's height
     * @param width the input's width
     * @return dense
     */
    public static ReceptiveField onet(int height, int width) {
        return ReceptiveField.of(height, width).conv("conv1", 3, 1, 0).maxPool("pool1", ceilPool(3, 2))
                .conv("conv2", 3, 1, 0).maxPool("pool2", ceilPool(3, 2)).conv("conv3", 3, 1, 0).maxPool("pool3", ceilPool(2, 2))
                .conv("conv4", 2, 1, 0).conv("dense", 3, 1, 0);
    }

    private static Pool2dParams ceilPool(int kernel, int stride) {
        return Pool2dParams.of(kernel).withStride(stride).withCeilMode(true);
    }
}
