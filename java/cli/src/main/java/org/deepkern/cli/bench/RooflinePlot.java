package org.deepkern.cli.bench;

import java.awt.Color;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.XYStyler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * roofline.png: achieved GFLOP/s against arithmetic intensity, log-log, under the two ceilings;
 * one colour per op, a point per dtype and shape.
 */
public final class RooflinePlot {
    private RooflinePlot() {}

    public static void write(Path png, String title, Roofline roofline, List<Result> results) throws IOException {
        System.setProperty("java.awt.headless", "true");
        XYChart chart = new XYChartBuilder().width(1200).height(750).title(title)
                .xAxisTitle("arithmetic intensity (FLOP / byte moved)").yAxisTitle("GFLOP/s").build();
        XYStyler s = chart.getStyler();
        s.setXAxisLogarithmic(true);
        s.setYAxisLogarithmic(true);
        s.setLegendPosition(Styler.LegendPosition.OutsideE);
        s.setChartBackgroundColor(Color.WHITE);
        s.setMarkerSize(9);

        // a FLOP-free op (a nearest resize: pure data movement) has no place on log-log axes; the table has it
        List<Result> timed = results.stream().filter(r -> r.passed() && r.stats() != null && r.intensity() > 0).toList();
        double lo = Math.min(roofline.ridge(), timed.stream().mapToDouble(Result::intensity).min().orElse(1)) / 4;
        double hi = Math.max(roofline.ridge(), timed.stream().mapToDouble(Result::intensity).max().orElse(1)) * 4;
        ceiling(chart, String.format("copy %.0f GB/s", roofline.bandwidth() / 1e9),
                new double[] {lo, roofline.ridge()}, new double[] {roofline.attainable(lo) / 1e9, roofline.flops() / 1e9});
        ceiling(chart, String.format("FMA %.0f GFLOP/s", roofline.flops() / 1e9),
                new double[] {roofline.ridge(), hi}, new double[] {roofline.flops() / 1e9, roofline.flops() / 1e9});
        // one series per op (its dtypes and shapes together), so the legend stays readable
        Map<String, List<Result>> byOp = new LinkedHashMap<>();
        for (Result r : timed) byOp.computeIfAbsent(r.benchCase().op().name(), k -> new ArrayList<>()).add(r);
        for (Map.Entry<String, List<Result>> e : byOp.entrySet()) {
            XYSeries p = chart.addSeries(e.getKey(), e.getValue().stream().mapToDouble(Result::intensity).toArray(),
                    e.getValue().stream().mapToDouble(Result::gflopPerSecond).toArray());
            p.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
        }
        BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
    }

    private static void ceiling(XYChart chart, String name, double[] x, double[] y) {
        XYSeries s = chart.addSeries(name, x, y);
        s.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
        s.setMarker(SeriesMarkers.NONE);
        s.setLineColor(Color.DARK_GRAY);
    }
}
