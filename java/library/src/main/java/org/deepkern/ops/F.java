package org.deepkern.ops;

import org.deepkern.DeepKernException;
import org.deepkern.Tensor;
import org.deepkern.internal.Call;
import org.deepkern.internal.ops.Activations;
import org.deepkern.internal.ops.Attention;
import org.deepkern.internal.ops.Convolution;
import org.deepkern.internal.ops.Diffusion;
import org.deepkern.internal.ops.Flows;
import org.deepkern.internal.ops.Gemm;
import org.deepkern.internal.ops.Losses;
import org.deepkern.internal.ops.Norms;
import org.deepkern.internal.ops.Pooling;
import org.deepkern.internal.ops.Pooling.Spec;
import org.deepkern.internal.ops.Resizing;
import org.deepkern.internal.ops.Rope;

/**
 * The functional ops, named after {@code torch.nn.functional}. Each runs on the device of its
 * first tensor argument; every tensor argument must be on that device. Forms taking {@code out}
 * (or a gradient to write) write into it (it may be the input itself for element-wise ops) and
 * return it. Every argument is validated before anything is allocated or launched; a bad one
 * raises {@link DeepKernException} naming the method called and the argument.
 *
 * <p>Each method names itself and hands over to the op family's implementation.
 */
public final class F {
    private F() {}

    /** torch's default eps of layer_norm. */
    public static final double LAYER_NORM_EPS = 1e-5;

    /**
     * torch's default eps of rms_norm (eps=None): the epsilon of the type rms_norm computes in, which
     * is f32 for f32, f16 and bf16 inputs alike (std::numeric_limits&lt;float&gt;::epsilon() in ATen's
     * rms_norm), so 2^-23 whatever the dtype.
     */
    public static final double RMS_NORM_EPS = 0x1p-23;

    /** Convolution parameters with torch's defaults (immutable). */
    private static final Conv2dParams CONV_DEFAULTS = Conv2dParams.defaults();

    // ---- activations: out = act(x + bias) ----

    /**
     * @param act the activation
     * @param x the input
     * @return act(x)
     */
    public static Tensor activation(Act act, Tensor x) {
        return Activations.forward(new Call("F.activation"), act, x, null);
    }

    /**
     * @param act the activation
     * @param x the input [..., C]
     * @param bias [C], broadcast over the last dim of x; null for none
     * @return act(x + bias)
     */
    public static Tensor activation(Act act, Tensor x, Tensor bias) {
        return Activations.forward(new Call("F.activation"), act, x, bias);
    }

    /**
     * @param act the activation
     * @param x the input [..., C]
     * @param bias [C] or null
     * @param out where act(x + bias) goes, shaped like x (may be x)
     * @return out
     */
    public static Tensor activation(Act act, Tensor x, Tensor bias, Tensor out) {
        return Activations.forward(new Call("F.activation"), act, x, bias, out);
    }

    /**
     * The gradient of act(x) given the output's gradient; recomputes act from x.
     *
     * @param act the activation
     * @param x the forward's input
     * @param gradOut the gradient of the output
     * @return the gradient of x
     */
    public static Tensor activationBackward(Act act, Tensor x, Tensor gradOut) {
        return Activations.backward(new Call("F.activationBackward"), act, x, gradOut);
    }

    /**
     * @param act the activation
     * @param x the forward's input [..., C]
     * @param bias the forward's bias [C]
     * @param gradOut the gradient of the output
     * @return the gradients of x and of bias (summed over every dim but the last)
     */
    public static ActivationGrads activationBackward(Act act, Tensor x, Tensor bias, Tensor gradOut) {
        return Activations.backward(new Call("F.activationBackward"), act, x, bias, gradOut);
    }

    /**
     * The gradients of act(x + bias) into given tensors.
     *
     * @param act the activation
     * @param x the forward's input [..., C]
     * @param bias the forward's bias [C], or null
     * @param gradOut the gradient of the output
     * @param gradIn where the gradient of x goes
     * @param gradBias where the gradient of bias goes (null for none; needs a bias)
     * @return gradIn
     */
    public static Tensor activationBackward(Act act, Tensor x, Tensor bias, Tensor gradOut, Tensor gradIn,
                                            Tensor gradBias) {
        return Activations.backward(new Call("F.activationBackward"), act, x, bias, gradOut, gradIn, gradBias);
    }

    /**
     * @param x the input
     * @param threshold the threshold
     * @param value what replaces elements not above it
     * @return x where x &gt; threshold, else value
     */
    public static Tensor threshold(Tensor x, double threshold, double value) {
        return Activations.forward(new Call("F.threshold"), Act.of("F.threshold", Act.Kind.THRESHOLD, threshold, value), x, null);
    }

    /**
     * The perceptron's unit.
     *
     * @param x the input
     * @param theta the threshold
     * @return 1 where x &gt; theta, else 0
     */
    public static Tensor step(Tensor x, double theta) {
        return Activations.forward(new Call("F.step"), Act.of("F.step", Act.Kind.STEP, theta, 0), x, null);
    }

    /**
     * @param x the input
     * @return max(x, 0)
     */
    public static Tensor relu(Tensor x) {
        return Activations.forward(new Call("F.relu"), Act.relu(), x, null);
    }

    /**
     * @param x the input
     * @param negativeSlope the slope below 0
     * @return leaky_relu(x)
     */
    public static Tensor leakyRelu(Tensor x, double negativeSlope) {
        return Activations.forward(new Call("F.leakyRelu"), Act.of("F.leakyRelu", Act.Kind.LEAKY_RELU, negativeSlope, 0), x, null);
    }

    /**
     * leaky_relu with torch's default negative slope, 0.01.
     *
     * @param x the input
     * @return x where x &gt; 0, else 0.01 x
     */
    public static Tensor leakyRelu(Tensor x) {
        return leakyRelu(x, 0.01);
    }

    /**
     * @param x the input
     * @param alpha the scale below 0
     * @return elu(x)
     */
    public static Tensor elu(Tensor x, double alpha) {
        return Activations.forward(new Call("F.elu"), Act.of("F.elu", Act.Kind.ELU, alpha, 0), x, null);
    }

    /**
     * elu with torch's default alpha, 1.
     *
     * @param x the input
     * @return x where x &gt; 0, else exp(x) - 1
     */
    public static Tensor elu(Tensor x) {
        return elu(x, 1.0);
    }

    /**
     * @param x the input
     * @return selu(x)
     */
    public static Tensor selu(Tensor x) {
        return Activations.forward(new Call("F.selu"), Act.selu(), x, null);
    }

    /**
     * @param x the input
     * @param alpha the scale below 0 (not 0)
     * @return celu(x)
     */
    public static Tensor celu(Tensor x, double alpha) {
        return Activations.forward(new Call("F.celu"), Act.of("F.celu", Act.Kind.CELU, alpha, 0), x, null);
    }

    /**
     * celu with torch's default alpha, 1 (where it equals elu).
     *
     * @param x the input
     * @return x where x &gt; 0, else exp(x) - 1
     */
    public static Tensor celu(Tensor x) {
        return celu(x, 1.0);
    }

    /**
     * @param x the input
     * @return sigmoid(x)
     */
    public static Tensor sigmoid(Tensor x) {
        return Activations.forward(new Call("F.sigmoid"), Act.sigmoid(), x, null);
    }

    /**
     * @param x the input
     * @return tanh(x)
     */
    public static Tensor tanh(Tensor x) {
        return Activations.forward(new Call("F.tanh"), Act.tanh(), x, null);
    }

    /**
     * @param x the input
     * @param minVal the lower clamp
     * @param maxVal the upper clamp, not below minVal
     * @return x clamped to [minVal, maxVal]
     */
    public static Tensor hardtanh(Tensor x, double minVal, double maxVal) {
        return Activations.forward(new Call("F.hardtanh"), Act.of("F.hardtanh", Act.Kind.HARDTANH, minVal, maxVal), x, null);
    }

    /**
     * hardtanh with torch's default bounds, -1 and 1.
     *
     * @param x the input
     * @return x clamped to [-1, 1]
     */
    public static Tensor hardtanh(Tensor x) {
        return hardtanh(x, -1, 1);
    }

    /**
     * @param x the input
     * @return hardsigmoid(x)
     */
    public static Tensor hardsigmoid(Tensor x) {
        return Activations.forward(new Call("F.hardsigmoid"), Act.hardsigmoid(), x, null);
    }

    /**
     * @param x the input
     * @return hardswish(x)
     */
    public static Tensor hardswish(Tensor x) {
        return Activations.forward(new Call("F.hardswish"), Act.hardswish(), x, null);
    }

    /**
     * @param x the input
     * @param beta the sharpness (not 0)
     * @param threshold beta x above which the result is x
     * @return log(1 + exp(beta x)) / beta
     */
    public static Tensor softplus(Tensor x, double beta, double threshold) {
        return Activations.forward(new Call("F.softplus"), Act.of("F.softplus", Act.Kind.SOFTPLUS, beta, threshold), x, null);
    }

    /**
     * softplus with torch's defaults: beta 1, threshold 20.
     *
     * @param x the input
     * @return log(1 + exp(x)), and x where x &gt; 20
     */
    public static Tensor softplus(Tensor x) {
        return softplus(x, 1, 20);
    }

