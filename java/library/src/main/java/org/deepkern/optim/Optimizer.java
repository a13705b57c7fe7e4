package org.deepkern.optim;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.deepkern.DType;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.internal.Call;
import org.deepkern.internal.ops.Optim;

/**
 * An optimizer over a fixed list of parameters (torch.optim's {@code Optimizer}): {@link #step()}
 * updates, in place and in ONE native launch, every parameter whose {@link Tensor#grad()} is set
 * (parameters without a gradient are skipped, as torch skips them), from the gradients the tensors
 * carry. The optimizer state (moment estimates, momentum buffers, f32 master weights, step counts)
 * is made lazily on a parameter's first step, on its device, outside every {@link Scope}, and is
 * owned by the optimizer: {@link #close()} releases it.
 *
 * <p>Master weights (option {@code masterWeights}): for an f16 or bf16 parameter the optimizer
 * keeps an f32 copy, taken from the parameter on its first step; each step updates the copy with
 * the (upcast) gradient and writes its rounding back into the parameter in the same kernel, so
 * small updates are not lost to 16-bit rounding. A parameter changed from outside after its first
 * step is overwritten by the copy on the next step.
 *
 * <p>Gradient clipping (option {@code maxGradNorm} &gt; 0): before each step the global L2 norm of
 * the gradients is computed on the device and the step reads each gradient times
 * {@code min(maxGradNorm / (norm + 1e-6), 1)} (torch's clip_grad_norm_ followed by the step, with
 * no host round trip); the gradients themselves are left as they are. {@link #lastGradNorm()}
 * holds the norm.
 */
public abstract class Optimizer implements AutoCloseable {
    private final String name;
    private final List<Tensor> params;
    private final Map<Tensor, Long> steps = new IdentityHashMap<>();
    private final Map<Tensor, Tensor> masters = new IdentityHashMap<>();
    private final double maxGradNorm;
    private final boolean masterWeights;
    private Tensor gradNorm;
    private Tensor clipScale;
    private boolean closed;

    /**
     * Checks the parameter list: given, not empty, open floating tensors on one device, none twice.
     *
     * @param name the optimizer's name, as messages give it ({@code AdamW})
     * @param params the parameters
     * @param masterWeights whether 16-bit parameters get f32 master weights
     * @param maxGradNorm the global gradient norm to clip to before each step; 0 for none
     */
    Optimizer(String name, List<Tensor> params, boolean masterWeights, double maxGradNorm) {
        this.name = name;
        Call c = new Call("new " + name);
        if (params == null) throw c.invalid("params", "expected a list of tensors, got null");
        if (params.isEmpty()) throw c.invalid("params", "expected at least one parameter, got an empty list");
        Map<Tensor, Integer> seen = new IdentityHashMap<>();
        for (int i = 0; i < params.size(); i++) {
            Tensor p = c.tensor("params[" + i + "]", params.get(i));
            if (!p.dtype().isFloating())
                throw c.invalid("params[" + i + "]", "expected a floating tensor, got " + p.dtype().name().toLowerCase());
            if (!p.isContiguous()) throw c.invalid("params[" + i + "]", "expected a contiguous tensor, got a view");
            Integer before = seen.put(p, i);
            if (before != null) throw c.invalid("params[" + i + "]", "is params[" + before + "] again");
        }
        if (!(maxGradNorm >= 0) || Double.isInfinite(maxGradNorm))
            throw c.invalid("maxGradNorm", "expected a finite value >= 0 (0: no clipping), got " + maxGradNorm);
        this.params = Collections.unmodifiableList(new ArrayList<>(params));
        this.masterWeights = masterWeights;
        this.maxGradNorm = maxGradNorm;
    }

    /**
     * Refuses new options that change what construction fixed (the master weights made, the clip).
     *
     * @param c the call, for its message
     * @param masterWeights the new options' masterWeights
     * @param maxGradNorm the new options' maxGradNorm
     */
    void checkFixed(Call c, boolean masterWeights, double maxGradNorm) {
        if (masterWeights != this.masterWeights || maxGradNorm != this.maxGradNorm)
            throw c.invalid("options", "masterWeights and maxGradNorm are fixed at construction (" + this.masterWeights
                    + ", " + this.maxGradNorm + "), got " + masterWeights + ", " + maxGradNorm);
    }

