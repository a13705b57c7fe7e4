package org.deepkern.diffusion;

import java.util.Arrays;
import org.deepkern.DeepKernException;
import org.deepkern.Scope;
import org.deepkern.Tensor;

/**
 * DPM-Solver++(2M) (Lu et al. 2022; diffusers' DPMSolverMultistepScheduler with
 * algorithm_type dpmsolver++, solver_order 2, midpoint, final_sigmas_type zero). On the VP
 * schedule with sigma_i = sigma(t_i), alpha_i = 1/sqrt(sigma_i^2 + 1), s_i = sigma_i alpha_i,
 * lambda_i = log(alpha_i / s_i), h = lambda_{i+1} - lambda_i, the data predictions D_i = x0(x_i):
 * <pre>
 *   first order (the first and the last step):  x_{i+1} = (s_{i+1}/s_i) x_i - alpha_{i+1} (e^-h - 1) D_i
 *   second order, r = (lambda_i - lambda_{i-1}) / h:
 *       x_{i+1} = (s_{i+1}/s_i) x_i - alpha_{i+1} (e^-h - 1) (D_i + (D_i - D_{i-1}) / (2 r))
 * </pre>
 * The last step goes to sigma = 0 and returns D_{n-1}. Timesteps: linspace spacing over n + 1
 * points without the last (diffusers' default), so n &lt; T (at n = T the rounded grid repeats a
 * timestep and h = 0). D_{i-1} is the step's extra input and D_i its
 * second output (predOriginalSample, which diffusers' output lacks): one pass per step. The
 * defaults are diffusers' (epsilon prediction, lower_order_final, no thresholding); not
 * supported: other solver orders and algorithm types, Karras / exponential / beta / flow sigmas,
 * euler_at_final, final_sigmas_type sigma_min. {@link #clipSample}, off by default, clips each D_i.
 */
public final class DpmSolverScheduler extends AbstractScheduler<DpmSolverScheduler> {
    private final NoiseSchedule schedule;
    private double[] sigmas = new double[0];
    private Tensor previousX0;

    /** @param schedule the training noise schedule */
    public DpmSolverScheduler(NoiseSchedule schedule) {
        super(Prediction.EPSILON, false);
        this.schedule = schedule;
    }

    @Override
    protected double[] makeTimesteps(int n) {
        if (n < 1 || n >= schedule.trainSteps())  // n + 1 distinct grid points
            throw DeepKernException.invalidArgument(name() + ".setTimesteps", "steps", "expected 1 <= steps < " + schedule.trainSteps() + " (the train steps), got " + n);
        double[] all = schedule.timesteps(n + 1, NoiseSchedule.Spacing.LINSPACE, 0, true);
        double[] ts = Arrays.copyOf(all, n);
        sigmas = new double[n + 1];
        for (int i = 0; i < n; i++) sigmas[i] = schedule.sigma((int) ts[i]);
        return ts;
    }

    @Override
    public NoiseLevel level(int i) {
        double a = 1 / Math.sqrt(sigmas[i] * sigmas[i] + 1);
        return new NoiseLevel(timesteps[i], a, sigmas[i] * a);
    }

    private double lambda(int i) {
        return Math.log(1 / sigmas[i]);  // log(alpha / s) = -log(sigma)
    }

    @Override
    protected SchedulerOutput stepAt(int i, StepInput in) {
        var c = convert(level(i), 1, true);  // its second output is D_i
        boolean last = i == timesteps.length - 1;
        if (last) return launch(c.out(0, 1, 0), in, null, null);  // sigma_{i+1} = 0: x = D_i
        NoiseLevel now = level(i), next = level(i + 1);
        double h = lambda(i + 1) - lambda(i), phi = -next.a() * Math.expm1(-h);
        double ratio = next.b() / now.b();
        SchedulerOutput out;
        if (previousX0 == null) {
            out = launch(c.out(ratio, phi, 0), in, null, null);
        } else {
            double r = (lambda(i) - lambda(i - 1)) / h;
            out = launch(c.out(ratio, phi * (1 + 1 / (2 * r)), 0).extras(-phi / (2 * r), 0), in, previousX0, null);
            clearState();
        }
        Tensor d = out.predOriginalSample();
        // a view kept after the caller closes the output, and out of any Scope the caller has open
        previousX0 = Scope.detach(d.reshape(d.shape()));
        return out;
    }

    @Override
    protected void clearState() {
        if (previousX0 != null) previousX0.close();
        previousX0 = null;
    }
}