    /**
     * silu, also called swish.
     *
     * @param x the input
     * @return x sigmoid(x)
     */
    public static Tensor silu(Tensor x) {
        return Activations.forward(new Call("F.silu"), Act.silu(), x, null);
    }

    /**
     * @param x the input
     * @return x tanh(softplus(x))
     */
    public static Tensor mish(Tensor x) {
        return Activations.forward(new Call("F.mish"), Act.mish(), x, null);
    }

    /**
     * GELU, exact form.
     *
     * @param x the input
     * @return x Phi(x)
     */
    public static Tensor gelu(Tensor x) {
        return gelu(x, GeluApproximation.NONE);
    }

    /**
     * @param x the input
     * @param approximate NONE (exact) or TANH
     * @return gelu(x)
     */
    public static Tensor gelu(Tensor x, GeluApproximation approximate) {
        return Activations.forward(new Call("F.gelu"), Act.gelu("F.gelu", approximate), x, null);
    }

    /**
     * @param x the input
     * @param approximate NONE (exact) or TANH
     * @param out where gelu(x) goes, shaped like x (may be x)
     * @return out
     */
    public static Tensor gelu(Tensor x, GeluApproximation approximate, Tensor out) {
        return Activations.forward(new Call("F.gelu"), Act.gelu("F.gelu", approximate), x, null, out);
    }

    /**
     * @param x the input
     * @return x sigmoid(1.702 x)
     */
    public static Tensor quickGelu(Tensor x) {
        return Activations.forward(new Call("F.quickGelu"), Act.quickGelu(), x, null);
    }

    // ---- gated linear units: up * act(gate) ----
    // Split forms take x [..., 2H] = [up | gate] along the last dim, as torch.nn.functional.glu.

    /**
     * @param gate the gate's activation: sigmoid, silu, gelu or relu
     * @param gateInput the gate
     * @param up the up projection, shaped like gateInput
     * @return up * gate(gateInput)
     */
    public static Tensor gated(Act gate, Tensor gateInput, Tensor up) {
        return Activations.gated(new Call("F.gated"), gate, gateInput, up);
    }

    /**
     * @param gate the gate's activation
     * @param gateInput the gate
     * @param up the up projection, shaped like gateInput
     * @param out where up * gate(gateInput) goes, shaped like them
     * @return out
     */
    public static Tensor gated(Act gate, Tensor gateInput, Tensor up, Tensor out) {
        return Activations.gated(new Call("F.gated"), gate, gateInput, up, out);
    }

    /**
     * The split form.
     *
     * @param gate the gate's activation
     * @param x [..., 2H] = [up | gate]
     * @return [..., H]
     */
    public static Tensor gated(Act gate, Tensor x) {
        return Activations.gatedSplit(new Call("F.gated"), gate, x);
    }

    /**
     * The split form into a given output.
     *
     * @param gate the gate's activation
     * @param x [..., 2H] = [up | gate]
     * @param out [..., H]
     * @return out
     */
    public static Tensor gatedSplit(Act gate, Tensor x, Tensor out) {
        return Activations.gatedSplit(new Call("F.gatedSplit"), gate, x, out);
    }

    /**
     * @param gate the gate's activation
     * @param gateInput the forward's gate
     * @param up the forward's up projection
     * @param gradOut the gradient of the output
     * @return the gradients of gateInput and up
     */
    public static GatedGrads gatedBackward(Act gate, Tensor gateInput, Tensor up, Tensor gradOut) {
        return Activations.gatedBackward(new Call("F.gatedBackward"), gate, gateInput, up, gradOut);
    }

    /**
     * The gradients of up * gate(gateInput) into given tensors.
     *
     * @param gate the gate's activation
     * @param gateInput the forward's gate
     * @param up the forward's up projection
     * @param gradOut the gradient of the output
     * @param gradGate where the gradient of gateInput goes
     * @param gradUp where the gradient of up goes
     */
    public static void gatedBackward(Act gate, Tensor gateInput, Tensor up, Tensor gradOut, Tensor gradGate,
                                     Tensor gradUp) {
        Activations.gatedBackward(new Call("F.gatedBackward"), gate, gateInput, up, gradOut, gradGate, gradUp);
    }

    /**
     * The gradient of the split form.
     *
     * @param gate the gate's activation
     * @param x the forward's input [..., 2H]
     * @param gradOut the gradient of the output [..., H]
     * @return the gradient of x, shaped like x
     */
    public static Tensor gatedBackward(Act gate, Tensor x, Tensor gradOut) {
        return Activations.gatedSplitBackward(new Call("F.gatedBackward"), gate, x, gradOut);
    }

    /**
     * The gradient of the split form into a given tensor.
     *
     * @param gate the gate's activation
     * @param x the forward's input [..., 2H]
     * @param gradOut the gradient of the output [..., H]
     * @param gradX where the gradient of x goes, shaped like x
     * @return gradX
     */
    public static Tensor gatedSplitBackward(Act gate, Tensor x, Tensor gradOut, Tensor gradX) {
        return Activations.gatedSplitBackward(new Call("F.gatedSplitBackward"), gate, x, gradOut, gradX);
    }

    /**
     * torch glu.
     *
     * @param x [..., 2H]
     * @return first half * sigmoid(second half)
     */
    public static Tensor glu(Tensor x) {
        return Activations.gatedSplit(new Call("F.glu"), Act.sigmoid(), x);
    }

    /**
     * @param gate the gate
     * @param up the up projection
     * @return up * sigmoid(gate)
     */
    public static Tensor glu(Tensor gate, Tensor up) {
        return Activations.gated(new Call("F.glu"), Act.sigmoid(), gate, up);
    }

    /**
     * @param x [..., 2H] = [up | gate]
     * @return up * silu(gate)
     */
    public static Tensor swiglu(Tensor x) {
        return Activations.gatedSplit(new Call("F.swiglu"), Act.silu(), x);
    }

    /**
     * @param gate the gate
     * @param up the up projection
     * @return up * silu(gate)
     */
    public static Tensor swiglu(Tensor gate, Tensor up) {
        return Activations.gated(new Call("F.swiglu"), Act.silu(), gate, up);
    }

    /**
     * @param x [..., 2H] = [up | gate]
     * @param approximate GELU's form
     * @return up * gelu(gate)
     */
    public static Tensor geglu(Tensor x, GeluApproximation approximate) {
        return Activations.gatedSplit(new Call("F.geglu"), Act.gelu("F.geglu", approximate), x);
    }

    /**
     * @param gate the gate
     * @param up the up projection
     * @param approximate GELU's form
     * @return up * gelu(gate)
     */
    public static Tensor geglu(Tensor gate, Tensor up, GeluApproximation approximate) {
        return Activations.gated(new Call("F.geglu"), Act.gelu("F.geglu", approximate), gate, up);
    }

    /**
     * geglu with the exact GELU (torch's default approximate='none').
     *
     * @param x [..., 2H] = [up | gate]
     * @return up * gelu(gate)
     */
    public static Tensor geglu(Tensor x) {
        return geglu(x, GeluApproximation.NONE);
    }

    /**
     * @param x [..., 2H] = [up | gate]
     * @return up * relu(gate)
     */
    public static Tensor reglu(Tensor x) {
        return Activations.gatedSplit(new Call("F.reglu"), Act.relu(), x);
    }

    /**
     * @param gate the gate
     * @param up the up projection
     * @return up * relu(gate)
     */
    public static Tensor reglu(Tensor gate, Tensor up) {
        return Activations.gated(new Call("F.reglu"), Act.relu(), gate, up);
    }

    // ---- softmax and normalization ----
    // The kernels run over the last dim; other dims and normalized shapes are brought there by views.

    /**
     * Statistics in f32.
     *
     * @param x the input
     * @return softmax over the last dim
     */
    public static Tensor softmax(Tensor x) {
        return Norms.softmax(new Call("F.softmax"), x, false);
    }

    /**
     * @param x the input
     * @param out where softmax(x) goes, shaped like x
     * @return out
     */
    public static Tensor softmax(Tensor x, Tensor out) {
        return Norms.softmax(new Call("F.softmax"), x, false, out);
    }

    /**
     * @param x the input
     * @return log_softmax over the last dim
     */
    public static Tensor logSoftmax(Tensor x) {
        return Norms.softmax(new Call("F.logSoftmax"), x, true);
    }

    /**
     * @param x the input
     * @param out where log_softmax(x) goes, shaped like x
     * @return out
     */
    public static Tensor logSoftmax(Tensor x, Tensor out) {
        return Norms.softmax(new Call("F.logSoftmax"), x, true, out);
    }

    /**
     * The gradient of softmax from its output y: y (gradOut - sum(gradOut y)) per row.
     *
     * @param y the forward's output
     * @param gradOut the gradient of the output
     * @return the gradient of the input
     */
    public static Tensor softmaxBackward(Tensor y, Tensor gradOut) {
        return Norms.softmaxBackward(new Call("F.softmaxBackward"), y, gradOut, false);
    }

