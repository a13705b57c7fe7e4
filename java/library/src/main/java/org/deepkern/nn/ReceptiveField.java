package org.deepkern.nn;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.deepkern.DeepKernException;
import org.deepkern.ops.Conv2dParams;
import org.deepkern.ops.Pool2dParams;

/**
 * Receptive-field arithmetic, so that a feature can be mapped back to the input pixels it is
 * computed from (which region a detector's anchor really sees, whether a stack sees a whole
 * object, whether two branches may be summed) without running anything.
 *
 * <p>A value is the output of one layer, built up from {@link #of(int, int) the input}; each
 * method returns a new value and leaves this one as it was, so a branch is simply the same value
 * extended twice, and {@link #merge} joins branches again (a residual add, an FPN top-down add, a
 * concat). Per axis each value has an {@link Axis}: its output size n, receptive field r, jump j
 * (effective stride, in input pixels) and effective padding P, from the recurrences of Araujo et
 * al., "Computing Receptive Fields of Convolutional Neural Networks" (Distill, 2019), with the
 * dilated span k' = d (k - 1) + 1:
 * <pre>
 *   j_out = j_in s        r_out = r_in + (k' - 1) j_in        P_out = P_in + p_before j_in
 *   n_out = floor((n_in + p_before + p_after - k') / s) + 1   (pools in ceil mode: torch's ceil rule)
 * </pre>
 * Output i then reads input pixels {@code [i j - P, i j - P + r - 1]} (partly padding at the
 * borders), centred at {@code start + i j} with {@code start = (r - 1) / 2 - P}. P is kept rather
 * than start because it is a whole number where start may be a half.
 *
 * <pre>{@code
 * ReceptiveField x = ReceptiveField.of(224, 224).conv("conv1", 7, 2, 3).maxPool("pool1", 3, 2, 1);
 * ReceptiveField block = x.conv("a", 1, 1, 0).conv("b", 3, 1, 1).conv("c", 1, 1, 0).merge("add", x);
 * System.out.print(block.table());
 * }</pre>
 * Bad arguments, a stack the input is too small for, and a merge of misaligned branches raise
 * {@link DeepKernException} (INVALID_ARGUMENT) naming the method, the argument and the layers.
 */
public final class ReceptiveField {
    /**
     * One spatial axis of a layer's output.
     *
     * @param size the output's extent (rows or columns)
     * @param rf the receptive field r, in input pixels
     * @param jump the effective stride j: input pixels between neighbouring outputs
     * @param padding the effective padding P: how far output 0's field starts before pixel 0
     */
    public record Axis(long size, long rf, long jump, long padding) {
        /** @return the centre of output 0's field in input coordinates, (r - 1) / 2 - P */
        public double start() {
            return (rf - 1) / 2.0 - padding;
        }

        /**
         * @param index an output position
         * @return the first input pixel of its field (negative in the padding)
         */
        public long first(long index) {
            return index * jump - padding;
        }

        /**
         * @param index an output position
         * @return the last input pixel of its field (past the input in the padding)
         */
        public long last(long index) {
            return first(index) + rf - 1;
        }
    }

    /** A kernel window along one axis: the size, stride, padding before and after, dilation. */
    private record Window(int kernel, int stride, int before, int after, int dilation) {
        int span() {
            return dilation * (kernel - 1) + 1;
        }
    }

    private static final AtomicLong ORDER = new AtomicLong();

    private final String name, op;
    private final Window windowH, windowW;  // conv and pool rows; null for the others
    private final int factor;               // upsample rows; 0 for the others
    private final Axis h, w;
    private final List<ReceptiveField> inputs;
    private final ReceptiveField root;      // the input this grew from: only its branches merge
    private final long order = ORDER.getAndIncrement();

    private ReceptiveField(String name, String op, Window windowH, Window windowW, int factor, Axis h, Axis w,
                           List<ReceptiveField> inputs) {
        this.name = name;
        this.op = op;
        this.windowH = windowH;
        this.windowW = windowW;
        this.factor = factor;
        this.h = h;
        this.w = w;
        this.inputs = inputs;
        this.root = inputs.isEmpty() ? this : inputs.get(0).root;
    }

