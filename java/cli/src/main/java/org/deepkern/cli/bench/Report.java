package org.deepkern.cli.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The results as a console table, a Markdown table and JSON: one row per case. */
public final class Report {
    static final String[] HEADER = {"op", "shape", "dtype", "device", "median", "p10-p90", "GB/s", "GFLOP/s",
        "roofline", "peer", "peer median", "speed-up"};

    private Report() {}

    static List<String[]> rows(List<Result> results) {
        List<String[]> rows = new ArrayList<>();
        for (Result r : results) {
            BenchCase c = r.benchCase();
            String[] row = {c.op().name(), c.shapeLabel(), c.dtypeLabel(), r.device(), "", "", "", "", "", "", "", ""};
            if (!r.passed()) {
                row[4] = "FAIL";
                row[5] = r.failure();
            } else if (r.stats() == null) {
                row[4] = "PASS";
                row[5] = "(checked, not timed)";
            } else {
                Stats s = r.stats();
                row[4] = time(s.median());
                row[5] = time(s.p10()) + "-" + time(s.p90());
                row[6] = fmt("%.1f", r.gbPerSecond());
                row[7] = fmt("%.1f", r.gflopPerSecond());
                row[8] = fmt("%.0f%%", 100 * r.rooflineFraction()) + (r.ceilingError() ? " ceiling error" : "");
                Peer.PeerTime p = r.peer();
                row[9] = p == null ? "" : p.peer();
                row[10] = p == null ? "n/a" : p.stats() == null ? p.note() : time(p.stats().median());
                row[11] = Double.isNaN(r.speedup()) ? "" : fmt("%.2fx", r.speedup());
            }
            rows.add(row);
        }
        return rows;
    }

    /** Fixed-width columns for the terminal. */
    public static String text(List<Result> results) {
        List<String[]> rows = rows(results);
        int[] w = new int[HEADER.length];
        for (int i = 0; i < w.length; i++) w[i] = HEADER[i].length();
        for (String[] r : rows) for (int i = 0; i < w.length; i++) w[i] = Math.max(w[i], r[i].length());
        StringBuilder b = new StringBuilder();
        line(b, HEADER, w);
        for (String[] r : rows) line(b, r, w);
        return b.toString();
    }

    private static void line(StringBuilder b, String[] cells, int[] w) {
        for (int i = 0; i < cells.length; i++) b.append(String.format("%-" + w[i] + "s", cells[i])).append("  ");
        b.setLength(b.length() - 2);
        b.append('\n');
    }

    public static String markdown(String title, List<Result> results) {
        StringBuilder b = new StringBuilder(title).append("\n\n| ").append(String.join(" | ", HEADER)).append(" |\n|");
        b.append("---|".repeat(HEADER.length)).append('\n');
        for (String[] r : rows(results)) b.append("| ").append(String.join(" | ", r)).append(" |\n");
        return b.toString();
    }

    /** Ceilings and machine first, then one object per case; times in seconds. */
    public static String json(RunInfo info, List<Result> results) {
        StringBuilder b = new StringBuilder("{\n");
        b.append("  \"deepkern\": ").append(str(info.version())).append(",\n");
        b.append("  \"commit\": ").append(str(info.commit())).append(",\n");
        b.append("  \"date\": ").append(str(info.date())).append(",\n");
        b.append("  \"device\": ").append(str(info.device())).append(",\n");
        b.append("  \"device_name\": ").append(str(info.deviceName())).append(",\n");
        b.append("  \"threads\": ").append(info.threads()).append(",\n");
        b.append("  \"bandwidth_bytes_per_s\": ").append(num(info.roofline().bandwidth())).append(",\n");
        b.append("  \"fma_flop_per_s\": ").append(num(info.roofline().flops())).append(",\n");
        b.append("  \"ceilings_start\": [").append(num(info.start().bandwidth())).append(", ")
                .append(num(info.start().flops())).append("],\n");
        b.append("  \"ceilings_end\": [").append(num(info.end().bandwidth())).append(", ")
                .append(num(info.end().flops())).append("],\n");
        b.append("  \"ceilings_moved\": ").append(num(info.ceilingsMoved())).append(",\n");
        b.append("  \"cases\": [");
        for (int i = 0; i < results.size(); i++) {
            Result r = results.get(i);
            BenchCase c = r.benchCase();
            b.append(i == 0 ? "\n" : ",\n").append("    {\"id\": ").append(str(c.id()))
                    .append(", \"op\": ").append(str(c.op().name()))
                    .append(", \"dtype\": ").append(str(c.dtype().name().toLowerCase()))
                    .append(", \"out_dtype\": ").append(str(c.outputDtype().name().toLowerCase()))
                    .append(", \"shape\": ").append(java.util.Arrays.toString(c.shape()))
                    .append(", \"bytes\": ").append(num(c.bytes()))
                    .append(", \"flop\": ").append(num(c.flops()))
                    .append(", \"status\": ").append(str(r.passed() ? "PASS" : "FAIL"));
            if (!r.passed()) b.append(", \"failure\": ").append(str(r.failure()));
            if (r.passed() && r.stats() != null) {
                b.append(", \"median_s\": ").append(num(r.stats().median()))
                        .append(", \"p10_s\": ").append(num(r.stats().p10()))
                        .append(", \"p90_s\": ").append(num(r.stats().p90()))
                        .append(", \"samples\": ").append(r.stats().samples())
                        .append(", \"roofline_fraction\": ").append(num(r.rooflineFraction()));
                if (r.ceilingError()) b.append(", \"ceiling_error\": true");
                Peer.PeerTime p = r.peer();
                if (p != null) {
                    b.append(", \"peer\": ").append(str(p.peer()));
                    if (p.stats() != null) b.append(", \"peer_median_s\": ").append(num(p.stats().median()))
                            .append(", \"speedup\": ").append(num(r.speedup()));
                    else b.append(", \"peer_note\": ").append(str(p.note()));
                }
            }
            b.append('}');
        }
        return b.append("\n  ]\n}\n").toString();
    }

    /** A duration with a unit that keeps three significant digits readable. */
    static String time(double seconds) {
        if (seconds >= 1) return fmt("%.3g s", seconds);
        if (seconds >= 1e-3) return fmt("%.3g ms", seconds * 1e3);
        if (seconds >= 1e-6) return fmt("%.3g us", seconds * 1e6);
        return fmt("%.3g ns", seconds * 1e9);
    }

    private static String fmt(String f, Object... args) {
        return String.format(Locale.ROOT, f, args);
    }

    private static String num(double v) {
        return Double.isFinite(v) ? fmt("%.6g", v) : "null";
    }

    static String str(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char ch : s.toCharArray()) {
            switch (ch) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\t' -> b.append("\\t");
                default -> {
                    if (ch < 0x20) b.append(fmt("\\u%04x", (int) ch));
                    else b.append(ch);
                }
            }
        }
        return b.append('"').toString();
    }
}