    /**
     * The gradient of log_softmax from its output y: gradOut - exp(y) sum(gradOut) per row.
     *
     * @param y the forward's output
     * @param gradOut the gradient of the output
     * @return the gradient of the input
     */
    public static Tensor logSoftmaxBackward(Tensor y, Tensor gradOut) {
        return Norms.softmaxBackward(new Call("F.logSoftmaxBackward"), y, gradOut, true);
    }

    /**
     * softmax over any dim (torch.softmax(x, dim)). Another dim than the last costs a copy of x and
     * one of the result, as the kernel reads rows.
     *
     * @param x the input
     * @param dim the dim, -ndim() to ndim() - 1
     * @return softmax over dim, shaped like x
     */
    public static Tensor softmax(Tensor x, int dim) {
        return Norms.softmax(new Call("F.softmax"), x, dim, false);
    }

    /**
     * log_softmax over any dim, as {@link #softmax(Tensor, int)}.
     *
     * @param x the input
     * @param dim the dim, -ndim() to ndim() - 1
     * @return log_softmax over dim, shaped like x
     */
    public static Tensor logSoftmax(Tensor x, int dim) {
        return Norms.softmax(new Call("F.logSoftmax"), x, dim, true);
    }

    /**
     * The gradient of {@link #softmax(Tensor, int)} from its output y: y (gradOut - sum(gradOut y))
     * along dim.
     *
     * @param y the forward's output
     * @param gradOut the gradient of the output, shaped like y
     * @param dim the forward's dim
     * @return the gradient of the input
     */
    public static Tensor softmaxBackward(Tensor y, Tensor gradOut, int dim) {
        return Norms.softmaxBackward(new Call("F.softmaxBackward"), y, gradOut, dim, false);
    }

    /**
     * The gradient of {@link #logSoftmax(Tensor, int)} from its output y: gradOut - exp(y)
     * sum(gradOut) along dim.
     *
     * @param y the forward's output
     * @param gradOut the gradient of the output, shaped like y
     * @param dim the forward's dim
     * @return the gradient of the input
     */
    public static Tensor logSoftmaxBackward(Tensor y, Tensor gradOut, int dim) {
        return Norms.softmaxBackward(new Call("F.logSoftmaxBackward"), y, gradOut, dim, true);
    }

    /**
     * layer_norm over the last dim: (x - mean) / sqrt(var + eps) * weight + bias, var biased.
     *
     * @param x the input [..., C]
     * @param weight [C] or null (1)
     * @param bias [C] or null (0)
     * @param eps added to the variance, &gt; 0 as an f32
     * @return the normalized x
     */
    public static Tensor layerNorm(Tensor x, Tensor weight, Tensor bias, double eps) {
        return Norms.layerNorm(new Call("F.layerNorm"), x, weight, bias, eps);
    }

    /**
     * @param x the input [..., C]
     * @param weight [C] or null
     * @param bias [C] or null
     * @param eps added to the variance
     * @param out where layer_norm(x) goes, shaped like x
     * @return out
     */
    public static Tensor layerNorm(Tensor x, Tensor weight, Tensor bias, double eps, Tensor out) {
        return Norms.layerNorm(new Call("F.layerNorm"), x, weight, bias, eps, out);
    }

    /**
     * layer_norm over the last dim with torch's default eps, {@value #LAYER_NORM_EPS}.
     *
     * @param x the input [..., C]
     * @param weight [C] or null (1)
     * @param bias [C] or null (0)
     * @return the normalized x
     */
    public static Tensor layerNorm(Tensor x, Tensor weight, Tensor bias) {
        return layerNorm(x, weight, bias, LAYER_NORM_EPS);
    }

    /**
     * torch's layer_norm(x, normalized_shape): over the trailing dims of x that normalizedShape
     * names, without weight and bias, eps {@value #LAYER_NORM_EPS}.
     *
     * @param x the input [..., *normalizedShape]
     * @param normalizedShape the trailing dims normalized over, at least one
     * @return the normalized x
     */
    public static Tensor layerNorm(Tensor x, long[] normalizedShape) {
        return layerNorm(x, normalizedShape, null, null, LAYER_NORM_EPS);
    }

    /**
     * layer_norm over normalizedShape with eps {@value #LAYER_NORM_EPS}.
     *
     * @param x the input [..., *normalizedShape]
     * @param normalizedShape the trailing dims normalized over, at least one
     * @param weight shaped normalizedShape, or null (1)
     * @param bias shaped normalizedShape, or null (0)
     * @return the normalized x
     */
    public static Tensor layerNorm(Tensor x, long[] normalizedShape, Tensor weight, Tensor bias) {
        return layerNorm(x, normalizedShape, weight, bias, LAYER_NORM_EPS);
    }

    /**
     * torch's layer_norm(x, normalized_shape, weight, bias, eps): statistics over the trailing dims
     * of x that normalizedShape names (flattened into one row, a view where x is contiguous).
     *
     * @param x the input [..., *normalizedShape]
     * @param normalizedShape the trailing dims normalized over, at least one
     * @param weight shaped normalizedShape, or null (1)
     * @param bias shaped normalizedShape, or null (0)
     * @param eps added to the variance, &gt; 0 as an f32
     * @return the normalized x
     */
    public static Tensor layerNorm(Tensor x, long[] normalizedShape, Tensor weight, Tensor bias, double eps) {
        return Norms.layerNorm(new Call("F.layerNorm"), x, normalizedShape, weight, bias, eps);
    }

    /**
     * @param x the forward's input
     * @param weight the forward's weight, or null
     * @param gradOut the gradient of the output
     * @param eps the forward's eps
     * @param withBias whether the forward had a bias
     * @return the gradients of x, of weight (null without) and of bias (when withBias), the last two
     *     summed over every dim but the last
     */
    public static NormGrads layerNormBackward(Tensor x, Tensor weight, Tensor gradOut, double eps, boolean withBias) {
        return Norms.backward(new Call("F.layerNormBackward"), x, weight, gradOut, eps, withBias, false);
    }

    /**
     * The gradients of layer_norm over normalizedShape (torch's normalized_shape).
     *
     * @param x the forward's input [..., *normalizedShape]
     * @param normalizedShape the forward's trailing dims
     * @param weight the forward's weight (shaped normalizedShape), or null
     * @param gradOut the gradient of the output, shaped like x
     * @param eps the forward's eps
     * @param withBias whether the forward had a bias
     * @return the gradients of x, of weight (null without) and of bias (when withBias), the last two
     *     shaped normalizedShape and summed over the leading dims
     */
    public static NormGrads layerNormBackward(Tensor x, long[] normalizedShape, Tensor weight, Tensor gradOut, double eps,
                                              boolean withBias) {
        return Norms.backward(new Call("F.layerNormBackward"), x, normalizedShape, weight, gradOut, eps, withBias, false);
    }

    /**
     * rms_norm over the last dim: x / sqrt(mean(x^2) + eps) * weight.
     *
     * @param x the input [..., C]
     * @param weight [C] or null
     * @param eps added to the mean square, &gt; 0 as an f32
     * @return the normalized x
     */
    public static Tensor rmsNorm(Tensor x, Tensor weight, double eps) {
        return Norms.rmsNorm(new Call("F.rmsNorm"), x, weight, eps);
    }

    /**
     * @param x the input [..., C]
     * @param weight [C] or null
     * @param eps added to the mean square
     * @param out where rms_norm(x) goes, shaped like x
     * @return out
     */
    public static Tensor rmsNorm(Tensor x, Tensor weight, double eps, Tensor out) {
        return Norms.rmsNorm(new Call("F.rmsNorm"), x, weight, eps, out);
    }

    /**
     * rms_norm over the last dim with torch's default eps, {@link #RMS_NORM_EPS}. (A literal null
     * weight needs a cast here, {@code (Tensor) null}, beside {@link #rmsNorm(Tensor, long[])}.)
     *
     * @param x the input [..., C]
     * @param weight [C] or null
     * @return the normalized x
     */
    public static Tensor rmsNorm(Tensor x, Tensor weight) {
        return rmsNorm(x, weight, RMS_NORM_EPS);
    }

    /**
     * torch's rms_norm(x, normalized_shape): over the trailing dims of x that normalizedShape names,
     * without weight, eps {@link #RMS_NORM_EPS}.
     *
     * @param x the input [..., *normalizedShape]
     * @param normalizedShape the trailing dims normalized over, at least one
     * @return the normalized x
     */
    public static Tensor rmsNorm(Tensor x, long[] normalizedShape) {
        return rmsNorm(x, normalizedShape, null, RMS_NORM_EPS);
    }

    /**
     * rms_norm over normalizedShape with eps {@link #RMS_NORM_EPS}.
     *
     * @param x the input [..., *normalizedShape]
     * @param normalizedShape the trailing dims normalized over, at least one
     * @param weight shaped normalizedShape, or null
     * @return the normalized x
     */
    public static Tensor rmsNorm(Tensor x, long[] normalizedShape, Tensor weight) {
        return rmsNorm(x, normalizedShape, weight, RMS_NORM_EPS);
    }

