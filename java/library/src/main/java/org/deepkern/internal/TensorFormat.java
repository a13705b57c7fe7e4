package org.deepkern.internal;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Tensor;

/**
 * A tensor's values as torch prints them (torch/_tensor_str.py under the default print options:
 * precision 4, threshold 1000, edgeitems 3, linewidth 80): {@code tensor([[1.0000, 2.5000], ...])},
 * the device unless cpu and the dtype unless f32 or i64 after it. Past 1000 elements each dim longer
 * than 6 shows its first and last 3, around "...". Not part of the public API.
 */
public final class TensorFormat {
    private TensorFormat() {}

    private static final int PRECISION = 4, THRESHOLD = 1000, EDGE = 3, LINEWIDTH = 80;
    private static final String PREFIX = "tensor(";

    /** The text of an open tensor; reads its values (only the shown ones when summarized). */
    public static String format(Tensor t) {
        int indent = PREFIX.length();
        List<String> suffixes = new ArrayList<>();
        if (t.device().type() != Device.Type.CPU) suffixes.add("device='" + t.device() + "'");
        String body;
        if (t.numel() == 0) {
            // no values to tell an integer tensor by: torch names every dtype but the default
            if (t.ndim() != 1) suffixes.add("size=" + tuple(t.shape()));
            if (t.dtype() != DType.F32) suffixes.add("dtype=" + torchName(t.dtype()));
            body = "[]";
        } else {
            if (t.dtype() != DType.F32 && t.dtype() != DType.I64) suffixes.add("dtype=" + torchName(t.dtype()));
            body = new Values(t).text(indent);
        }
        return withSuffixes(PREFIX + body, suffixes, indent);
    }

    /** torch's _add_suffixes: each suffix after ", ", or on a new line where it would pass the line width. */
    private static String withSuffixes(String text, List<String> suffixes, int indent) {
        StringBuilder out = new StringBuilder(text);
        int lastLine = text.length() - text.lastIndexOf('\n') + 1;  // torch's count, one more than the line on line 1
        for (String suffix : suffixes) {
            if (lastLine + suffix.length() + 2 > LINEWIDTH) {
                out.append(",\n").append(" ".repeat(indent)).append(suffix);
                lastLine = indent + suffix.length();
            } else {
                out.append(", ").append(suffix);
                lastLine += suffix.length() + 2;
            }
        }
        return out.append(')').toString();
    }

    private static String tuple(long[] shape) {
        String inner = Arrays.toString(shape);
        return "(" + inner.substring(1, inner.length() - 1) + (shape.length == 1 ? ",)" : ")");
    }

    private static String torchName(DType dtype) {
        return "torch." + switch (dtype) {
            case F32 -> "float32";
            case F16 -> "float16";
            case BF16 -> "bfloat16";
            case I32 -> "int32";
            case I64 -> "int64";
        };
    }

    /** The values shown (all, or each long dim's edges when summarized) and their common format. */
    private static final class Values {
        final long[] shape;  // of the values shown
        final boolean[] cut;  // whether a dim shows only its edges
        final boolean floating;
        final double[] reals;
        final long[] integers;
        boolean intMode = true, sci;
        int width = 1;

        Values(Tensor t) {
            floating = t.dtype().isFloating();
            cut = new boolean[t.ndim()];
            boolean summarize = t.numel() > THRESHOLD;
            List<Tensor> made = new ArrayList<>();
            try {
                Tensor shown = t;
                for (int d = 0; d < t.ndim(); d++) {
                    long n = t.shape(d);
                    cut[d] = summarize && n > 2 * EDGE;
                    if (!cut[d]) continue;
                    Tensor head = shown.narrow(d, 0, EDGE), tail = shown.narrow(d, n - EDGE, EDGE);
                    made.add(head);
                    made.add(tail);
                    shown = Tensor.cat(List.of(head, tail), d);
                    made.add(shown);
                }
                shape = shown.shape();
                if (floating) {
                    float[] f = shown.toFloatArray();
                    reals = new double[f.length];
                    for (int i = 0; i < f.length; i++) reals[i] = f[i];
                    integers = null;
                } else {
                    integers = shown.toLongArray();
                    reals = null;
                }
            } finally {
                made.forEach(Tensor::close);
            }
            if (floating) measureReals();
            else for (long v : integers) width = Math.max(width, Long.toString(v).length());
        }

