package org.deepkern.diffusion;

import java.util.Locale;
import org.deepkern.DeepKernException;

/**
 * A discrete-time noise schedule over T train timesteps, with diffusers' names and definitions
 * (double precision host tables):
 * <pre>
 *   linear              beta_t = linspace(beta_start, beta_end, T)
 *   scaled_linear       beta_t = linspace(sqrt(beta_start), sqrt(beta_end), T)^2
 *   squaredcos_cap_v2   beta_t = min(1 - f((t+1)/T) / f(t/T), 0.999),  f(u) = cos^2((u + 0.008)/1.008 * pi/2)
 *   alpha_bar_t = prod_{s &lt;= t} (1 - beta_s),   sigma_t = sqrt((1 - alpha_bar_t) / alpha_bar_t)
 * </pre>
 * The inference timesteps follow diffusers' timestep_spacing (see {@link #timesteps}); the sigma
 * grid of the Euler family interpolates sigma_t linearly in t (np.interp); flow matching uses
 * sigma in (0, 1] with the shift sigma' = s sigma / (1 + (s - 1) sigma).
 *
 * <p>Timesteps t are 0-based, 0 &lt;= t &lt; T, as diffusers indexes {@code alphas_cumprod}. The
 * betas are not checked beyond the step count. Immutable.
 */
public final class NoiseSchedule {
    /** diffusers' timestep_spacing. */
    public enum Spacing {
        /** "linspace": n points evenly from 0 to T - 1, both included. */
        LINSPACE,
        /** "leading": multiples of T div n from 0, plus steps_offset (DDPM/DDIM's default). */
        LEADING,
        /** "trailing": from T - 1 down by T/n, rounded (the spacing of Lin et al., 2023). */
        TRAILING;

        /**
         * @param name diffusers' name: linspace, leading or trailing (lower case)
         * @return the spacing
         * @throws DeepKernException with {@link org.deepkern.Status#INVALID_ARGUMENT} for any other
         *         name
         */
        public static Spacing parse(String name) {
            for (Spacing s : values()) if (s.name().toLowerCase(Locale.ROOT).equals(name)) return s;
            throw DeepKernException.invalidArgument("Spacing.parse", "name", "expected linspace, leading or trailing, got " + name);
        }
    }

    private final double[] betas;
    private final double[] alphaBars;

    private NoiseSchedule(double[] betas) {
        this.betas = betas;
        alphaBars = new double[betas.length];
        double prod = 1;
        for (int t = 0; t < betas.length; t++) alphaBars[t] = prod *= 1 - betas[t];
    }

    /**
     * The schedule of DDPM (Ho et al.): linear from 1e-4 to 0.02 over 1000 steps, diffusers'
     * defaults.
     *
     * @return {@code linear(1000, 1e-4, 0.02)}
     */
    public static NoiseSchedule ddpm() {
        return linear(1000, 1e-4, 0.02);
    }

    /**
     * diffusers' "linear": beta_t = linspace(betaStart, betaEnd, T).
     *
     * @param trainSteps T, the train timesteps ({@code num_train_timesteps}), &gt;= 1
     * @param betaStart beta_0 ({@code beta_start})
     * @param betaEnd beta_{T-1} ({@code beta_end})
     * @return the schedule
     * @throws DeepKernException with {@link org.deepkern.Status#INVALID_ARGUMENT} if trainSteps &lt; 1
     */
    public static NoiseSchedule linear(int trainSteps, double betaStart, double betaEnd) {
        double[] b = linspace(betaStart, betaEnd, checkSteps(trainSteps));
        return new NoiseSchedule(b);
    }

    /**
     * diffusers' "scaled_linear", linear in sqrt(beta): Stable Diffusion's, with 1000 steps from
     * 0.00085 to 0.012.
     *
     * @param trainSteps T, the train timesteps, &gt;= 1
     * @param betaStart beta_0
     * @param betaEnd beta_{T-1}
     * @return the schedule
     * @throws DeepKernException with {@link org.deepkern.Status#INVALID_ARGUMENT} if trainSteps &lt; 1
     */
    public static NoiseSchedule scaledLinear(int trainSteps, double betaStart, double betaEnd) {
        double[] b = linspace(Math.sqrt(betaStart), Math.sqrt(betaEnd), checkSteps(trainSteps));
        for (int t = 0; t < b.length; t++) b[t] *= b[t];
        return new NoiseSchedule(b);
    }