    /**
     * torch's rms_norm(x, normalized_shape, weight, eps): the mean square over the trailing dims of
     * x that normalizedShape names (flattened into one row, a view where x is contiguous).
     *
     * @param x the input [..., *normalizedShape]
     * @param normalizedShape the trailing dims normalized over, at least one
     * @param weight shaped normalizedShape, or null
     * @param eps added to the mean square, &gt; 0 as an f32
     * @return the normalized x
     */
    public static Tensor rmsNorm(Tensor x, long[] normalizedShape, Tensor weight, double eps) {
        return Norms.rmsNorm(new Call("F.rmsNorm"), x, normalizedShape, weight, eps);
    }

    /**
     * @param x the forward's input
     * @param weight the forward's weight, or null
     * @param gradOut the gradient of the output
     * @param eps the forward's eps
     * @return the gradients of x and of weight (null without)
     */
    public static NormGrads rmsNormBackward(Tensor x, Tensor weight, Tensor gradOut, double eps) {
        return Norms.backward(new Call("F.rmsNormBackward"), x, weight, gradOut, eps, false, true);
    }

    /**
     * The gradients of rms_norm over normalizedShape.
     *
     * @param x the forward's input [..., *normalizedShape]
     * @param normalizedShape the forward's trailing dims
     * @param weight the forward's weight (shaped normalizedShape), or null
     * @param gradOut the gradient of the output, shaped like x
     * @param eps the forward's eps
     * @return the gradients of x and of weight (null without, else shaped normalizedShape)
     */
    public static NormGrads rmsNormBackward(Tensor x, long[] normalizedShape, Tensor weight, Tensor gradOut, double eps) {
        return Norms.backward(new Call("F.rmsNormBackward"), x, normalizedShape, weight, gradOut, eps, false, true);
    }

    // ---- rotary position embedding ----

    /**
     * Rotary position embedding: position p = l + positionOffset turns pair i by p * base^(-2i/D).
     *
     * @param x [B, H, L, D], D even
     * @param layout which elements pair up
     * @param base the frequency base (10000 in most models)
     * @param positionOffset the position of the first row
     * @return the turned x
     */
    public static Tensor rotaryEmbedding(Tensor x, RopeLayout layout, double base, long positionOffset) {
        return Rope.apply(new Call("F.rotaryEmbedding"), "x", x, layout, base, positionOffset, false);
    }

    /**
     * The gradient of {@link #rotaryEmbedding}: the same turn by -theta applied to gradOut.
     *
     * @param gradOut the gradient of the output
     * @param layout the forward's layout
     * @param base the forward's base
     * @param positionOffset the forward's offset
     * @return the gradient of x
     */
    public static Tensor rotaryEmbeddingBackward(Tensor gradOut, RopeLayout layout, double base, long positionOffset) {
        return Rope.apply(new Call("F.rotaryEmbeddingBackward"), "gradOut", gradOut, layout, base, positionOffset, true);
    }

    // ---- matrix products ----

    /**
     * a @ b with torch.matmul's rules: over the last two dims, batch dims broadcast; a 1-D a [K] is
     * the row [1, K] and a 1-D b [K] the column [K, 1], that 1 dropped from the result.
     *
     * @param a the left operand
     * @param b the right operand
     * @return the product
     */
    public static Tensor matmul(Tensor a, Tensor b) {
        return matmul(a, b, false, false);
    }

    /**
     * op(a) @ op(b), op transposing the last two dims where asked (no copy is made; vectors have no
     * transpose).
     *
     * @param a the left operand
     * @param b the right operand
     * @param transA whether to transpose a
     * @param transB whether to transpose b
     * @return the product
     */
    public static Tensor matmul(Tensor a, Tensor b, boolean transA, boolean transB) {
        return Gemm.matmul(new Call("F.matmul"), a, b, transA, transB);
    }

    /**
     * @param a the left operand
     * @param b the right operand
     * @param transA whether to transpose a
     * @param transB whether to transpose b
     * @param out where the product goes (not overlapping a or b)
     * @return out
     */
    public static Tensor matmul(Tensor a, Tensor b, boolean transA, boolean transB, Tensor out) {
        return Gemm.matmul(new Call("F.matmul"), a, b, transA, transB, out);
    }

    /**
     * torch.nn.functional.linear.
     *
     * @param x [..., in]
     * @param weight [out, in]
     * @param bias [out] or null
     * @return x @ weight^T + bias
     */
    public static Tensor linear(Tensor x, Tensor weight, Tensor bias) {
        return Gemm.linear(new Call("F.linear"), x, weight, bias, null, null);
    }

    /**
     * torch.nn.functional.linear without a bias (torch's default bias=None).
     *
     * @param x [..., in]
     * @param weight [out, in]
     * @return x @ weight^T
     */
    public static Tensor linear(Tensor x, Tensor weight) {
        return linear(x, weight, null);
    }

    /**
     * The fused form, in one pass.
     *
     * @param x [..., in]
     * @param weight [out, in]
     * @param bias [out] or null
     * @param act the activation, or null
     * @param residual [..., out] or null
     * @return act(x @ weight^T + bias) + residual
     */
    public static Tensor linear(Tensor x, Tensor weight, Tensor bias, Act act, Tensor residual) {
        return Gemm.linear(new Call("F.linear"), x, weight, bias, act, residual);
    }

    /**
     * @param x [..., in]
     * @param weight [out, in]
     * @param bias [out] or null
     * @param act the activation, or null
     * @param residual [..., out] or null
     * @param out where act(x @ weight^T + bias) + residual goes (may be residual)
     * @return out
     */
    public static Tensor linear(Tensor x, Tensor weight, Tensor bias, Act act, Tensor residual, Tensor out) {
        return Gemm.linear(new Call("F.linear"), x, weight, bias, act, residual, out);
    }

    /**
     * The gradients of {@code linear(x, weight, bias)} (no activation).
     *
     * @param x the forward's input
     * @param weight the forward's weight
     * @param gradOut the gradient of the output
     * @param withBias whether the forward had a bias
     * @return the gradients of x (gradOut @ weight), of weight (gradOut^T @ x over every row) and,
     *     when withBias, of bias (gradOut summed over rows)
     */
    public static LinearGrads linearBackward(Tensor x, Tensor weight, Tensor gradOut, boolean withBias) {
        return Gemm.linearBackward(new Call("F.linearBackward"), x, weight, gradOut, withBias);
    }

    /**
     * The gradients of {@code linear(x, weight, bias, act, residual)}; the residual's is gradOut itself.
     *
     * @param x the forward's input
     * @param weight the forward's weight
     * @param bias the forward's bias, or null
     * @param act the forward's activation, or null
     * @param gradOut the gradient of the output
     * @return the gradients of x, weight and bias (null without a bias)
     */
    public static LinearGrads linearBackward(Tensor x, Tensor weight, Tensor bias, Act act, Tensor gradOut) {
        return Gemm.linearBackward(new Call("F.linearBackward"), x, weight, bias, act, gradOut);
    }

    /**
     * The gradients of {@code matmul(a, b, transA, transB)}; an operand broadcast along batch dims
     * gets its gradient summed over them (torch's semantics), a vector operand a vector gradient.
     *
     * @param a the forward's left operand
     * @param b the forward's right operand
     * @param gradOut the gradient of the product
     * @param transA the forward's transA
     * @param transB the forward's transB
     * @return the gradients of a and b, shaped like them
     */
    public static MatmulGrads matmulBackward(Tensor a, Tensor b, Tensor gradOut, boolean transA, boolean transB) {
        return Gemm.matmulBackward(new Call("F.matmulBackward"), a, b, gradOut, transA, transB);
    }

    // ---- diffusion sampling ----

    /**
     * One fused sampler step (see {@link StepCoefs} for the formula). All tensors share x's shape
     * and dtype.
     *
     * @param coefs the step's scalars
     * @param x the current sample
     * @param model the model's output
     * @param uncond the unconditional output for guidance, or null
     * @param extra1 a multistep history term, or null
     * @param extra2 another, or null
     * @param out where the next sample goes (may be x)
     * @param out2 a second output, or null
     * @return out
     */
    public static Tensor diffusionStep(StepCoefs coefs, Tensor x, Tensor model, Tensor uncond, Tensor extra1,
                                       Tensor extra2, Tensor out, Tensor out2) {
        return Diffusion.step(new Call("F.diffusionStep"), coefs, x, model, uncond, extra1, extra2, out, out2);
    }

    /**
     * The exact denoiser of an isotropic Gaussian mixture sum_k w_k N(mu_k, dataStd^2 I), noised as
     * x_t = a x0 + b eps: E[x0 | x_t] for each row of x.
     *
     * @param x [N, D] f32
     * @param means [K, D] f32
     * @param logWeights [K] f32, unnormalized log w_k
     * @param dataStd each component's standard deviation
     * @param a the signal scale
     * @param b the noise scale
     * @return E[x0 | x_t], shaped like x
     */
    public static Tensor gmmPosteriorMean(Tensor x, Tensor means, Tensor logWeights, double dataStd, double a, double b) {
        return Diffusion.gmmPosteriorMean(new Call("F.gmmPosteriorMean"), x, means, logWeights, dataStd, a, b);
    }

