package org.deepkern.cli.train;

/** The training commands' learning-rate schedule: a cosine from the base rate down to a twentieth of it. */
public final class CosineDecay {
    private CosineDecay() {}

    /**
     * @param base the first step's learning rate
     * @param step the step, 0 to steps - 1
     * @param steps how many steps the run takes
     * @return the learning rate of that step
     */
    public static double lr(double base, int step, int steps) {
        return base * (0.05 + 0.475 * (1 + Math.cos(Math.PI * step / steps)));
    }
}
