/**
 * Reverse-mode automatic differentiation over deepkern's ops: {@link org.deepkern.autograd.Tape}
 * records what runs while it is open and accumulates gradients into the leaves' {@link
 * org.deepkern.Tensor#grad()}; {@link org.deepkern.autograd.NoGrad} pauses it; {@link
 * org.deepkern.autograd.Checkpoint} trades recomputation for activation memory.
 */
package org.deepkern.autograd;