    // ---- normalizing flows: the fused affine coupling (kernels/flow) ----
    // Per sample n (dim 0): m transformed elements, conditioner output h with 2m elements laid out
    // [shift (m) | raw scale (m)] (an image h [N, 2C', H, W]: shift = channels 0..C'-1), and
    // s = sigmoid(raw + 2) as in Glow. The log-det sum is reduced in the same pass, in a fixed order.

    /**
     * The affine coupling's forward (RealNVP, Glow's scale): y = (x + shift) * s, s = sigmoid(raw + 2),
     * and logDet[n] += sum_j log s[n, j] in the same pass.
     *
     * @param x the transformed half [N, ...], a floating dtype
     * @param h the conditioner output, x's dtype, N samples of 2m elements ([shift | raw scale])
     * @param logDet f32 [N], the running log-determinant the sum is added to in place, or null
     * @return y, shaped like x
     */
    public static Tensor affineCouplingForward(Tensor x, Tensor h, Tensor logDet) {
        return Flows.coupling(new Call("F.affineCouplingForward"), false, x, h, logDet);
    }

    /**
     * The affine coupling's inverse: x = y / s - shift, s = sigmoid(raw + 2), and
     * logDet[n] -= sum_j log s[n, j] (the inverse map's log-determinant) in the same pass.
     *
     * @param y the transformed half [N, ...], a floating dtype
     * @param h the conditioner output, y's dtype, N samples of 2m elements ([shift | raw scale])
     * @param logDet f32 [N], the running log-determinant, updated in place, or null
     * @return x, shaped like y
     */
    public static Tensor affineCouplingInverse(Tensor y, Tensor h, Tensor logDet) {
        return Flows.coupling(new Call("F.affineCouplingInverse"), true, y, h, logDet);
    }

    /**
     * The gradients of {@link #affineCouplingForward} from its input: dx = dy s, d shift = dy s,
     * d raw = (dy (x + shift) s + dLogDet) (1 - s).
     *
     * @param x the forward's input
     * @param h the forward's conditioner output
     * @param gradY the gradient of y, shaped like x
     * @param gradLogDet f32 [N], the gradient of the log-det, or null for zero
     * @return the gradients of x and of h
     */
    public static CouplingGrads affineCouplingBackward(Tensor x, Tensor h, Tensor gradY, Tensor gradLogDet) {
        return Flows.couplingBackward(new Call("F.affineCouplingBackward"), x, h, gradY, gradLogDet);
    }

    // ---- losses: torch.nn.functional's, fused forward and backward ----
    //
    // Inputs may be f32, f16 or bf16 (computed in f32, returned in the input's dtype) and views
    // (read through a compact copy). MEAN and SUM are deterministic: the same bits on every run and
    // every thread count, and the same on cpu and emu (a fixed summation order, no atomics).

    /** torch's default ignore_index of cross_entropy. */
    public static final long CROSS_ENTROPY_IGNORE_INDEX = -100;

    /**
     * Mean squared error, {@code (input - target)^2}, as {@code torch.nn.functional.mse_loss}.
     *
     * @param input the prediction
     * @param target the target, input's shape and dtype
     * @param reduction NONE (input's shape), MEAN or SUM (0-d)
     * @return the loss
     */
    public static Tensor mseLoss(Tensor input, Tensor target, Reduction reduction) {
        return Losses.forward(new Call("F.mseLoss"), Losses.MSE, input, target, reduction, 0, null);
    }

    /**
     * The gradient of {@link #mseLoss} with respect to input.
     *
     * @param gradOut the gradient of the loss: 0-d for MEAN and SUM, the loss's shape for NONE
     * @param input the forward's input
     * @param target the forward's target
     * @param reduction the forward's reduction
     * @return the gradient of input, input's shape
     */
    public static Tensor mseLossBackward(Tensor gradOut, Tensor input, Tensor target, Reduction reduction) {
        return Losses.backward(new Call("F.mseLossBackward"), Losses.MSE, gradOut, input, target, reduction, 0, null);
    }

    /**
     * Mean absolute error, {@code |input - target|}, as {@code torch.nn.functional.l1_loss}.
     *
     * @param input the prediction
     * @param target the target, input's shape and dtype
     * @param reduction NONE (input's shape), MEAN or SUM (0-d)
     * @return the loss
     */
    public static Tensor l1Loss(Tensor input, Tensor target, Reduction reduction) {
        return Losses.forward(new Call("F.l1Loss"), Losses.L1, input, target, reduction, 0, null);
    }

    /**
     * The gradient of {@link #l1Loss} with respect to input: sign(input - target) (0 where equal), as torch.
     *
     * @param gradOut the gradient of the loss: 0-d for MEAN and SUM, the loss's shape for NONE
     * @param input the forward's input
     * @param target the forward's target
     * @param reduction the forward's reduction
     * @return the gradient of input, input's shape
     */
    public static Tensor l1LossBackward(Tensor gradOut, Tensor input, Tensor target, Reduction reduction) {
        return Losses.backward(new Call("F.l1LossBackward"), Losses.L1, gradOut, input, target, reduction, 0, null);
    }

    /**
     * Smooth L1 (Huber-like) loss, as {@code torch.nn.functional.smooth_l1_loss}: with
     * {@code d = input - target}, {@code 0.5 d^2 / beta} where {@code |d| < beta}, else
     * {@code |d| - 0.5 beta}; beta 0 is the L1 loss.
     *
     * @param input the prediction
     * @param target the target, input's shape and dtype
     * @param reduction NONE (input's shape), MEAN or SUM (0-d)
     * @param beta where the loss turns from quadratic to linear, finite and at least 0 (torch's default 1)
     * @return the loss
     */
    public static Tensor smoothL1Loss(Tensor input, Tensor target, Reduction reduction, double beta) {
        return Losses.forward(new Call("F.smoothL1Loss"), Losses.SMOOTH_L1, input, target, reduction, beta, null);
    }

    /**
     * The gradient of {@link #smoothL1Loss} with respect to input: {@code d / beta} where
     * {@code |d| < beta}, else sign(d).
     *
     * @param gradOut the gradient of the loss: 0-d for MEAN and SUM, the loss's shape for NONE
     * @param input the forward's input
     * @param target the forward's target
     * @param reduction the forward's reduction
     * @param beta the forward's beta
     * @return the gradient of input, input's shape
     */
    public static Tensor smoothL1LossBackward(Tensor gradOut, Tensor input, Tensor target, Reduction reduction,
                                              double beta) {
        return Losses.backward(new Call("F.smoothL1LossBackward"), Losses.SMOOTH_L1, gradOut, input, target, reduction,
                beta, null);
    }

    /**
     * Binary cross-entropy of logits, as {@code torch.nn.functional.binary_cross_entropy_with_logits}
     * (no per-element weight), in the stable form
     * {@code (1 - t) x + (1 + (pw - 1) t) (log1p(exp(-|x|)) + max(-x, 0))}, which without pos_weight
     * is {@code max(x, 0) - x t + log1p(exp(-|x|))}.
     *
     * @param input the logits x
     * @param target the targets t (probabilities), input's shape and dtype
     * @param reduction NONE (input's shape), MEAN or SUM (0-d)
     * @param posWeight the weight pw of the positive term, input's dtype, 1-D with one element or
     *     input's last extent (broadcast along input's last dim, as torch broadcasts a [C] weight); null for 1
     * @return the loss
     */
    public static Tensor binaryCrossEntropyWithLogits(Tensor input, Tensor target, Reduction reduction,
                                                      Tensor posWeight) {
        return Losses.forward(new Call("F.binaryCrossEntropyWithLogits"), Losses.BCE_WITH_LOGITS, input, target,
                reduction, 0, posWeight);
    }

    /**
     * The gradient of {@link #binaryCrossEntropyWithLogits} with respect to the logits:
     * {@code (1 - t) - (1 + (pw - 1) t) sigmoid(-x)}, which without pos_weight is {@code sigmoid(x) - t}.
     * The target and pos_weight get no gradient.
     *
     * @param gradOut the gradient of the loss: 0-d for MEAN and SUM, the loss's shape for NONE
     * @param input the forward's logits
     * @param target the forward's target
     * @param reduction the forward's reduction
     * @param posWeight the forward's pos_weight, or null
     * @return the gradient of input, input's shape
     */
    public static Tensor binaryCrossEntropyWithLogitsBackward(Tensor gradOut, Tensor input, Tensor target,
                                                              Reduction reduction, Tensor posWeight) {
        return Losses.backward(new Call("F.binaryCrossEntropyWithLogitsBackward"), Losses.BCE_WITH_LOGITS, gradOut,
                input, target, reduction, 0, posWeight);
    }

    /**
     * Cross-entropy with class indices and torch's defaults: mean over the rows, ignore index -100,
     * no label smoothing. See {@link #crossEntropy(Tensor, Tensor, Reduction, long, double)}.
     *
     * @param logits [N, C], [N, C, d1, ...] or [C]
     * @param target class indices (i64 or i32), logits' shape without the class dim
     * @return the mean loss, 0-d
     */
    public static Tensor crossEntropy(Tensor logits, Tensor target) {
        return Losses.crossEntropy(new Call("F.crossEntropy"), logits, target, Reduction.MEAN,
                CROSS_ENTROPY_IGNORE_INDEX, 0);
    }