    /**
     * The input image: each pixel sees itself (r 1, j 1, P 0).
     *
     * @param height its height, &gt;= 1
     * @param width its width, &gt;= 1
     * @return the input, named "input"
     */
    public static ReceptiveField of(int height, int width) {
        if (height < 1) throw DeepKernException.invalidArgument("ReceptiveField.of", "height", "expected >= 1, got " + height);
        if (width < 1) throw DeepKernException.invalidArgument("ReceptiveField.of", "width", "expected >= 1, got " + width);
        return new ReceptiveField("input", "input", null, null, 0, new Axis(height, 1, 1, 0), new Axis(width, 1, 1, 0), List.of());
    }

    /**
     * A square convolution (torch's {@code Conv2d(kernel_size=k, stride=s, padding=p)}).
     *
     * @param name the layer's name in the table
     * @param kernel k, &gt;= 1
     * @param stride s, &gt;= 1
     * @param padding p on every side, &gt;= 0
     * @return the convolution's output
     */
    public ReceptiveField conv(String name, int kernel, int stride, int padding) {
        return conv(name, kernel, stride, padding, 1);
    }

    /**
     * A square dilated convolution.
     *
     * @param name the layer's name in the table
     * @param kernel k, &gt;= 1
     * @param stride s, &gt;= 1
     * @param padding p on every side, &gt;= 0
     * @param dilation d, &gt;= 1: the kernel spans d (k - 1) + 1 pixels
     * @return the convolution's output
     */
    public ReceptiveField conv(String name, int kernel, int stride, int padding, int dilation) {
        Window win = window("ReceptiveField.conv", kernel, stride, padding, padding, dilation);
        return windowed("ReceptiveField.conv", name, "conv", win, win, false);
    }

    /**
     * A convolution as {@link org.deepkern.ops.F#conv2d} runs it: stride, the four paddings and
     * dilation from params (groups, layout and activation change no field).
     *
     * @param name the layer's name in the table
     * @param kernelH the kernel's height, &gt;= 1
     * @param kernelW the kernel's width, &gt;= 1
     * @param params the hyper-parameters
     * @return the convolution's output
     */
    public ReceptiveField conv(String name, int kernelH, int kernelW, Conv2dParams params) {
        String op = "ReceptiveField.conv";
        if (params == null) throw DeepKernException.invalidArgument(op, "params", "expected parameters, got null");
        return windowed(op, name, "conv",
                window(op, kernelH, params.strideH(), params.padTop(), params.padBottom(), params.dilationH()),
                window(op, kernelW, params.strideW(), params.padLeft(), params.padRight(), params.dilationW()), false);
    }

    /**
     * A convolution module: its kernel (read from the weight's shape) and its {@link Conv2dParams}.
     *
     * @param name the layer's name in the table
     * @param module the module
     * @return the convolution's output
     */
    public ReceptiveField conv(String name, Conv2d module) {
        if (module == null) throw DeepKernException.invalidArgument("ReceptiveField.conv", "module", "expected a Conv2d, got null");
        int[] k = module.kernel();
        return conv(name, k[0], k[1], module.params());
    }

    /**
     * A square max pooling in floor mode (torch's {@code MaxPool2d(k, s, p)}).
     *
     * @param name the layer's name in the table
     * @param kernel k, &gt;= 1
     * @param stride s, &gt;= 1
     * @param padding p on every side, in [0, k / 2]
     * @return the pooling's output
     */
    public ReceptiveField maxPool(String name, int kernel, int stride, int padding) {
        return maxPool(name, Pool2dParams.of(kernel).withStride(stride).withPadding(padding));
    }

    /**
     * A max pooling as {@link org.deepkern.ops.F#maxPool2d} runs it, ceil mode included.
     *
     * @param name the layer's name in the table
     * @param params the window
     * @return the pooling's output
     */
    public ReceptiveField maxPool(String name, Pool2dParams params) {
        return pool("ReceptiveField.maxPool", name, "maxpool", params);
    }

    /**
     * An average pooling as {@link org.deepkern.ops.F#avgPool2d} runs it (no dilation).
     *
     * @param name the layer's name in the table
     * @param params the window
     * @return the pooling's output
     */
    public ReceptiveField avgPool(String name, Pool2dParams params) {
        if (params != null && (params.dilationH() != 1 || params.dilationW() != 1))
            throw DeepKernException.invalidArgument("ReceptiveField.avgPool", "dilation", "average pooling has none, got ("
                    + params.dilationH() + ", " + params.dilationW() + ")");
        return pool("ReceptiveField.avgPool", name, "avgpool", params);
    }