    /**
     * diffusers' "squaredcos_cap_v2": the cosine schedule of Nichol and Dhariwal, betas capped at
     * 0.999.
     *
     * @param trainSteps T, the train timesteps, &gt;= 1
     * @return the schedule
     * @throws DeepKernException with {@link org.deepkern.Status#INVALID_ARGUMENT} if trainSteps &lt; 1
     */
    public static NoiseSchedule squaredCosCapV2(int trainSteps) {
        double[] b = new double[checkSteps(trainSteps)];
        for (int t = 0; t < b.length; t++)
            b[t] = Math.min(1 - cosineAlphaBar((t + 1.0) / b.length) / cosineAlphaBar((double) t / b.length), 0.999);
        return new NoiseSchedule(b);
    }

    /**
     * By diffusers' beta_schedule name; betaStart/betaEnd are ignored by squaredcos_cap_v2.
     *
     * @param betaSchedule linear, scaled_linear or squaredcos_cap_v2
     * @param trainSteps T, the train timesteps, &gt;= 1
     * @param betaStart beta_0 ({@code beta_start})
     * @param betaEnd beta_{T-1} ({@code beta_end})
     * @return the schedule
     * @throws DeepKernException with {@link org.deepkern.Status#INVALID_ARGUMENT} for another name
     *         or trainSteps &lt; 1
     */
    public static NoiseSchedule of(String betaSchedule, int trainSteps, double betaStart, double betaEnd) {
        return switch (betaSchedule) {
            case "linear" -> linear(trainSteps, betaStart, betaEnd);
            case "scaled_linear" -> scaledLinear(trainSteps, betaStart, betaEnd);
            case "squaredcos_cap_v2" -> squaredCosCapV2(trainSteps);
            default -> throw DeepKernException.invalidArgument("NoiseSchedule.of", "betaSchedule",
                    "expected linear, scaled_linear or squaredcos_cap_v2, got " + betaSchedule);
        };
    }

    /** @return T, the number of train timesteps */
    public int trainSteps() {
        return betas.length;
    }

    /**
     * @param t a train timestep, 0 &lt;= t &lt; T
     * @return beta_t, diffusers' {@code betas[t]}
     * @throws DeepKernException with {@link org.deepkern.Status#INVALID_ARGUMENT} if t is out of range
     */
    public double beta(int t) {
        return betas[checkT(t)];
    }

    /**
     * @param t a train timestep, 0 &lt;= t &lt; T
     * @return alpha_bar_t = prod_{s &lt;= t} (1 - beta_s), diffusers' {@code alphas_cumprod[t]}: x_t =
     *         sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) eps
     * @throws DeepKernException with {@link org.deepkern.Status#INVALID_ARGUMENT} if t is out of range
     */
    public double alphaBar(int t) {
        return alphaBars[checkT(t)];
    }

    /**
     * sigma_t = sqrt((1 - alpha_bar_t) / alpha_bar_t), the Euler family's noise level (x_t /
     * sqrt(alpha_bar_t) = x0 + sigma_t eps).
     *
     * @param t a train timestep, 0 &lt;= t &lt; T
     * @return sigma_t
     * @throws DeepKernException with {@link org.deepkern.Status#INVALID_ARGUMENT} if t is out of range
     */
    public double sigma(int t) {
        return Math.sqrt((1 - alphaBars[checkT(t)]) / alphaBars[t]);
    }

    /**
     * sigma at a fractional timestep, linearly interpolated between train timesteps (np.interp).
     *
     * @param t a timestep, 0 &lt;= t &lt;= T - 1
     * @return the interpolated sigma
     * @throws DeepKernException with {@link org.deepkern.Status#INVALID_ARGUMENT} if t is out of
     *         range or NaN
     */
    public double sigmaAt(double t) {
        if (!(t >= 0 && t <= betas.length - 1))
            throw DeepKernException.invalidArgument("NoiseSchedule.sigmaAt", "t", "expected 0 <= t <= " + (betas.length - 1) + ", got " + t);
        int lo = (int) Math.floor(t);
        if (lo == betas.length - 1) return sigma(lo);
        double f = t - lo;
        return (1 - f) * sigma(lo) + f * sigma(lo + 1);
    }