    /**
     * Cross-entropy of logits against class indices, as {@code torch.nn.functional.cross_entropy}
     * (no class weights): a fused log-softmax and negative log-likelihood per row (max-subtracted, so
     * large logits do not overflow). With label smoothing s the row loss is
     * {@code (1 - s) (-log p_y) + s mean_c(-log p_c)}. A row whose target is ignoreIndex has loss 0
     * and gradient 0; MEAN divides by the number of other rows (NaN when there is none). A target
     * outside [0, C) that is not ignoreIndex fails with a {@link DeepKernException} on the cpu and emu
     * devices; on cuda it is not checked (torch raises a device-side assert there) and that row's
     * loss and gradient are NaN.
     *
     * @param logits [N, C], [N, C, d1, ...] (the class dim second, as torch's K-dimensional form) or [C]
     * @param target class indices (i64 or i32), logits' shape without the class dim ([] for [C] logits)
     * @param reduction NONE (target's shape), MEAN or SUM (0-d)
     * @param ignoreIndex a target value whose rows do not count (torch's default -100)
     * @param labelSmoothing s in [0, 1]
     * @return the loss, logits' dtype
     */
    public static Tensor crossEntropy(Tensor logits, Tensor target, Reduction reduction, long ignoreIndex,
                                      double labelSmoothing) {
        return Losses.crossEntropy(new Call("F.crossEntropy"), logits, target, reduction, ignoreIndex, labelSmoothing);
    }

    /**
     * The gradient of {@link #crossEntropy(Tensor, Tensor, Reduction, long, double)} with respect to the
     * logits: {@code g (softmax(x) - (1 - s) onehot(y) - s / C)} per row, g the row's share of gradOut;
     * 0 for ignored rows.
     *
     * @param gradOut the gradient of the loss: 0-d for MEAN and SUM, target's shape for NONE
     * @param logits the forward's logits
     * @param target the forward's target
     * @param reduction the forward's reduction
     * @param ignoreIndex the forward's ignore index
     * @param labelSmoothing the forward's label smoothing
     * @return the gradient of the logits, logits' shape
     */
    public static Tensor crossEntropyBackward(Tensor gradOut, Tensor logits, Tensor target, Reduction reduction,
                                              long ignoreIndex, double labelSmoothing) {
        return Losses.crossEntropyBackward(new Call("F.crossEntropyBackward"), gradOut, logits, target, reduction,
                ignoreIndex, labelSmoothing);
    }

    /**
     * CenterNet's penalty-reduced pixel-wise focal loss (Zhou et al. 2019, "Objects as Points"; the
     * {@code _neg_loss} of the CenterNet repository) of heatmap logits against a Gaussian-splatted
     * target heatmap. With {@code p = sigmoid(logit)}:
     * {@code -(1 - p)^alpha log p} where the heatmap is 1, {@code -(1 - gt)^beta p^alpha log(1 - p)} where
     * it is below 1, summed and divided by max(1, the number of positions where it is 1).
     *
     * <p>The loss is computed from the logits with {@code log p = -softplus(-x)} and
     * {@code log(1 - p) = -softplus(x)}, which stays finite and accurate for any logit; the repository
     * instead clamps sigmoid(x) to [1e-4, 1 - 1e-4] before its logs, so the two agree except where
     * that clamp bites (|x| above about 9.2), where this loss keeps its true value and gradient.
     *
     * @param logits the predicted heatmap's logits, any shape (CenterNet: [N, classes, H, W])
     * @param heatmap the target heatmap, values in [0, 1], logits' shape and dtype
     * @param alpha the focusing exponent (CenterNet: 2), finite and at least 0
     * @param beta the penalty-reduction exponent (CenterNet: 4), finite and at least 0
     * @return the loss, 0-d, logits' dtype
     */
    public static Tensor centerNetFocalLoss(Tensor logits, Tensor heatmap, double alpha, double beta) {
        return Losses.focal(new Call("F.centerNetFocalLoss"), logits, heatmap, alpha, beta);
    }

    /**
     * The gradient of {@link #centerNetFocalLoss} with respect to the logits.
     *
     * @param gradOut the gradient of the loss, 0-d
     * @param logits the forward's logits
     * @param heatmap the forward's heatmap
     * @param alpha the forward's alpha
     * @param beta the forward's beta
     * @return the gradient of the logits, logits' shape
     */
    public static Tensor centerNetFocalLossBackward(Tensor gradOut, Tensor logits, Tensor heatmap, double alpha,
                                                    double beta) {
        return Losses.focalBackward(new Call("F.centerNetFocalLossBackward"), gradOut, logits, heatmap, alpha, beta);
    }

    // ---- 2-D convolution ----
    // NCHW: x [N, C, H, W], w [K, C/groups, R, S]; NHWC: x [N, H, W, C], w [K, R, S, C/groups] (see Conv2dParams).

    /**
     * torch.nn.functional.conv2d, with the activation of params (none by default).
     *
     * @param x the image
     * @param w the filters
     * @param bias [K] or null
     * @param params stride, padding, dilation, groups, layout, activation
     * @return act(conv(x, w) + bias)
     */
    public static Tensor conv2d(Tensor x, Tensor w, Tensor bias, Conv2dParams params) {
        return Convolution.conv2d(new Call("F.conv2d"), x, w, bias, null, params);
    }

    /**
     * conv2d with torch's defaults: no bias, stride 1, no padding, dilation 1, one group (NCHW).
     *
     * @param x the image [N, C, H, W]
     * @param w the filters [K, C, R, S]
     * @return conv(x, w)
     */
    public static Tensor conv2d(Tensor x, Tensor w) {
        return conv2d(x, w, null, CONV_DEFAULTS);
    }

    /**
     * conv2d with torch's defaults: stride 1, no padding, dilation 1, one group (NCHW).
     *
     * @param x the image [N, C, H, W]
     * @param w the filters [K, C, R, S]
     * @param bias [K] or null
     * @return conv(x, w) + bias
     */
    public static Tensor conv2d(Tensor x, Tensor w, Tensor bias) {
        return conv2d(x, w, bias, CONV_DEFAULTS);
    }

    /**
     * The fused form.
     *
     * @param x the image
     * @param w the filters
     * @param bias [K] or null
     * @param residual shaped like the output, or null
     * @param params the convolution's parameters
     * @return act(conv(x, w) + bias) + residual
     */
    public static Tensor conv2d(Tensor x, Tensor w, Tensor bias, Tensor residual, Conv2dParams params) {
        return Convolution.conv2d(new Call("F.conv2d"), x, w, bias, residual, params);
    }

    /**
     * @param x the image
     * @param w the filters
     * @param bias [K] or null
     * @param residual shaped like the output, or null
     * @param params the convolution's parameters
     * @param out where the result goes (may be residual)
     * @return out
     */
    public static Tensor conv2d(Tensor x, Tensor w, Tensor bias, Tensor residual, Conv2dParams params, Tensor out) {
        return Convolution.conv2d(new Call("F.conv2d"), x, w, bias, residual, params, out);
    }

    /**
     * Which kernel {@link #conv2d} runs for these x and w: on cpu "direct_depthwise" (groups == C == K)
     * or "im2col_gemm"; on cuda / emu the first that applies of "gemm_1x1" (NHWC, groups 1, 1x1,
     * stride 1, no padding), "depthwise" (groups == C), "implicit_gemm_wgmma" (Hopper, compute
     * capability 9.x: bf16 / f16, NHWC, C/groups a multiple of 8), "implicit_gemm_mma" (tensor cores:
     * bf16 / f16 with C/groups a multiple of 8, NCHW through channels-last copies; f32 as TF32 where
     * allowed) and "implicit_gemm_fma".
     *
     * @param x the image
     * @param w the filters
     * @param params the convolution's parameters
     * @return the kernel's name
     */
    public static String conv2dAlgorithm(Tensor x, Tensor w, Conv2dParams params) {
        return Convolution.algorithm(new Call("F.conv2dAlgorithm"), x, w, params);
    }

    /**
     * The gradient of conv2d (without activation) with respect to its input.
     *
     * @param gradOut the gradient of the output
     * @param w the filters
     * @param inputShape the input's shape
     * @param params the forward's parameters
     * @return the gradient of x
     */
    public static Tensor conv2dBackwardData(Tensor gradOut, Tensor w, long[] inputShape, Conv2dParams params) {
        return Convolution.backwardData(new Call("F.conv2dBackwardData"), gradOut, w, inputShape, params);
    }

    /**
     * The data gradient of {@link #conv2d(Tensor, Tensor)} (torch.nn.grad.conv2d_input's defaults).
     *
     * @param gradOut the gradient of the output
     * @param w the filters
     * @param inputShape the input's shape
     * @return the gradient of x
     */
    public static Tensor conv2dBackwardData(Tensor gradOut, Tensor w, long[] inputShape) {
        return conv2dBackwardData(gradOut, w, inputShape, CONV_DEFAULTS);
    }