        /** torch's _Formatter: the mode and width from the nonzero finite values shown. */
        private void measureReals() {
            double min = Double.POSITIVE_INFINITY, max = 0;
            boolean any = false;
            for (double v : reals) {
                if (v == 0 || !Double.isFinite(v)) continue;
                any = true;
                min = Math.min(min, Math.abs(v));
                max = Math.max(max, Math.abs(v));
                intMode &= v == Math.ceil(v);
            }
            if (!any) return;
            sci = max / min > 1000.0 || max > 1.0e8 || !intMode && min < 1.0e-4;
            for (double v : reals) {
                if (v == 0 || !Double.isFinite(v)) continue;
                int w = sci ? scientific(v).length() : intMode ? fixed(v, 0).length() + 1 : fixed(v, PRECISION).length();
                width = Math.max(width, w);
            }
        }

        String text(int indent) {
            return shape.length == 0 ? element(0) : block(0, 0, indent);
        }

        /** Dim d of the values from flat index offset, as nested brackets (torch's _tensor_str_with_formatter). */
        private String block(int d, int offset, int indent) {
            int n = (int) shape[d], stride = 1;
            for (int k = d + 1; k < shape.length; k++) stride *= (int) shape[k];
            List<String> items = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                if (cut[d] && i == EDGE) items.add(d == shape.length - 1 ? " ..." : "...");
                items.add(d == shape.length - 1 ? element(offset + i) : block(d + 1, offset + i * stride, indent + 1));
            }
            if (d < shape.length - 1)
                return "[" + String.join("," + "\n".repeat(shape.length - 1 - d) + " ".repeat(indent + 1), items) + "]";
            // a row wraps at the line width, the same number of elements on each line
            int perLine = Math.max(1, (LINEWIDTH - indent) / (width + 2));
            List<String> lines = new ArrayList<>();
            for (int i = 0; i < items.size(); i += perLine)
                lines.add(String.join(", ", items.subList(i, Math.min(items.size(), i + perLine))));
            return "[" + String.join(",\n" + " ".repeat(indent + 1), lines) + "]";
        }

        /** One value, right-aligned to the common width. */
        private String element(int i) {
            String s;
            if (!floating) s = Long.toString(integers[i]);
            else if (sci) s = scientific(reals[i]);
            else if (intMode) s = fixed(reals[i], 0) + (Double.isFinite(reals[i]) ? "." : "");
            else s = fixed(reals[i], PRECISION);
            return " ".repeat(Math.max(0, width - s.length())) + s;
        }
    }

    /** Python's "{:.Nf}": the exact binary value rounded half-even, the sign of -0 kept. */
    private static String fixed(double v, int digits) {
        if (!Double.isFinite(v)) return python(v);
        String s = new BigDecimal(v).setScale(digits, RoundingMode.HALF_EVEN).toPlainString();
        return negative(v) && !s.startsWith("-") ? "-" + s : s;
    }

    /** Python's "{:.4e}": 5 significant digits rounded half-even, an exponent of at least 2 digits. */
    private static String scientific(double v) {
        if (!Double.isFinite(v)) return python(v);
        String sign = negative(v) ? "-" : "";
        if (v == 0) return sign + "0." + "0".repeat(PRECISION) + "e+00";
        BigDecimal r = new BigDecimal(Math.abs(v)).round(new MathContext(PRECISION + 1, RoundingMode.HALF_EVEN));
        int exp = r.precision() - r.scale() - 1;
        String digits = r.unscaledValue().toString();
        digits += "0".repeat(PRECISION + 1 - digits.length());
        return sign + digits.charAt(0) + "." + digits.substring(1) + "e" + (exp < 0 ? "-" : "+")
                + (Math.abs(exp) < 10 ? "0" : "") + Math.abs(exp);
    }

    private static boolean negative(double v) {
        return Math.copySign(1.0, v) < 0;
    }

    /** inf, -inf and nan as Python writes them. */
    private static String python(double v) {
        return Double.isNaN(v) ? "nan" : v > 0 ? "inf" : "-inf";
    }
}
