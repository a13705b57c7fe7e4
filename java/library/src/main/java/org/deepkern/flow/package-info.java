/**
 * Normalizing flows: {@link org.deepkern.flow.ActNorm}, {@link org.deepkern.flow.InvertibleConv1x1}
 * (Glow's LU-parameterized 1x1 convolution), {@link org.deepkern.flow.AffineCoupling} (RealNVP with
 * Glow's sigmoid(h + 2) scale, one fused kernel per direction), {@link org.deepkern.flow.Squeeze},
 * {@link org.deepkern.flow.Split}, and {@link org.deepkern.flow.Flow}, a sequence with a standard
 * normal base. forward maps data to noise and returns log |det dz/dx| (nflows' convention).
 */
package org.deepkern.flow;