    /**
     * The data gradient into a given gradX (its shape gives H and W).
     *
     * @param gradOut the gradient of the output
     * @param w the filters
     * @param params the forward's parameters
     * @param gradX where the gradient of x goes
     * @return gradX
     */
    public static Tensor conv2dBackwardData(Tensor gradOut, Tensor w, Conv2dParams params, Tensor gradX) {
        return Convolution.backwardData(new Call("F.conv2dBackwardData"), gradOut, w, params, gradX);
    }

    /**
     * The gradients of conv2d (without activation) with respect to its weight and bias.
     *
     * @param x the forward's image
     * @param gradOut the gradient of the output
     * @param weightShape the weight's shape
     * @param withBias whether the forward had a bias
     * @param params the forward's parameters
     * @return the gradients of w and (when withBias) of bias
     */
    public static Conv2dWeightGrads conv2dBackwardWeight(Tensor x, Tensor gradOut, long[] weightShape, boolean withBias,
                                                         Conv2dParams params) {
        return Convolution.backwardWeight(new Call("F.conv2dBackwardWeight"), x, gradOut, weightShape, withBias, params);
    }

    /**
     * The weight (and bias) gradients of {@link #conv2d(Tensor, Tensor, Tensor)} (torch.nn.grad.conv2d_weight's
     * defaults).
     *
     * @param x the forward's image
     * @param gradOut the gradient of the output
     * @param weightShape the weight's shape
     * @param withBias whether the forward had a bias
     * @return the gradients of w and (when withBias) of bias
     */
    public static Conv2dWeightGrads conv2dBackwardWeight(Tensor x, Tensor gradOut, long[] weightShape, boolean withBias) {
        return conv2dBackwardWeight(x, gradOut, weightShape, withBias, CONV_DEFAULTS);
    }

    /**
     * The weight gradient into gradW and, when gradBias is not null, the bias gradient into it.
     *
     * @param x the forward's image
     * @param gradOut the gradient of the output
     * @param params the forward's parameters
     * @param gradW where the gradient of w goes
     * @param gradBias where the gradient of bias goes, or null
     */
    public static void conv2dBackwardWeight(Tensor x, Tensor gradOut, Conv2dParams params, Tensor gradW, Tensor gradBias) {
        Convolution.backwardWeight(new Call("F.conv2dBackwardWeight"), x, gradOut, params, gradW, gradBias);
    }

    /**
     * torch.nn.functional.conv_transpose2d: NCHW w [Cin, Cout/groups, R, S], NHWC w [Cin, R, S,
     * Cout/groups]; output padding from params.
     *
     * @param x the image
     * @param w the filters
     * @param bias [Cout] or null
     * @param params the convolution's parameters
     * @return act(convT(x, w) + bias)
     */
    public static Tensor convTranspose2d(Tensor x, Tensor w, Tensor bias, Conv2dParams params) {
        return Convolution.transpose2d(new Call("F.convTranspose2d"), x, w, bias, params);
    }

    /**
     * conv_transpose2d with torch's defaults: no bias, stride 1, no padding or output padding,
     * dilation 1, one group (NCHW).
     *
     * @param x the image [N, Cin, H, W]
     * @param w the filters [Cin, Cout, R, S]
     * @return convT(x, w)
     */
    public static Tensor convTranspose2d(Tensor x, Tensor w) {
        return convTranspose2d(x, w, null, CONV_DEFAULTS);
    }

    /**
     * conv_transpose2d with torch's defaults but the bias.
     *
     * @param x the image [N, Cin, H, W]
     * @param w the filters [Cin, Cout, R, S]
     * @param bias [Cout] or null
     * @return convT(x, w) + bias
     */
    public static Tensor convTranspose2d(Tensor x, Tensor w, Tensor bias) {
        return convTranspose2d(x, w, bias, CONV_DEFAULTS);
    }

    /**
     * @param x the image
     * @param w the filters
     * @param bias [Cout] or null
     * @param params the convolution's parameters
     * @param out where the result goes
     * @return out
     */
    public static Tensor convTranspose2d(Tensor x, Tensor w, Tensor bias, Conv2dParams params, Tensor out) {
        return Convolution.transpose2d(new Call("F.convTranspose2d"), x, w, bias, params, out);
    }

    // ---- scaled dot-product attention ----
    // q [B, Hq, Lq, D], k and v [B, Hkv, Lk, D], Hkv dividing Hq (GQA / MQA); or, as torch, [..., L, D]
    // with the same leading dims for all three. Any D from 1 to 256: 32, 64, 96, 128 and 256 run as they
    // are, others padded with zero columns to the next of those. q, k and v may be views whose last dim
    // is contiguous (the heads of a fused QKV projection's [B, L, H, D] output, permuted), read in place.

    /**
     * torch.nn.functional.scaled_dot_product_attention(q, k, v).
     *
     * @param q the queries
     * @param k the keys
     * @param v the values
     * @return softmax(q k^T / sqrt(D)) v
     */
    public static Tensor scaledDotProductAttention(Tensor q, Tensor k, Tensor v) {
        return scaledDotProductAttention(q, k, v, false);
    }

    /**
     * As torch's with is_causal: query row i sees keys j &lt;= i (top-left aligned).
     *
     * @param q the queries
     * @param k the keys
     * @param v the values
     * @param isCausal whether to mask the future
     * @return the attention's output
     */
    public static Tensor scaledDotProductAttention(Tensor q, Tensor k, Tensor v, boolean isCausal) {
        AttentionParams p = AttentionParams.defaults().withCausal(isCausal ? CausalMask.TOP_LEFT : CausalMask.NONE);
        AttentionResult r = Attention.forward(new Call("F.scaledDotProductAttention"), q, k, v, p);
        r.logsumexp().close();
        return r.out();
    }

    /**
     * The forward with every option. A row with no allowed key gets out = 0 and logsumexp = -inf.
     *
     * @param q the queries
     * @param k the keys
     * @param v the values
     * @param p scale, causal mask, key lengths, bias
     * @return out [B, Hq, Lq, D] in q's dtype and the f32 logsumexp [B, Hq, Lq] the backward needs
     */
    public static AttentionResult scaledDotProductAttention(Tensor q, Tensor k, Tensor v, AttentionParams p) {
        return Attention.forward(new Call("F.scaledDotProductAttention"), q, k, v, p);
    }

    /**
     * The forward into out, which may be a view whose last dim is contiguous: a [B, Lq, Hq, D] tensor
     * permuted to [B, Hq, Lq, D] receives the heads side by side, ready for the output projection.
     *
     * @param q the queries
     * @param k the keys
     * @param v the values
     * @param p scale, causal mask, key lengths, bias
     * @param out where the output goes, of q's shape and dtype
     * @return out
     */
    public static Tensor scaledDotProductAttention(Tensor q, Tensor k, Tensor v, AttentionParams p, Tensor out) {
        Call c = new Call("F.scaledDotProductAttention");
        Attention.forward(c, q, k, v, p, c.required("out", out, "where the output goes")).logsumexp().close();
        return out;
    }

    /**
     * The gradients from the forward's out and logsumexp (the probabilities are recomputed, never stored).
     *
     * @param q the forward's queries
     * @param k the forward's keys
     * @param v the forward's values
     * @param forward the forward's result
     * @param gradOut the gradient of the output
     * @param p the forward's parameters
     * @return the gradients of q, k and v
     */
    public static AttentionGrads scaledDotProductAttentionBackward(Tensor q, Tensor k, Tensor v, AttentionResult forward,
                                                                   Tensor gradOut, AttentionParams p) {
        return Attention.backward(new Call("F.scaledDotProductAttentionBackward"), q, k, v, forward, gradOut, p);
    }

    // ---- pooling: x [N, C, H, W] (or NHWC, per the params' layout) ----

    /**
     * torch.nn.functional.max_pool2d: the largest value of each window (NaN propagates).
     *
     * @param x the image, f32 / f16 / bf16
     * @param p the window and layout
     * @return the pooled image
     */
    public static Tensor maxPool2d(Tensor x, Pool2dParams p) {
        return Pooling.forward(new Call("F.maxPool2d"), x, Spec.windowed(true, p), false).output();
    }

    /**
     * max_pool2d with return_indices=True: the output and each maximum's index h * W + w within its plane.
     *
     * @param x the image
     * @param p the window and layout
     * @return the output and the int64 indices
     */
    public static PoolResult maxPool2dWithIndices(Tensor x, Pool2dParams p) {
        return Pooling.forward(new Call("F.maxPool2dWithIndices"), x, Spec.windowed(true, p), true);
    }

    /**
     * The gradient of {@link #maxPool2dWithIndices}: gradOut routed to each window's maximum, summed
     * where windows overlap.
     *
     * @param gradOut the gradient of the output
     * @param indices the forward's indices
     * @param inputShape the forward's input shape
     * @param p the forward's parameters
     * @return the gradient of x
     */
    public static Tensor maxPool2dBackward(Tensor gradOut, Tensor indices, long[] inputShape, Pool2dParams p) {
        return Pooling.backward(new Call("F.maxPool2dBackward"), gradOut, indices, inputShape, Spec.windowed(true, p));
    }