    /**
     * A layer where each output reads only its own position: an activation, a norm over channels
     * (batch norm), dropout. Changes nothing but gives the table a row.
     *
     * @param name the layer's name in the table
     * @return the layer's output
     */
    public ReceptiveField pointwise(String name) {
        return new ReceptiveField(checkName("ReceptiveField.pointwise", name), "pointwise", null, null, 0, h, w, List.of(this));
    }

    /**
     * Nearest-neighbour upsampling by an integer factor f: outputs f i ... f i + f - 1 copy input
     * i, so each has input i's field (r unchanged) and the jump becomes j / f. The row keeps
     * output 0's field (P unchanged), which is exact for the outputs f i and places the others
     * evenly between them, as FPN's top-down add takes them; the true field of output f i + m
     * is that of f i. The factor must divide the jump: finer than the input, the recurrences no
     * longer hold in whole pixels.
     *
     * @param name the layer's name in the table
     * @param factor f, &gt;= 1, dividing the jump of both axes
     * @return the upsampled output
     */
    public ReceptiveField upsample(String name, int factor) {
        String op = "ReceptiveField.upsample";
        checkName(op, name);
        if (factor < 1) throw DeepKernException.invalidArgument(op, "factor", "expected >= 1, got " + factor);
        for (Axis a : new Axis[] {h, w})
            if (a.jump % factor != 0) throw DeepKernException.invalidArgument(op, "factor", "'" + name + "' upsamples '"
                    + this.name + "' (jump " + a.jump + ") by " + factor + ": expected a divisor of the jump (a field finer than a pixel)");
        return new ReceptiveField(name, "upsample", null, null, factor, up(h, factor), up(w, factor), List.of(this));
    }

    private static Axis up(Axis a, int factor) {
        return new Axis(a.size * factor, a.rf, a.jump / factor, a.padding);
    }

    /**
     * Joins branches of the same input element by element (a residual or FPN add, a concat over
     * channels): the output sees what any branch sees, so its field is the largest branch's.
     * The branches must be aligned: the same output size, the same jump and the same centre
     * (start) on both axes, else output i of one branch would be added to a different place of
     * the other.
     *
     * @param name the layer's name in the table
     * @param others the other branches (this is the first)
     * @return the merged output
     */
    public ReceptiveField merge(String name, ReceptiveField... others) {
        String op = "ReceptiveField.merge";
        checkName(op, name);
        if (others == null || others.length == 0)
            throw DeepKernException.invalidArgument(op, "others", "'" + name + "' expected at least one other branch to merge with");
        List<ReceptiveField> all = new ArrayList<>(List.of(this));
        for (ReceptiveField o : others) {
            if (o == null) throw DeepKernException.invalidArgument(op, "others", "'" + name + "' got a null branch");
            if (o.root != root) throw DeepKernException.invalidArgument(op, "others", "'" + name + "': branch '" + o.name
                    + "' grew from another input than '" + this.name + "'");
            aligned(op, name, this, o, "H", h, o.h);
            aligned(op, name, this, o, "W", w, o.w);
            all.add(o);
        }
        ReceptiveField widestH = all.stream().max(Comparator.comparingLong(b -> b.h.rf)).orElseThrow();
        ReceptiveField widestW = all.stream().max(Comparator.comparingLong(b -> b.w.rf)).orElseThrow();
        return new ReceptiveField(name, "merge", null, null, 0, widestH.h, widestW.w, List.copyOf(all));
    }

    private static void aligned(String op, String name, ReceptiveField a, ReceptiveField b, String axis, Axis x, Axis y) {
        String what = x.size != y.size ? "output size " + x.size + " vs " + y.size
                : x.jump != y.jump ? "jump (effective stride) " + x.jump + " vs " + y.jump
                : x.start() != y.start() ? "start (centre of output 0) " + number(x.start()) + " vs " + number(y.start()) : null;
        if (what != null) throw DeepKernException.invalidArgument(op, "others", "'" + name + "' merges misaligned branches '"
                + a.name + "' and '" + b.name + "': along " + axis + " they disagree on the " + what);
    }

