package org.deepkern.diffusion;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The host tables against the definitions and values published with diffusers / Stable Diffusion. */
class DiffusionScheduleTest {
    @Test
    void linearAndScaledLinearFromTheDefinitions() {
        NoiseSchedule lin = NoiseSchedule.linear(1000, 1e-4, 0.02), sl = NoiseSchedule.scaledLinear(1000, 0.00085, 0.012);
        double ab = 1, abS = 1;
        for (int t = 0; t < 1000; t++) {
            double b = 1e-4 + (0.02 - 1e-4) * t / 999.0, r = Math.sqrt(0.00085) + (Math.sqrt(0.012) - Math.sqrt(0.00085)) * t / 999.0;
            ab *= 1 - b;
            abS *= 1 - r * r;
            assertEquals(b, lin.beta(t), 1e-15);
            assertEquals(ab, lin.alphaBar(t), 1e-12 * ab);
            assertEquals(abS, sl.alphaBar(t), 1e-12 * abS);
        }
        // published: DDPM's alphas_cumprod[-1] = 4.0358e-5; Stable Diffusion's 0.0047 and sigma_max 14.6146
        assertEquals(4.0358e-5, lin.alphaBar(999), 1e-8);
        assertEquals(0.0047, sl.alphaBar(999), 1e-4);
        assertEquals(14.6146, sl.sigma(999), 1e-4);
    }

    @Test
    void squaredCosineCappedAt0999() {
        NoiseSchedule c = NoiseSchedule.squaredCosCapV2(1000);
        double f0 = Math.pow(Math.cos(0.008 / 1.008 * Math.PI / 2), 2);
        for (int t : new int[] {0, 10, 500, 900, 990}) {  // before the cap, alpha_bar_t = f((t+1)/T) / f(0)
            double f = Math.pow(Math.cos(((t + 1) / 1000.0 + 0.008) / 1.008 * Math.PI / 2), 2);
            assertEquals(f / f0, c.alphaBar(t), 1e-10);
        }
        assertEquals(0.999, c.beta(999), 0);  // f(1) = 0: the cap
    }

    @Test
    void timestepSpacings() {
        NoiseSchedule s = NoiseSchedule.ddpm();
        assertArrayEquals(new double[] {999, 888, 777, 666, 555, 444, 333, 222, 111, 0}, s.timesteps(10, NoiseSchedule.Spacing.LINSPACE, 0, true));
        assertArrayEquals(new double[] {999, 899, 799, 699, 599, 499, 399, 299, 199, 99}, s.timesteps(10, NoiseSchedule.Spacing.TRAILING, 0, true));
        double[] sd = s.timesteps(50, NoiseSchedule.Spacing.LEADING, 1, true);  // Stable Diffusion's DDIM: 981, 961, ..., 1
        assertEquals(981, sd[0]);
        assertEquals(1, sd[49]);
        assertEquals(20, sd[0] - sd[1]);
        // np.round(np.linspace(0, 999, 3)) = [0, 500, 999] (499.5 rounds half to even)
        assertArrayEquals(new double[] {999, 500, 0}, s.timesteps(3, NoiseSchedule.Spacing.LINSPACE, 0, true));
        assertArrayEquals(new double[] {999, 499.5, 0}, s.timesteps(3, NoiseSchedule.Spacing.LINSPACE, 0, false));
    }

    @Test
    void eulerSigmasInterpolateAndEndAtZero() {
        NoiseSchedule s = NoiseSchedule.ddpm();
        EulerScheduler e = EulerScheduler.discrete(s);
        e.setTimesteps(3);
        double[] sig = e.sigmas();
        assertEquals(s.sigma(999), sig[0], 1e-12);
        assertEquals((s.sigma(499) + s.sigma(500)) / 2, sig[1], 1e-12);
        assertEquals(0, sig[3]);
        assertEquals(s.sigma(999), e.initNoiseSigma(), 1e-12);
    }

    @Test
    void flowSigmasAndShift() {
        assertEquals(3 * 0.5 / (1 + 2 * 0.5), NoiseSchedule.shift(0.5, 3), 1e-15);
        EulerScheduler f = EulerScheduler.flow(1000, 1);
        f.setTimesteps(4);
        assertArrayEquals(new double[] {1, 0.667, 0.334, 0.001, 0}, f.sigmas(), 1e-12);
        assertArrayEquals(new double[] {1000, 667, 334, 1}, f.timesteps(), 1e-9);
        EulerScheduler shifted = EulerScheduler.flow(1000, 3);
        shifted.setTimesteps(4);
        double sMin = NoiseSchedule.shift(0.001, 3);  // diffusers: linspace(1, shift(1/T)) then shifted again
        assertEquals(NoiseSchedule.shift(sMin, 3), shifted.sigmas()[3], 1e-12);
        assertEquals(1, shifted.sigmas()[0], 1e-12);
    }
}
