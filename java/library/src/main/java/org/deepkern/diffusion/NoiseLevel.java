package org.deepkern.diffusion;

/**
 * The noise level of a model input: x = a x0 + b eps with eps ~ N(0, I); t is the timestep the
 * scheduler gives the model (a train timestep, sigma * T for flow matching, continuous t for SDEs).
 */
public record NoiseLevel(double t, double a, double b) {}
