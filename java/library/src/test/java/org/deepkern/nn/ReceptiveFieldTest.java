package org.deepkern.nn;

import static org.deepkern.testing.BadInput.assertRejects;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Random;
import org.deepkern.DType;
import org.deepkern.DeepKernException;
import org.deepkern.Device;
import org.deepkern.Generator;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.nn.ReceptiveField.Axis;
import org.deepkern.ops.Act;
import org.deepkern.ops.Conv2dParams;
import org.deepkern.ops.F;
import org.deepkern.ops.Pool2dParams;
import org.junit.jupiter.api.Test;

/**
 * ReceptiveField: the recurrences against a brute force that follows every tap, published
 * values, merges, and bad arguments.
 */
class ReceptiveFieldTest {
    // ---- the brute force: which input pixels each output reads, one axis at a time ----

    /** One layer along one axis; ceil applies to pools, upsample > 0 makes it a nearest upsampling. */
    record Layer(int kernel, int stride, int before, int after, int dilation, boolean pool, boolean ceil, int upsample) {}

    /**
     * Each output's input pixels, by enumerating windows and their taps: a window exists while it
     * fits the padded input, or (ceil mode) while the windows so far leave some of it uncovered
     * and it starts before the input ends; null where not even one window fits.
     */
    static List<BitSet> taps(List<BitSet> in, Layer l) {
        List<BitSet> out = new ArrayList<>();
        if (l.upsample > 0) {
            for (int o = 0; o < in.size() * l.upsample; o++) out.add(in.get(o / l.upsample));
            return out;
        }
        int n = in.size(), padded = n + l.before + l.after, span = l.dilation * (l.kernel - 1) + 1;
        if (span > padded) return null;
        for (int o = 0; ; o++) {
            boolean fits = o * l.stride + span <= padded;
            boolean ceilExtra = l.ceil && (o - 1) * l.stride + span < padded && o * l.stride < n + l.before;
            if (!fits && !ceilExtra) break;
            BitSet s = new BitSet();
            for (int t = 0; t < l.kernel; t++) {
                int q = o * l.stride + t * l.dilation - l.before;
                if (q >= 0 && q < n) s.or(in.get(q));
            }
            out.add(s);
        }
        return out;
    }

