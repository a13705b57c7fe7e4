package org.deepkern.diffusion;

import org.deepkern.DeepKernException;

/**
 * Reverse-time SDEs of Song et al. 2021 ("Score-based generative modeling through SDEs"),
 * integrated by Euler-Maruyama from t = 1 to t = eps on n uniform steps of dt = (1 - eps)/n, and
 * their probability-flow ODEs by Euler. With score = -eps_hat / b(t):
 * <pre>
 *   VP  beta(t) = beta_min + t (beta_max - beta_min),  a(t) = exp(-t^2 (beta_max - beta_min)/4 - t beta_min/2),
 *       b(t) = sqrt(1 - a^2);  f = -beta x / 2, g^2 = beta                   (beta_min 0.1, beta_max 20, eps 1e-3)
 *   VE  sigma(t) = sigma_min (sigma_max/sigma_min)^t, a = 1, b = sigma;  f = 0, g^2 = 2 sigma^2 log(sigma_max/sigma_min)
 *                                                                         (sigma_min 0.01, eps 1e-5)
 *   SDE step  x' = x - f dt + g^2 score dt + g sqrt(dt) z       (no noise on the last step: it returns the mean)
 *   ODE step  x' = x - f dt + g^2 score dt / 2
 * </pre>
 * The prior is N(0, 1) for VP and N(0, sigma_max^2) for VE; the model gets t itself; no clipping
 * by default. diffusers' ScoreSdeVpScheduler (deprecated) and ScoreSdeVeScheduler have the same
 * beta_min, beta_max, sigma_min and sampling eps but take the score itself, and VE adds Langevin
 * corrector steps (snr 0.15) and defaults sigma_max to 1348: this is the plain predictor on an
 * eps model.
 */
public final class ScoreSdeScheduler extends AbstractScheduler<ScoreSdeScheduler> {
    private final boolean ve;
    private final double lo, hi, eps;  // VP: beta_min, beta_max; VE: sigma_min, sigma_max
    private boolean probabilityFlow;

    private ScoreSdeScheduler(boolean ve, double lo, double hi, double eps) {
        super(Prediction.EPSILON, false);
        this.ve = ve;
        this.lo = lo;
        this.hi = hi;
        this.eps = eps;
    }

    /** @return the VP SDE (beta_min 0.1, beta_max 20) */
    public static ScoreSdeScheduler vp() {
        return new ScoreSdeScheduler(false, 0.1, 20, 1e-3);
    }

    /**
     * @param sigmaMax the largest noise level, &gt; 0.01
     * @return the VE SDE with sigma_min 0.01
     */
    public static ScoreSdeScheduler ve(double sigmaMax) {
        if (!(sigmaMax > 0.01) || Double.isInfinite(sigmaMax))
            throw DeepKernException.invalidArgument("ScoreSdeScheduler.ve", "sigmaMax", "expected a finite value > sigma_min = 0.01, got " + sigmaMax);
        return new ScoreSdeScheduler(true, 0.01, sigmaMax, 1e-5);
    }

    /** @return this scheduler, integrating the deterministic probability-flow ODE of the same SDE */
    public ScoreSdeScheduler probabilityFlow() {
        probabilityFlow = true;
        return this;
    }

    @Override
    protected double[] makeTimesteps(int n) {
        if (n < 1) throw DeepKernException.invalidArgument(name() + ".setTimesteps", "steps", "expected >= 1, got " + n);
        double[] ts = new double[n];
        for (int i = 0; i < n; i++) ts[i] = 1 - i * (1 - eps) / n;
        return ts;
    }

    @Override
    public NoiseLevel level(int i) {
        double t = timesteps[i];
        if (ve) return new NoiseLevel(t, 1, lo * Math.pow(hi / lo, t));
        double logA = -0.25 * t * t * (hi - lo) - 0.5 * t * lo;
        return new NoiseLevel(t, Math.exp(logA), Math.sqrt(-Math.expm1(2 * logA)));
    }

    @Override
    public double initNoiseSigma() {
        return ve ? hi : 1;
    }

    @Override
    protected SchedulerOutput stepAt(int i, StepInput in) {
        NoiseLevel lv = level(i);
        double dt = (1 - eps) / timesteps.length;
        double g2 = ve ? 2 * lv.b() * lv.b() * Math.log(hi / lo) : lo + lv.t() * (hi - lo);
        double drift = ve ? 0 : -g2 / 2;  // f = drift * x
        double scoreWeight = probabilityFlow ? 0.5 : 1;
        var c = convert(lv, 1, true).out(1 - drift * dt, 0, -scoreWeight * g2 * dt / lv.b());
        boolean last = i == timesteps.length - 1;
        return launch(noise(c, probabilityFlow || last ? 0 : Math.sqrt(g2 * dt), in.x()), in, null, null);
    }
}
