package org.deepkern.nn;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.BiConsumer;
import java.util.function.UnaryOperator;
import org.deepkern.DType;
import org.deepkern.DeepKernException;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.autograd.NoGrad;
import org.deepkern.autograd.Tape;

/**
 * A layer, as torch.nn.Module: a function of one tensor built from {@link org.deepkern.ops.F} ops,
 * with named parameters and named submodules (its children), both in the order they were
 * registered.
 *
 * <p>A module owns its parameters, as torch's module owns its {@code nn.Parameter}s: those it
 * makes and those handed to its constructor (it adopts them). It closes them in {@link #close}
 * and when {@link #to(Device)} or {@link #to(DType)} replaces them. Parameters a module makes are
 * detached from every open {@link Scope}, so they live until the module is closed; tensors handed
 * to a constructor stay in the scope they were made in, which closes them too (closing twice is
 * harmless), so a module built from them must not outlive that scope.
 */
public abstract class Module implements AutoCloseable {
    /**
     * What {@link #loadStateDict(Map, boolean)} left out, as torch's {@code _IncompatibleKeys}.
     *
     * @param missingKeys the module's keys the state lacked
     * @param unexpectedKeys the state's keys the module lacks
     */
    public record IncompatibleKeys(List<String> missingKeys, List<String> unexpectedKeys) {
        /**
         * Copies both lists.
         *
         * @param missingKeys the module's keys the state lacked
         * @param unexpectedKeys the state's keys the module lacks
         */
        public IncompatibleKeys {
            missingKeys = List.copyOf(missingKeys);
            unexpectedKeys = List.copyOf(unexpectedKeys);
        }
    }

    // a null value is a parameter the module does not have (torch's register_parameter(name, None))
    private final Map<String, Tensor> parameters = new LinkedHashMap<>();
    private final Map<String, Module> children = new LinkedHashMap<>();
    private boolean training = true;

    /** A module with no parameters and no children yet. */
    protected Module() {}

    /**
     * @param input the input
     * @return the output, a new tensor the caller owns
     */
    public abstract Tensor forward(Tensor input);

    // ---- registration, for subclasses' constructors ----

    /**
     * Adds a parameter the module owns from now on; a floating one is marked {@link
     * Tensor#requiresGrad(boolean)}, as torch's {@code nn.Parameter}, so a tape's backward fills its gradient.
     *
     * @param name its name, unique in this module, without dots
     * @param tensor the tensor, or null for one the module does not have (as torch's bias=False)
     * @return tensor
     */
    protected final Tensor registerParameter(String name, Tensor tensor) {
        checkName(name);
        if (tensor != null && tensor.dtype().isFloating()) tensor.requiresGrad(true);
        parameters.put(name, tensor);
        return tensor;
    }

    /**
     * Adds a submodule the module owns from now on.
     *
     * @param name its name, unique in this module, without dots
     * @param module the submodule
     * @param <M> its type
     * @return module
     */
    protected final <M extends Module> M registerModule(String name, M module) {
        checkName(name);
        if (module == null) throw DeepKernException.invalidArgument("new " + getClass().getSimpleName(), name,
                "expected a module, got null");
        children.put(name, module);
        return module;
    }

    /**
     * A parameter's current tensor: read it at each use, since {@link #to(Device)} replaces it.
     *
     * @param name a registered name
     * @return the tensor, or null where the module does not have that parameter
     */
    protected final Tensor parameter(String name) {
        if (!parameters.containsKey(name)) throw new IllegalStateException(getClass().getSimpleName() + " has no parameter " + name);
        return parameters.get(name);
    }

    private void checkName(String name) {
        if (name == null || name.isEmpty() || name.contains("."))
            throw new IllegalArgumentException("a parameter or submodule name is non-empty without dots, got '" + name + "'");
        if (parameters.containsKey(name) || children.containsKey(name))
            throw new IllegalArgumentException(getClass().getSimpleName() + " already has a member named " + name);
    }

    // ---- parameters and state ----

    /** @return the parameters of this module and its submodules, each once, in {@link #namedParameters} order */
    public final List<Tensor> parameters() {
        return List.copyOf(namedParameters().values());
    }

    /**
     * The parameters by dotted name ("attention.qkv.weight"): this module's own first, then each
     * child's in registration order; a tensor shared by two modules is listed once, under its first
     * name, as torch does.
     *
     * @return an ordered, unmodifiable map of the module's own tensors (not copies)
     */
    public final Map<String, Tensor> namedParameters() {
        Map<String, Tensor> all = new LinkedHashMap<>();
        Map<Tensor, Boolean> seen = new IdentityHashMap<>();
        collect("", (name, t) -> {
            if (seen.put(t, Boolean.TRUE) == null) all.put(name, t);
        });
        return Collections.unmodifiableMap(all);
    }

    /**
     * The state to save and load, by dotted name: every parameter (deepkern modules have no buffers
     * yet), a shared one under each of its names, as torch's {@code state_dict()}.
     *
     * @return a new ordered map (the caller's to change, as torch's OrderedDict) of the module's own
     *         tensors, not copies: do not close them, and {@link Tensor#clone()} what must outlive the module
     */
    public final Map<String, Tensor> stateDict() {
        Map<String, Tensor> all = new LinkedHashMap<>();
        collect("", all::put);
        return all;
    }