    static List<BitSet> pixels(int n) {
        List<BitSet> p = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            BitSet b = new BitSet();
            b.set(i);
            p.add(b);
        }
        return p;
    }

    /** Every output's taps inside its [first, last]; an output whose field is inside the input reaches both ends. */
    static int checkAxis(String what, List<BitSet> taps, Axis a, int n, boolean solid) {
        assertEquals(taps.size(), a.size(), what + ": output size");
        int interior = 0;
        for (int o = 0; o < taps.size(); o++) {
            BitSet s = taps.get(o);
            long first = a.first(o), last = a.last(o);
            assertTrue(s.isEmpty() || s.nextSetBit(0) >= first && s.length() - 1 <= last,
                    what + ": output " + o + " reads " + s + " outside [" + first + ", " + last + "]");
            if (first >= 0 && last < n) {
                interior++;
                assertEquals(first, s.nextSetBit(0), what + ": output " + o + " first pixel");
                assertEquals(last, s.length() - 1, what + ": output " + o + " last pixel");
                if (solid) assertEquals(a.rf(), s.cardinality(), what + ": output " + o + " without holes");
            }
        }
        return interior;
    }

    @Test
    void recurrencesMatchTheBruteForceOnRandomStacks() {
        Random rnd = new Random(7);
        int interior = 0, tooSmall = 0;
        for (int trial = 0; trial < 400; trial++) {
            int n = 4 + rnd.nextInt(60);
            List<Layer> layers = new ArrayList<>();
            for (int i = 1 + rnd.nextInt(4); i > 0; i--) {
                boolean pool = rnd.nextBoolean();
                int k = 1 + rnd.nextInt(pool ? 4 : 5);
                int before = rnd.nextInt(pool ? k / 2 + 1 : 3), after = pool ? before : rnd.nextInt(3);
                layers.add(new Layer(k, 1 + rnd.nextInt(3), before, after, 1 + rnd.nextInt(pool ? 2 : 3), pool,
                        pool && rnd.nextBoolean(), 0));
            }
            String what = "trial " + trial + ", n " + n + ", " + layers;
            List<BitSet> tapsH = pixels(n), tapsW = pixels(n);
            ReceptiveField x = ReceptiveField.of(n, n);
            boolean solid = true;
            for (int i = 0; i < layers.size() && tapsH != null; i++) {
                Layer l = layers.get(i);
                solid &= l.dilation == 1 && l.kernel >= l.stride;  // each tap's field meets the next one's
                tapsH = taps(tapsH, l);
                Layer mirrored = new Layer(l.kernel, l.stride, l.after, l.before, l.dilation, l.pool, l.ceil, 0);
                List<BitSet> w = taps(tapsW, mirrored);
                if (tapsH == null || w == null) {
                    ReceptiveField at = x;
                    String name = "l" + i;
                    assertRejects(what, "kernel", "is too small for the stack", () -> add(at, name, l));
                    tooSmall++;
                    tapsH = null;
                } else {
                    tapsW = w;
                    x = add(x, "l" + i, l);
                }
            }
            if (tapsH == null) continue;
            interior += checkAxis(what + " H", tapsH, x.h(), n, solid);
            interior += checkAxis(what + " W", tapsW, x.w(), n, solid);
        }
        assertTrue(interior > 1000, "outputs whose field lies inside the input: " + interior);
        assertTrue(tooSmall > 10, "stacks too deep for their input: " + tooSmall);
    }

    /** The layer through the builder; a conv's W axis has the paddings swapped, so the axes stay apart. */
    static ReceptiveField add(ReceptiveField x, String name, Layer l) {
        if (!l.pool) return x.conv(name, l.kernel, l.kernel, Conv2dParams.defaults().withStride(l.stride)
                .withPadding(l.before, l.after, l.after, l.before).withDilation(l.dilation));
        Pool2dParams p = Pool2dParams.of(l.kernel).withStride(l.stride).withPadding(l.before).withDilation(l.dilation)
                .withCeilMode(l.ceil);
        return l.dilation == 1 && l.kernel % 2 == 0 ? x.avgPool(name, p) : x.maxPool(name, p);
    }

    @Test
    void dilationWidensTheFieldWithHoles() {
        ReceptiveField x = ReceptiveField.of(64, 64).conv("a", 3, 1, 2, 2).conv("b", 3, 1, 2, 2).conv("c", 3, 2, 1, 1);
        assertEquals(5, x.layer("a").h().rf());   // k' = 2 (3 - 1) + 1
        assertEquals(9, x.layer("b").h().rf());   // + 2 * 2
        assertEquals(new Axis(32, 11, 2, 5), x.h());
        assertEquals(0.0, x.h().start());         // each conv pads (k' - 1) / 2: centred
        List<BitSet> b = taps(taps(pixels(64), new Layer(3, 1, 2, 2, 2, false, false, 0)), new Layer(3, 1, 2, 2, 2, false, false, 0));
        checkAxis("dilated", b, x.layer("b").h(), 64, false);
        assertEquals(5, b.get(30).cardinality(), "two 3-tap d2 convs read every other pixel of their 9: " + b.get(30));
        checkAxis("dilated then dense", taps(b, new Layer(3, 2, 1, 1, 1, false, false, 0)), x.h(), 64, true);
    }

    @Test
    void upsamplingGivesEachOutputItsSourcesField() {
        ReceptiveField x = ReceptiveField.of(32, 32).conv("down", 3, 4, 1).upsample("up", 2);
        assertEquals(new Axis(16, 3, 2, 1), x.h());
        List<BitSet> down = taps(pixels(32), new Layer(3, 4, 1, 1, 1, false, false, 0));
        List<BitSet> up = taps(down, new Layer(1, 1, 0, 0, 1, false, false, 2));
        Axis before = x.layer("down").h();
        for (int o = 0; o < up.size(); o++) {
            assertEquals(up.get(o), down.get(o / 2));
            if (o % 2 == 0) assertEquals(before.first(o / 2), x.h().first(o), "output " + o + ": exact at 2 i");
        }
        assertRejects("factor", "expected a divisor of the jump", () -> x.upsample("again", 4));
    }

    @Test
    void aMergeTakesTheWidestBranch() {
        ReceptiveField x = ReceptiveField.of(16, 16).conv("stem", 3, 1, 1);
        ReceptiveField deep = x.conv("a", 3, 1, 1).conv("b", 5, 1, 2);
        ReceptiveField sum = deep.merge("add", x);
        assertEquals(deep.h(), sum.h());
        assertEquals(sum, sum.layer("add"));
        assertEquals(List.of("input", "stem", "a", "b", "add"), sum.layers().stream().map(ReceptiveField::name).toList());
        List<BitSet> stem = taps(pixels(16), new Layer(3, 1, 1, 1, 1, false, false, 0));
        List<BitSet> a = taps(taps(stem, new Layer(3, 1, 1, 1, 1, false, false, 0)), new Layer(5, 1, 2, 2, 1, false, false, 0));
        List<BitSet> merged = new ArrayList<>();
        for (int o = 0; o < 16; o++) {
            BitSet s = (BitSet) a.get(o).clone();
            s.or(stem.get(o));
            merged.add(s);
        }
        assertTrue(checkAxis("merge", merged, sum.h(), 16, true) > 0);
    }

    @Test
    void misalignedMergesAreRefusedNamingTheBranches() {
        ReceptiveField x = ReceptiveField.of(8, 8);
        DeepKernException e = assertRejects("others", "jump (effective stride) 2 vs 1",
                () -> x.conv("strided", 1, 2, 0).merge("add", x.conv("wide", 5, 1, 0)));
        assertTrue(e.getMessage().contains("'add' merges misaligned branches 'strided' and 'wide'"), e.getMessage());
        assertRejects("others", "start (centre of output 0) 1 vs 0.5", () -> x.conv("centred", 3, 1, 0)
                .merge("add", x.conv("shifted", 3, 3, Conv2dParams.defaults().withPadding(1, 0, 1, 0)).conv("shifted2", 2, 1, 0)));
        assertRejects("others", "along H they disagree on the output size 8 vs 6",
                () -> x.conv("same", 3, 1, 1).merge("add", x.conv("valid", 3, 1, 0)));
        assertRejects("others", "grew from another input", () -> x.merge("add", ReceptiveField.of(8, 8)));
        assertRejects("others", "at least one other branch", () -> x.merge("add"));
        assertRejects("others", "'fpn.add3' merges misaligned branches 'fpn.inner3' and 'fpn.up4': along W they disagree"
                + " on the output size 167 vs 168", () -> ReceptiveFieldNet.fpn(800, 1333));
    }

    // ---- published values ----

    /** [name, r, jump, effective padding] rows of the receptive_field library's table (TF-Slim models, 224). */
    static void assertTable(ReceptiveField net, Object[][] rows) {
        for (Object[] r : rows) {
            Axis a = net.layer((String) r[0]).h();
            assertEquals(new Axis(a.size(), (int) r[1], (int) r[2], (int) r[3]), a, (String) r[0]);
            assertEquals(a, net.layer((String) r[0]).w());
        }
    }

    @Test
    void vgg16MatchesThePublishedTable() {
        ReceptiveField vgg = ReceptiveFieldNet.vgg16(224, 224);
        assertTable(vgg, new Object[][] {{"conv1_1", 3, 1, 1}, {"pool1", 6, 2, 2}, {"conv2_1", 10, 2, 4}, {"pool2", 16, 4, 6},
                {"conv3_1", 24, 4, 10}, {"conv3_2", 32, 4, 14}, {"pool3", 44, 8, 18}, {"conv4_1", 60, 8, 26},
                {"conv4_2", 76, 8, 34}, {"pool4", 100, 16, 42}, {"conv5_1", 132, 16, 58}, {"conv5_2", 164, 16, 74},
                {"pool5", 212, 32, 90}});
        assertEquals(196, vgg.layer("conv5_3").h().rf());
        assertEquals(16, vgg.layer("conv5_3").h().jump());
        assertEquals(7, vgg.h().size());
        assertEquals(15.5, vgg.h().start());
    }

    @Test
    void alexnetMatchesThePublishedTable() {
        ReceptiveField alex = ReceptiveField.of(224, 224).conv("conv1", 11, 4, 0).maxPool("pool1", 3, 2, 0)
                .conv("conv2", 5, 1, 2).maxPool("pool2", 3, 2, 0).conv("conv3", 3, 1, 1).conv("conv4", 3, 1, 1)
                .conv("conv5", 3, 1, 1).maxPool("pool5", 3, 2, 0);
        assertTable(alex, new Object[][] {{"conv1", 11, 4, 0}, {"pool1", 19, 8, 0}, {"conv2", 51, 8, 16}, {"conv3", 99, 16, 32},
                {"conv4", 131, 16, 48}, {"conv5", 163, 16, 64}, {"pool5", 195, 32, 64}});
    }

    /**
     * TF-Slim's resnet_v1_50, the network the Distill article and its library measure: the stride
     * on the last bottleneck of each block (so every 3x3 of a block widens at the finer jump), and
     * "SAME" padding, whose 3x3 / 2 max pooling pads (0, 1) at 224 and (1, 1) at 321 (pool1 as a
     * conv here: only its geometry counts). Published 483 px; torchvision's layout gives 427.
     */
    static ReceptiveField slimResnet50(int size) {
        int poolBefore = size == 224 ? 0 : 1;
        ReceptiveField x = ReceptiveField.of(size, size).conv("conv1", 7, 2, 3)
                .conv("pool1", 3, 3, Conv2dParams.defaults().withStride(2).withPadding(poolBefore, 1, poolBefore, 1));
        int[] units = {3, 4, 6, 3};
        for (int b = 0; b < 4; b++) {
            for (int u = 0; u < units[b]; u++) {
                String n = "block" + (b + 1) + "/unit_" + (u + 1);
                int stride = u == units[b] - 1 && b < 3 ? 2 : 1;
                ReceptiveField main = x.conv(n + "/conv1", 1, 1, 0).conv(n + "/conv2", 3, stride, 1).conv(n + "/conv3", 1, 1, 0);
                x = main.merge(u == units[b] - 1 ? "block" + (b + 1) : n, x.conv(n + "/shortcut", 1, stride, 0));
            }
        }
        return x;
    }

    @Test
    void slimResnet50MatchesThePublishedTable() {
        assertTable(slimResnet50(224), new Object[][] {{"block1", 35, 8, 15}, {"block2", 99, 16, 47}, {"block3", 291, 32, 143},
                {"block4", 483, 32, 239}});
        assertTable(slimResnet50(321), new Object[][] {{"block1", 35, 8, 17}, {"block2", 99, 16, 49}, {"block3", 291, 32, 145},
                {"block4", 483, 32, 241}});
    }

    @Test
    void torchvisionResnet50AndItsPyramid() {
        ReceptiveField r = ReceptiveFieldNet.resnet50(224, 224);
        // derived by hand (stride on each layer's first 3x3): 11 after maxpool, +8 x 3, +8 +16 x 3, +16 +32 x 5, +32 +64 x 2
        assertEquals(new Axis(7, 427, 32, 213), r.h());
        assertEquals(0.0, r.h().start(), "torchvision's paddings centre every field on output 0");
        assertEquals(35, r.layer("layer1.2").h().rf());
        assertEquals(91, r.layer("layer2.3").h().rf());
        assertEquals(267, r.layer("layer3.5").h().rf());
        List<ReceptiveField> p = ReceptiveFieldNet.fpn(224, 224);
        assertEquals(List.of("fpn.P2", "fpn.P3", "fpn.P4", "fpn.P5", "fpn.P6"), p.stream().map(ReceptiveField::name).toList());
        long[] sizes = {56, 28, 14, 7, 4}, jumps = {4, 8, 16, 32, 64};
        for (int l = 0; l < 5; l++) {
            assertEquals(sizes[l], p.get(l).h().size(), "P" + (l + 2));
            assertEquals(jumps[l], p.get(l).h().jump(), "P" + (l + 2));
        }
        // each level: C5's 427 through the top-down adds, plus its 3x3 output conv at its own jump; P6 subsamples P5
        assertArrayEquals(new long[] {427 + 8, 427 + 16, 427 + 32, 427 + 64, 427 + 64}, p.stream().mapToLong(x -> x.h().rf()).toArray());
        assertEquals(35, p.get(0).layer("fpn.inner2").h().rf());
        assertEquals(427, p.get(0).layer("fpn.add2").h().rf(), "the add keeps the widest branch, C5's");
    }

    @Test
    void mtcnnNetsSeeTheirWindows() {
        ReceptiveField pnet = ReceptiveFieldNet.pnet(12, 12);
        assertEquals(new Axis(1, 12, 2, 0), pnet.h());  // one 12 x 12 window
        assertEquals(new Axis(495, 12, 2, 0), ReceptiveFieldNet.pnet(1000, 1000).h());  // one every 2 pixels
        ReceptiveField rnet = ReceptiveFieldNet.rnet(24, 24);
        assertEquals(new Axis(3, 17, 4, 0), rnet.layer("conv3").h());
        assertEquals(1, rnet.h().size());
        assertEquals(0, rnet.h().first(0));
        assertTrue(rnet.h().last(0) >= 23, "the dense layer sees the whole 24 px crop");
        ReceptiveField onet = ReceptiveFieldNet.onet(48, 48);
        assertEquals(new Axis(3, 33, 8, 0), onet.layer("conv4").h());
        assertEquals(1, onet.h().size());
        assertTrue(onet.h().first(0) <= 0 && onet.h().last(0) >= 47, "the dense layer sees the whole 48 px crop");
    }

    @Test
    void everyNetHasItsName() {
        for (ReceptiveFieldNet n : ReceptiveFieldNet.values()) {
            assertEquals(n, ReceptiveFieldNet.named(n.cliName()));
            int s = n.defaultSize();
            assertFalse(n.outputs(s, s).isEmpty(), n.cliName());
        }
        assertRejects("name", "expected one of [vgg16, resnet50, fpn, pnet, rnet, onet]", () -> ReceptiveFieldNet.named("vgg19"));
    }

    // ---- modules, the table, bad arguments ----

    @Test
    void aSequentialOfModulesGivesTheSizesItsForwardGives() {
        Device d = Device.CPU;
        Generator g = new Generator(3);
        Conv2dParams strided = Conv2dParams.defaults().withStride(2, 1).withPadding(1, 0, 2, 2).withDilation(1, 2);
        try (Sequential seq = new Sequential(new Conv2d(3, 4, 3, 3, Conv2dParams.defaults(), true, DType.F32, d, g),
                new Activation(Act.relu()), new Sequential(new Conv2d(4, 4, 3, 5, strided, false, DType.F32, d, g)));
             Scope s = Scope.open()) {
            ReceptiveField rf = ReceptiveField.from(seq, 19, 23);
            assertEquals(List.of("input", "0", "1", "2.0"), rf.layers().stream().map(ReceptiveField::name).toList());
            Tensor y = seq.forward(Tensor.randn(new long[] {1, 3, 19, 23}, DType.F32, d, new Generator(4)));
            assertArrayEquals(new long[] {1, 4, rf.h().size(), rf.w().size()}, y.shape());
            assertEquals(new Axis(8, 3 + 2, 2, 1), rf.h());          // 3x3, then 3 rows / 2, padding 1 above
            assertEquals(new Axis(17, 3 + 8, 1, 2), rf.w());         // 3x3, then 5 columns dilated 2
        }
        try (Linear fc = new Linear(4, 4, true, DType.F32, d, g)) {
            assertRejects("module", "a Linear, which has no receptive-field rule", () -> ReceptiveField.of(4, 4).apply("fc", fc));
        }
    }

    @Test
    void ceilModePoolsGiveTheSizesTheOpGives() {
        try (Scope s = Scope.open()) {
            for (int n : new int[] {5, 6, 7, 22}) {
                for (Pool2dParams p : List.of(Pool2dParams.of(3).withStride(2).withCeilMode(true),
                        Pool2dParams.of(2).withStride(2).withPadding(1).withCeilMode(true), Pool2dParams.of(3).withStride(2).withPadding(1))) {
                    Tensor y = F.maxPool2d(Tensor.randn(new long[] {1, 1, n, n}, DType.F32, Device.CPU, new Generator(n)), p);
                    assertEquals(y.shape(2), ReceptiveField.of(n, n).maxPool("p", p).h().size(), n + " " + p);
                }
            }
        }
    }

    @Test
    void theTablePrintsOneRowPerLayer() {
        String t = ReceptiveFieldNet.vgg16(224, 224).table();
        List<String> lines = t.lines().toList();
        assertEquals(2 + 13 + 5, lines.size(), t);
        assertTrue(lines.get(0).matches("layer +op +kernel +stride +padding +dilation +output +rf +jump +start"), lines.get(0));
        assertTrue(lines.get(19).matches("pool5 +maxpool +2 +2 +0 +1 +7x7 +212 +32 +15\\.5"), lines.get(19));
        String up = ReceptiveField.of(8, 6).conv("c", 3, 5, Conv2dParams.defaults().withPadding(0, 1, 2, 2)).upsample("u", 1).table();
        assertTrue(up.contains("3x5") && up.contains("0,1x2") && up.contains("1/1"), up);
        assertEquals(t, ReceptiveFieldNet.vgg16(224, 224).toString());
    }

    @Test
    void badArgumentsAreNamed() {
        ReceptiveField x = ReceptiveField.of(32, 32);
        assertRejects("height", "expected >= 1, got 0", () -> ReceptiveField.of(0, 4));
        assertRejects("width", "expected >= 1, got -2", () -> ReceptiveField.of(4, -2));
        assertRejects("kernel", "expected >= 1, got 0", () -> x.conv("c", 0, 1, 0));
        assertRejects("stride", "expected >= 1, got 0", () -> x.conv("c", 3, 0, 1));
        assertRejects("padding", "expected >= 0, got -1", () -> x.conv("c", 3, 1, -1));
        assertRejects("dilation", "expected >= 1, got 0", () -> x.conv("c", 3, 1, 1, 0));
        assertRejects("stride", "expected >= 1, got 0", () -> x.maxPool("p", 2, 0, 0));
        assertRejects("padding", "expected at most half the kernel (1), got 2", () -> x.maxPool("p", 3, 2, 2));
        assertRejects("dilation", "average pooling has none", () -> x.avgPool("p", Pool2dParams.of(2).withDilation(2)));
        assertRejects("params", "got null", () -> x.maxPool("p", null));
        assertRejects("factor", "expected >= 1, got 0", () -> x.upsample("u", 0));
        assertRejects("name", "expected a layer name", () -> x.conv(" ", 3, 1, 1));
        assertRejects("name", "no layer 'conv9'", () -> x.layer("conv9"));
        DeepKernException e = assertRejects("kernel", "'pool5' spans 2 rows but 'conv5_3' leaves 1 (with padding): the input, "
                + "16x16, is too small for the stack", () -> ReceptiveFieldNet.vgg16(16, 16));
        assertTrue(e.getMessage().startsWith("ReceptiveField.maxPool: "), e.getMessage());
        assertThrows(DeepKernException.class, () -> ReceptiveFieldNet.rnet(20, 20));
    }
}
