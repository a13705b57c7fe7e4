package org.deepkern.conv;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.deepkern.conv.ConvReference.Geom;
import org.deepkern.conv.ConvReference.TGeom;
import org.junit.jupiter.api.Test;

/**
 * The reference's gradients against central finite differences of the reference's own forward
 * (L = sum(gy * conv(x, w) + b)), and the transposed conv against the data gradient it must equal:
 * checks the checker, independently of the library.
 */
class ConvReferenceTest {
    static double loss(Geom g, double[] x, double[] w, double[] b, double[] gy) {
        double[] y = ConvReference.forward(g, x, w, b);
        double s = 0;
        for (int i = 0; i < y.length; i++) s += y[i] * gy[i];
        return s;
    }

    @Test
    void gradientsMatchFiniteDifferences() {
        for (Geom g : ConvTest.geoms().subList(0, 8)) {
            Random rnd = new Random(g.hashCode());
            double[] x = ConvTest.randn(rnd, g.xSize()), w = ConvTest.randn(rnd, g.wSize()), b = ConvTest.randn(rnd, g.k()),
                    gy = ConvTest.randn(rnd, g.ySize());
            double[] dx = ConvReference.backwardData(g, gy, w), dw = ConvReference.backwardWeight(g, x, gy),
                    db = ConvReference.backwardBias(g, gy);
            double eps = 1e-3;
            for (int i = 0; i < x.length; i += 1 + x.length / 40) {
                double keep = x[i];
                x[i] = keep + eps;
                double up = loss(g, x, w, b, gy);
                x[i] = keep - eps;
                double down = loss(g, x, w, b, gy);
                x[i] = keep;
                assertEquals((up - down) / (2 * eps), dx[i], 1e-6 * (1 + Math.abs(dx[i])), "dx " + i + " " + g);
            }
            for (int i = 0; i < w.length; i += 1 + w.length / 40) {
                double keep = w[i];
                w[i] = keep + eps;
                double up = loss(g, x, w, b, gy);
                w[i] = keep - eps;
                double down = loss(g, x, w, b, gy);
                w[i] = keep;
                assertEquals((up - down) / (2 * eps), dw[i], 1e-6 * (1 + Math.abs(dw[i])), "dw " + i + " " + g);
            }
            for (int i = 0; i < b.length; i++) {
                double keep = b[i];
                b[i] = keep + eps;
                double up = loss(g, x, w, b, gy);
                b[i] = keep - eps;
                double down = loss(g, x, w, b, gy);
                b[i] = keep;
                assertEquals((up - down) / (2 * eps), db[i], 1e-6 * (1 + Math.abs(db[i])), "db " + i + " " + g);
            }
        }
    }

    /** conv_transpose2d(x, w) is the data gradient of conv2d(., w) at grad_out = x, when output padding is 0. */
    @Test
    void transposeIsTheDataGradient() {
        for (TGeom t : ConvTest.tgeoms()) {
            if (t.oph() != 0 || t.opw() != 0) continue;
            Geom g = new Geom(t.n(), t.cout(), t.ho(), t.wo(), t.cin(), t.r(), t.s(), t.sh(), t.sw(), t.ph(), t.ph(), t.pw(),
                    t.pw(), t.dh(), t.dw(), t.groups());
            assertEquals(t.h(), g.p(), t.toString());
            assertEquals(t.w(), g.q(), t.toString());
            Random rnd = new Random(t.hashCode());
            double[] x = ConvTest.randn(rnd, t.n() * t.cin() * t.h() * t.w()), w = ConvTest.randn(rnd, g.wSize());
            double[] a = ConvReference.transpose(t, x, w, null), b = ConvReference.backwardData(g, x, w);
            for (int i = 0; i < a.length; i++) assertEquals(b[i], a[i], 1e-12, t + " at " + i);
        }
    }
}