    /**
     * A module's layers: a {@link Conv2d} is a conv, an {@link Activation} pointwise, a
     * {@link Sequential} each child in turn (named name.child); other modules have no rule here
     * (a Linear or attention sees everything; a LayerNorm over NCHW's last dim mixes a row).
     *
     * @param name the layer's name in the table
     * @param module the module
     * @return its output
     */
    public ReceptiveField apply(String name, Module module) {
        if (module instanceof Sequential s) {
            ReceptiveField x = this;
            for (var child : s.namedChildren().entrySet()) x = x.apply(name + "." + child.getKey(), child.getValue());
            return x;
        }
        if (module instanceof Conv2d c) return conv(name, c);
        if (module instanceof Activation) return pointwise(name);
        throw DeepKernException.invalidArgument("ReceptiveField.apply", "module", "'" + name + "' is a "
                + (module == null ? "null" : module.getClass().getSimpleName())
                + ", which has no receptive-field rule (Conv2d, Activation and Sequential have)");
    }

    /**
     * A Sequential's receptive fields, its children named as torch names them ("0", "1", ...).
     *
     * @param sequential the stack
     * @param height the input's height
     * @param width the input's width
     * @return the last module's output
     */
    public static ReceptiveField from(Sequential sequential, int height, int width) {
        if (sequential == null) throw DeepKernException.invalidArgument("ReceptiveField.from", "sequential", "expected a Sequential, got null");
        ReceptiveField x = of(height, width);
        for (var child : sequential.namedChildren().entrySet()) x = x.apply(child.getKey(), child.getValue());
        return x;
    }

    private ReceptiveField pool(String op, String name, String kind, Pool2dParams p) {
        if (p == null) throw DeepKernException.invalidArgument(op, "params", "expected a window, got null");
        Window wh = window(op, p.kernelH(), p.strideH(), p.padH(), p.padH(), p.dilationH());
        Window ww = window(op, p.kernelW(), p.strideW(), p.padW(), p.padW(), p.dilationW());
        for (Window win : new Window[] {wh, ww})
            if (win.before > win.kernel / 2) throw DeepKernException.invalidArgument(op, "padding",
                    "expected at most half the kernel (" + win.kernel / 2 + "), got " + win.before);
        return windowed(op, name, kind + (p.ceilMode() ? " ceil" : ""), wh, ww, p.ceilMode());
    }

    private static Window window(String op, int kernel, int stride, int before, int after, int dilation) {
        if (kernel < 1) throw DeepKernException.invalidArgument(op, "kernel", "expected >= 1, got " + kernel);
        if (stride < 1) throw DeepKernException.invalidArgument(op, "stride", "expected >= 1, got " + stride);
        if (before < 0 || after < 0) throw DeepKernException.invalidArgument(op, "padding", "expected >= 0, got "
                + (before < 0 ? before : after));
        if (dilation < 1) throw DeepKernException.invalidArgument(op, "dilation", "expected >= 1, got " + dilation);
        return new Window(kernel, stride, before, after, dilation);
    }

    private ReceptiveField windowed(String op, String name, String kind, Window wh, Window ww, boolean ceil) {
        checkName(op, name);
        return new ReceptiveField(name, kind, wh, ww, 0, step(op, name, "rows", h, wh, ceil), step(op, name, "columns", w, ww, ceil),
                List.of(this));
    }

    /** One axis through one window: the recurrences, and torch's output size. */
    private Axis step(String op, String name, String unit, Axis a, Window win, boolean ceil) {
        long padded = a.size + win.before + win.after;
        if (padded < win.span()) throw DeepKernException.invalidArgument(op, "kernel", "'" + name + "' spans " + win.span()
                + " " + unit + " but '" + this.name + "' leaves " + padded + " (with padding): the input, "
                + root.h.size + "x" + root.w.size + ", is too small for the stack");
        long size = ceil ? Math.floorDiv(padded - win.span() + win.stride - 1, win.stride) + 1 : (padded - win.span()) / win.stride + 1;
        if (ceil && (size - 1) * win.stride >= a.size + win.before) size--;  // torch: the last window starts inside the input
        return new Axis(size, a.rf + (long) (win.span() - 1) * a.jump, a.jump * win.stride, a.padding + (long) win.before * a.jump);
    }