    /**
     * torch.nn.functional.avg_pool2d: each window's mean, its divisor per the params
     * (count_include_pad, divisor_override).
     *
     * @param x the image
     * @param p the window and layout
     * @return the pooled image
     */
    public static Tensor avgPool2d(Tensor x, Pool2dParams p) {
        return Pooling.forward(new Call("F.avgPool2d"), x, Spec.windowed(false, p), false).output();
    }

    /**
     * The gradient of {@link #avgPool2d}.
     *
     * @param gradOut the gradient of the output
     * @param inputShape the forward's input shape
     * @param p the forward's parameters
     * @return the gradient of x
     */
    public static Tensor avgPool2dBackward(Tensor gradOut, long[] inputShape, Pool2dParams p) {
        return Pooling.backward(new Call("F.avgPool2dBackward"), gradOut, null, inputShape, Spec.windowed(false, p));
    }

    /**
     * torch.nn.functional.adaptive_avg_pool2d: output (i, j) averages the bin
     * [floor(i H / outH), ceil((i + 1) H / outH)) x [floor(j W / outW), ceil((j + 1) W / outW)).
     *
     * @param x the image
     * @param outH the output height, &gt;= 0
     * @param outW the output width, &gt;= 0
     * @param layout the image layout
     * @return the pooled image
     */
    public static Tensor adaptiveAvgPool2d(Tensor x, int outH, int outW, Conv2dParams.Layout layout) {
        return Pooling.forward(new Call("F.adaptiveAvgPool2d"), x, Spec.adaptive(false, outH, outW, layout), false).output();
    }

    /**
     * adaptiveAvgPool2d on NCHW.
     *
     * @param x the image [N, C, H, W]
     * @param outH the output height
     * @param outW the output width
     * @return the pooled image
     */
    public static Tensor adaptiveAvgPool2d(Tensor x, int outH, int outW) {
        return adaptiveAvgPool2d(x, outH, outW, Conv2dParams.Layout.NCHW);
    }

    /**
     * The gradient of {@link #adaptiveAvgPool2d}.
     *
     * @param gradOut the gradient of the output
     * @param inputShape the forward's input shape
     * @param layout the image layout
     * @return the gradient of x
     */
    public static Tensor adaptiveAvgPool2dBackward(Tensor gradOut, long[] inputShape, Conv2dParams.Layout layout) {
        Call c = new Call("F.adaptiveAvgPool2dBackward");
        long[] g = c.tensor("gradOut", gradOut).shape();
        boolean nhwc = layout == Conv2dParams.Layout.NHWC;
        return Pooling.backward(c, gradOut, null, inputShape,
                Spec.adaptive(false, spatial(g, nhwc, 0), spatial(g, nhwc, 1), layout));
    }

    /**
     * torch.nn.functional.adaptive_max_pool2d with return_indices=True, over adaptiveAvgPool2d's bins.
     *
     * @param x the image
     * @param outH the output height
     * @param outW the output width
     * @param layout the image layout
     * @return the output and the int64 indices
     */
    public static PoolResult adaptiveMaxPool2d(Tensor x, int outH, int outW, Conv2dParams.Layout layout) {
        return Pooling.forward(new Call("F.adaptiveMaxPool2d"), x, Spec.adaptive(true, outH, outW, layout), true);
    }

    /**
     * The gradient of {@link #adaptiveMaxPool2d}.
     *
     * @param gradOut the gradient of the output
     * @param indices the forward's indices
     * @param inputShape the forward's input shape
     * @param layout the image layout
     * @return the gradient of x
     */
    public static Tensor adaptiveMaxPool2dBackward(Tensor gradOut, Tensor indices, long[] inputShape,
                                                   Conv2dParams.Layout layout) {
        Call c = new Call("F.adaptiveMaxPool2dBackward");
        long[] g = c.tensor("gradOut", gradOut).shape();
        boolean nhwc = layout == Conv2dParams.Layout.NHWC;
        return Pooling.backward(c, gradOut, indices, inputShape,
                Spec.adaptive(true, spatial(g, nhwc, 0), spatial(g, nhwc, 1), layout));
    }

    /**
     * Spatial pyramid pooling (He et al.): for each level l, adaptiveMaxPool2d(x, l, l) flattened
     * as [C, l, l], the levels concatenated into [N, C * sum(l^2)]; one launch reading x once.
     *
     * @param x the image
     * @param levels the grid sizes, e.g. {1, 2, 4} or {6, 3, 2, 1} (1 to 8 of them)
     * @param layout the image layout
     * @return the pooled features [N, C * sum(levels^2)]
     */
    public static Tensor spatialPyramidPool(Tensor x, int[] levels, Conv2dParams.Layout layout) {
        return Pooling.spp(new Call("F.spatialPyramidPool"), x, levels, layout);
    }

    /**
     * YOLOv5's SPPF pooling: the channel concat of x, m(x), m(m(x)) and m(m(m(x))), m a kernel x
     * kernel max pool of stride 1 and padding kernel / 2 - with kernel 5, x and max pools of 5, 9
     * and 13; [N, 4C, H, W] (or NHWC) in one launch reading x once.
     *
     * @param x the image
     * @param kernel the pool's odd kernel size, 1 to 13 (YOLOv5: 5)
     * @param layout the image layout
     * @return the four stages, concatenated over channels
     */
    public static Tensor sppf(Tensor x, int kernel, Conv2dParams.Layout layout) {
        return Pooling.sppf(new Call("F.sppf"), x, kernel, layout);
    }

    // ---- resizing: x [N, C, H, W] (or NHWC, per the params' layout) ----

    /**
     * torch.nn.functional.interpolate(x, size=size, mode=..., align_corners=..., antialias=...).
     *
     * @param x the image, f32 / f16 / bf16
     * @param size the output's {height, width}, each &gt;= 1
     * @param p the mode, align_corners, antialias and layout
     * @return the resized image
     */
    public static Tensor interpolate(Tensor x, long[] size, InterpolateParams p) {
        Call c = new Call("F.interpolate");
        return Resizing.forward(c, x, Resizing.size(c, size), null, p);
    }

    /**
     * interpolate(x, scale_factor=scaleFactor, ...): the output is floor(H * sh) x floor(W * sw) and
     * the sampling uses the factors themselves (torch's recompute_scale_factor=False).
     *
     * @param x the image
     * @param scaleFactor {height factor, width factor}, finite, &gt; 0
     * @param p the mode, align_corners, antialias and layout
     * @return the resized image
     */
    public static Tensor interpolate(Tensor x, double[] scaleFactor, InterpolateParams p) {
        Call c = new Call("F.interpolate");
        Tensor in = c.tensor("x", x);
        c.required("params", p, "interpolation parameters");
        return Resizing.forward(c, x, Resizing.sizeOf(c, in.shape(), p.layout(), scaleFactor), scaleFactor, p);
    }

    /**
     * The gradient of {@link #interpolate(Tensor, long[], InterpolateParams)}: the resize's
     * transpose applied to gradOut (a deterministic gather).
     *
     * @param gradOut the gradient of the output
     * @param inputShape the forward's input shape
     * @param p the forward's parameters
     * @return the gradient of x
     */
    public static Tensor interpolateBackward(Tensor gradOut, long[] inputShape, InterpolateParams p) {
        return Resizing.backward(new Call("F.interpolateBackward"), gradOut, inputShape, null, p);
    }

    /**
     * The gradient of {@link #interpolate(Tensor, double[], InterpolateParams)}.
     *
     * @param gradOut the gradient of the output
     * @param inputShape the forward's input shape
     * @param scaleFactor the forward's scale factors
     * @param p the forward's parameters
     * @return the gradient of x
     */
    public static Tensor interpolateBackward(Tensor gradOut, long[] inputShape, double[] scaleFactor, InterpolateParams p) {
        Call c = new Call("F.interpolateBackward");
        c.required("scaleFactor", scaleFactor, "the forward's scale factors");
        return Resizing.backward(c, gradOut, inputShape, scaleFactor, p);
    }

    /**
     * MTCNN's image pyramid in one launch: x resized to scale s_k = (minSize / minObject) factor^k
     * for k = 0, 1, ... while min(H, W) s_k &gt;= minSize, level k ceil(H s_k) x ceil(W s_k), each
     * exactly {@code interpolate(x, size_k, p)}; the levels packed in one buffer. MTCNN: minSize 12
     * (P-Net's window), minObject 20 (the smallest face), factor 0.709.
     *
     * @param x the image
     * @param minSize the detector's window, &gt; 0
     * @param minObject the smallest object to find, &gt;= minSize
     * @param factor the scale step, in (0, 1)
     * @param p how each level is resized (scale factors are not used)
     * @return the packed buffer and each level as a view of it
     */
    public static ImagePyramid imagePyramid(Tensor x, double minSize, double minObject, double factor, InterpolateParams p) {
        return Resizing.pyramid(new Call("F.imagePyramid"), x, minSize, minObject, factor, p);
    }

    /** Spatial dim d (0 = H, 1 = W) of a 4-D image shape, or 0 for another rank (the op then rejects it). */
    private static int spatial(long[] shape, boolean nhwc, int d) {
        if (shape.length != 4) return 0;
        return (int) Math.min(Integer.MAX_VALUE, shape[(nhwc ? 1 : 2) + d]);
    }
}