    private void collect(String prefix, BiConsumer<String, Tensor> sink) {
        parameters.forEach((name, t) -> {
            if (t != null) sink.accept(prefix + name, t);
        });
        children.forEach((name, child) -> child.collect(prefix + name + ".", sink));
    }

    /**
     * {@link #loadStateDict(Map, boolean)} with strict = true.
     *
     * @param state tensors by dotted name, as {@link #stateDict()} gives them
     * @return no missing and no unexpected keys
     */
    public final IncompatibleKeys loadStateDict(Map<String, Tensor> state) {
        return loadStateDict(state, true);
    }

    /**
     * Copies tensors into this module's parameters (torch's {@code load_state_dict}): converted to
     * the parameter's device, the parameter keeping its tensor. Everything is checked before
     * anything is copied, so a failed load changes nothing. A shape mismatch is an error in both
     * modes; strict mode also rejects missing keys, unexpected keys and a dtype mismatch, where the
     * lenient mode skips the keys and converts the dtype.
     *
     * @param state tensors by dotted name, as {@link #stateDict()} gives them
     * @param strict whether keys and dtypes must match exactly
     * @return the keys the module has and state lacks, and those state has and the module lacks
     * @throws DeepKernException naming {@code Module.loadStateDict}, each bad key, what was expected and what came
     */
    public final IncompatibleKeys loadStateDict(Map<String, Tensor> state, boolean strict) {
        return StateDictLoader.load(this, state, strict);
    }

    // ---- device, dtype, mode ----

    /**
     * Moves every parameter to a device, in place (torch's {@code module.to(device)}): the module
     * keeps the new tensors and closes the old ones.
     *
     * @param device where the parameters go
     * @return this module
     */
    public Module to(Device device) {
        if (device == null) throw DeepKernException.invalidArgument("Module.to", "device", "expected a device, got null");
        return replaceParameters(t -> t.device().equals(device) ? t : t.to(device));
    }

    /**
     * Converts every parameter to a floating dtype, in place (torch's {@code module.to(dtype)}):
     * the module keeps the new tensors and closes the old ones.
     *
     * @param dtype F32, F16 or BF16
     * @return this module
     */
    public Module to(DType dtype) {
        if (dtype == null || !dtype.isFloating()) throw DeepKernException.invalidArgument("Module.to", "dtype",
                "expected a floating dtype, got " + dtype);
        return replaceParameters(t -> t.dtype() == dtype ? t : t.to(dtype));
    }

    /** Applies f to each parameter of the tree once, so that a shared tensor stays shared. */
    private Module replaceParameters(UnaryOperator<Tensor> f) {
        replaceParameters(f, new IdentityHashMap<>());
        return this;
    }

    private void replaceParameters(UnaryOperator<Tensor> f, Map<Tensor, Tensor> done) {
        for (Map.Entry<String, Tensor> e : parameters.entrySet()) {
            Tensor old = e.getValue();
            if (old == null) continue;
            Tensor now = done.get(old);
            if (now == null) {
                try (NoGrad paused = Tape.noGrad()) {
                    now = Scope.detach(f.apply(old));
                }
                if (now != old) now.requiresGrad(old.requiresGrad());
                done.put(old, now);
                done.put(now, now);  // a module met twice already holds the new tensor
                if (now != old) old.close();
            }
            e.setValue(now);
        }
        for (Module child : children.values()) child.replaceParameters(f, done);
    }

    /**
     * Sets training or evaluation mode on this module and its submodules (torch's {@code train(mode)}).
     *
     * @param mode true for training
     * @return this module
     */
    public Module train(boolean mode) {
        training = mode;
        for (Module child : children.values()) child.train(mode);
        return this;
    }

    /** @return this module, in training mode with its submodules */
    public Module train() {
        return train(true);
    }

    /** @return this module, in evaluation mode with its submodules */
    public Module eval() {
        return train(false);
    }

    /** @return whether the module is in training mode (the default) */
    public boolean isTraining() {
        return training;
    }

    // ---- structure ----

    /** @return the direct submodules, in registration order */
    public final List<Module> children() {
        return List.copyOf(children.values());
    }

    /** @return the direct submodules by name, ordered and unmodifiable */
    public final Map<String, Module> namedChildren() {
        return Collections.unmodifiableMap(children);
    }

    /** Closes the parameters of this module and of its submodules. Closing twice is harmless. */
    @Override
    public void close() {
        for (Tensor t : parameters.values()) if (t != null) t.close();
        for (Module child : children.values()) child.close();
    }

    /**
     * The settings torch's repr shows inside the parentheses (its {@code extra_repr}).
     *
     * @return e.g. "in_features=64, out_features=128, bias=True"; empty by default
     */
    protected String extraRepr() {
        return "";
    }

    /** @return torch's repr: the name, the extra repr, and each child as "(name): child", indented */
    @Override
    public String toString() {
        List<String> lines = new ArrayList<>();
        String extra = extraRepr();
        if (!extra.isEmpty()) lines.addAll(List.of(extra.split("\n")));
        children.forEach((name, child) -> lines.add("(" + name + "): " + child.toString().replace("\n", "\n  ")));
        String body = lines.size() == 1 && children.isEmpty() ? lines.get(0)
                : lines.isEmpty() ? "" : "\n  " + String.join("\n  ", lines) + "\n";
        return getClass().getSimpleName() + "(" + body + ")";
    }
}