    /** @return the parameters, in the order given */
    public List<Tensor> parameters() {
        return params;
    }

    /** Clears the gradient of every parameter ({@link Tensor#clearGrad()}; torch's {@code zero_grad(set_to_none=True)}). */
    public void zeroGrad() {
        for (Tensor p : params) p.clearGrad();
    }

    /**
     * The steps parameter p has taken (torch's per-parameter {@code state['step']}).
     *
     * @param p one of the parameters
     * @return its step count, 0 before its first step
     */
    public long stepCount(Tensor p) {
        return steps.getOrDefault(p, 0L);
    }

    /**
     * The f32 master weights of a 16-bit parameter, or null (none made, or option off).
     *
     * @param p one of the parameters
     * @return its master copy, owned by the optimizer
     */
    public Tensor masterWeights(Tensor p) {
        return masters.get(p);
    }

    /**
     * The global gradient norm of the last step's gradients, an f32 tensor of one element on the
     * device, when clipping is on; else null. Owned by the optimizer.
     *
     * @return the norm, or null
     */
    public Tensor lastGradNorm() {
        return gradNorm;
    }

    /** Updates every parameter that has a gradient, in one launch per parameter dtype present; does nothing if none has. */
    public void step() {
        Call c = new Call(name + ".step");
        if (closed) throw c.invalid("this", "the optimizer is closed");
        List<Tensor> ps = new ArrayList<>(), gs = new ArrayList<>(), ms = new ArrayList<>();
        List<Integer> index = new ArrayList<>();
        boolean anyMaster = false;
        for (int i = 0; i < params.size(); i++) {
            Tensor p = params.get(i);
            if (p.isClosed()) throw c.invalid("params[" + i + "]", "tensor is closed");
            Tensor g = p.grad();
            if (g == null) continue;
            ps.add(p);
            gs.add(g);
            index.add(i);
            Tensor m = null;
            if (masterWeights && p.dtype() != DType.F32) {
                m = masters.get(p);
                if (m == null) {
                    m = Scope.detach(p.to(DType.F32));
                    masters.put(p, m);
                }
                anyMaster = true;
            }
            ms.add(m);
        }
        if (ps.isEmpty()) return;
        long[] counts = new long[ps.size()];
        for (int k = 0; k < ps.size(); k++) counts[k] = steps.getOrDefault(ps.get(k), 0L) + 1;
        Tensor scale = null;
        if (maxGradNorm > 0) {
            if (gradNorm == null) {
                gradNorm = Scope.detach(Tensor.zeros(new long[] {1}, DType.F32, ps.get(0).device()));
                clipScale = Scope.detach(Tensor.zeros(new long[] {1}, DType.F32, ps.get(0).device()));
            }
            Optim.gradNorm(c, gs, maxGradNorm, gradNorm, clipScale);
            scale = clipScale;
        }
        update(c, ps, gs, anyMaster ? ms : null, counts, scale);
        for (int k = 0; k < ps.size(); k++) steps.put(ps.get(k), counts[k]);
    }

    /**
     * One native step over the parameters that have a gradient.
     *
     * @param c the call, for its checks and messages
     * @param params the parameters that have a gradient
     * @param grads their gradients
     * @param masters their master weights (null entries for none), or null when none has any
     * @param steps the step each takes now (1 on its first)
     * @param gradScale the clip scale to multiply the gradients by, or null
     */
    abstract void update(Call c, List<Tensor> params, List<Tensor> grads, List<Tensor> masters, long[] steps,
                         Tensor gradScale);

    /**
     * A zero f32 state tensor shaped like p, on its device, owned by the optimizer.
     *
     * @param p the parameter
     * @return the state tensor
     */
    static Tensor zeroState(Tensor p) {
        return Scope.detach(Tensor.zeros(p.shape(), DType.F32, p.device()));
    }

    /** Releases the state of one optimizer subclass. */
    abstract void closeState();

    /** Releases the optimizer's state; the parameters stay the caller's. A second call does nothing. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        closeState();
        for (Tensor m : masters.values()) m.close();
        masters.clear();
        if (gradNorm != null) gradNorm.close();
        if (clipScale != null) clipScale.close();
    }
}