    /**
     * The inference timesteps of DDPM/DDIM/Euler/DPM-Solver (descending), as diffusers'
     * set_timesteps makes them (np.round is round-half-even, as {@link Math#rint}):
     * <pre>
     *   linspace  round(linspace(0, last, n))          (last = T - 1; Euler does not round)
     *   leading   round(arange(n) * (T div n)) + steps_offset
     *   trailing  round(arange(T, 0, -T/n)) - 1
     * </pre>
     *
     * @param n the number of inference steps, 1 &lt;= n &lt;= T
     * @param spacing how they are spread over the train timesteps
     * @param stepsOffset diffusers' {@code steps_offset}, added by LEADING only (Stable Diffusion: 1)
     * @param round whether LINSPACE rounds to whole timesteps; the other spacings always do
     * @return n timesteps, descending
     * @throws DeepKernException with {@link org.deepkern.Status#INVALID_ARGUMENT} if n is out of range
     */
    public double[] timesteps(int n, Spacing spacing, int stepsOffset, boolean round) {
        checkInference("NoiseSchedule.timesteps", n);
        int T = betas.length;
        if (spacing == Spacing.LEADING && (long) (n - 1) * (T / n) + stepsOffset > T - 1)
            throw DeepKernException.invalidArgument("NoiseSchedule.timesteps", "stepsOffset", "expected at most "
                    + (T - 1 - (long) (n - 1) * (T / n)) + " for " + n + " leading steps of " + T + ", got " + stepsOffset);
        double[] ts = new double[n];
        for (int i = 0; i < n; i++) {
            int k = n - 1 - i;  // ascending index, reversed into descending order
            ts[i] = switch (spacing) {
                case LINSPACE -> {
                    double v = n == 1 ? 0 : k == n - 1 ? T - 1 : k * ((T - 1.0) / (n - 1));  // as np.linspace
                    yield round ? Math.rint(v) : v;
                }
                case LEADING -> (double) k * (T / n) + stepsOffset;
                case TRAILING -> Math.rint(T + i * (-(double) T / n)) - 1;  // as np.arange
            };
        }
        return ts;
    }

    /** Checks a number of inference steps against the train steps. */
    void checkInference(String op, int n) {
        if (n < 1 || n > betas.length)
            throw DeepKernException.invalidArgument(op, "steps", "expected 1 <= steps <= " + betas.length + " (the train steps), got " + n);
    }

    /**
     * The flow-matching shift of a sigma in [0, 1]: s sigma / (1 + (s - 1) sigma), diffusers'
     * FlowMatchEulerDiscreteScheduler {@code shift} (Stable Diffusion 3: 3.0). It keeps 0 and 1;
     * s &gt; 1 moves the steps toward high noise.
     *
     * @param sigma a flow-matching sigma, 0 &lt;= sigma &lt;= 1
     * @param s the shift; 1 leaves sigma as it is
     * @return the shifted sigma
     */
    public static double shift(double sigma, double s) {
        return s * sigma / (1 + (s - 1) * sigma);
    }

    static double[] linspace(double a, double b, int n) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = n == 1 ? a : i == n - 1 ? b : a + i * ((b - a) / Math.max(1, n - 1));  // as np.linspace
        return v;
    }

    private static double cosineAlphaBar(double u) {
        double c = Math.cos((u + 0.008) / 1.008 * Math.PI / 2);
        return c * c;
    }

    private static int checkSteps(int trainSteps) {
        if (trainSteps < 1) throw DeepKernException.invalidArgument("NoiseSchedule.of", "trainSteps", "expected >= 1, got " + trainSteps);
        return trainSteps;
    }

    private int checkT(int t) {
        if (t < 0 || t >= betas.length)
            throw DeepKernException.invalidArgument("NoiseSchedule.at", "t", "expected 0 <= t < " + betas.length + ", got " + t);
        return t;
    }
}