    private static String checkName(String op, String name) {
        if (name == null || name.isBlank()) throw DeepKernException.invalidArgument(op, "name", "expected a layer name, got '" + name + "'");
        return name;
    }

    /** @return the layer's name */
    public String name() {
        return name;
    }

    /** @return what the layer is: input, conv, maxpool, maxpool ceil, avgpool, pointwise, upsample or merge */
    public String op() {
        return op;
    }

    /** @return the vertical axis */
    public Axis h() {
        return h;
    }

    /** @return the horizontal axis */
    public Axis w() {
        return w;
    }

    /** @return this layer and every layer it was computed from, in the order they were built, the input first */
    public List<ReceptiveField> layers() {
        return layers(List.of(this));
    }

    /**
     * @param name a layer's name
     * @return the last layer of that name among {@link #layers()}
     */
    public ReceptiveField layer(String name) {
        List<ReceptiveField> all = layers();
        for (int i = all.size() - 1; i >= 0; i--) if (all.get(i).name.equals(name)) return all.get(i);
        throw DeepKernException.invalidArgument("ReceptiveField.layer", "name", "no layer '" + name + "' leads to '" + this.name + "'");
    }

    private static List<ReceptiveField> layers(List<ReceptiveField> outputs) {
        Set<ReceptiveField> seen = new LinkedHashSet<>();
        List<ReceptiveField> todo = new ArrayList<>(outputs);
        while (!todo.isEmpty()) {
            ReceptiveField x = todo.remove(todo.size() - 1);
            if (seen.add(x)) todo.addAll(x.inputs);
        }
        List<ReceptiveField> all = new ArrayList<>(seen);
        all.sort(Comparator.comparingLong(x -> x.order));
        return all;
    }

    /** @return {@link #table()} */
    @Override
    public String toString() {
        return table();
    }

    /** @return one row per layer of {@link #layers()}, as {@link #table(List)} */
    public String table() {
        return table(List.of(this));
    }

    /**
     * The layers leading to several outputs (an FPN's levels), one row each in the order built:
     * name, op, kernel, stride, padding, dilation, output size, r, jump and start; a value that
     * differs between the axes is shown as H x W, a padding that differs before and after as
     * before,after.
     *
     * @param outputs the outputs
     * @return the table, each line ending in a newline
     */
    public static String table(List<ReceptiveField> outputs) {
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"layer", "op", "kernel", "stride", "padding", "dilation", "output", "rf", "jump", "start"});
        for (ReceptiveField x : layers(outputs)) rows.add(x.row());
        int[] width = new int[rows.get(0).length];
        for (String[] r : rows) for (int c = 0; c < r.length; c++) width[c] = Math.max(width[c], r[c].length());
        StringBuilder sb = new StringBuilder();
        for (String[] r : rows) {
            StringBuilder line = new StringBuilder();
            for (int c = 0; c < r.length; c++) line.append(String.format(c < 2 ? "%-" + width[c] + "s  " : "%" + width[c] + "s  ", r[c]));
            sb.append(line.toString().stripTrailing()).append('\n');
        }
        return sb.toString();
    }

    private String[] row() {
        String kernel = "-", stride = "-", padding = "-", dilation = "-";
        if (windowH != null) {
            kernel = pair(windowH.kernel + "", windowW.kernel + "");
            stride = pair(windowH.stride + "", windowW.stride + "");
            padding = pair(pad(windowH), pad(windowW));
            dilation = pair(windowH.dilation + "", windowW.dilation + "");
        } else if (factor != 0) {
            stride = "1/" + factor;
        }
        return new String[] {name, op, kernel, stride, padding, dilation, h.size + "x" + w.size, pair(h.rf + "", w.rf + ""),
                pair(h.jump + "", w.jump + ""), pair(number(h.start()), number(w.start()))};
    }

    private static String pad(Window win) {
        return win.before == win.after ? win.before + "" : win.before + "," + win.after;
    }

    private static String pair(String a, String b) {
        return a.equals(b) ? a : a + "x" + b;
    }

    private static String number(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
    }
}
