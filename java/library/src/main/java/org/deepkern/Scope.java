package org.deepkern;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Set;

/**
 * A resource scope, as in DJL: every tensor made on this thread while the scope is the innermost
 * open one is closed with it. Scopes nest and belong to the thread that opened them; tensors made
 * outside any scope are the caller's to close.
 *
 * <pre>{@code
 * try (Scope scope = Scope.open()) {
 *     Tensor y = F.gelu(Tensor.randn(1024));
 *     return scope.keep(y);          // survives the scope
 * }
 * }</pre>
 */
public final class Scope implements AutoCloseable {
    private static final ThreadLocal<ArrayDeque<Scope>> OPEN = ThreadLocal.withInitial(ArrayDeque::new);

    // in the order made; a tensor closed early leaves it, so a long loop in one scope holds only its live tensors
    private final Set<Tensor> tensors = Collections.newSetFromMap(new LinkedHashMap<>());
    private boolean closed;

    private Scope() {}

    /**
     * Opens a scope on this thread; it is the innermost one until it is closed or another opens.
     *
     * @return the new scope, to close (try-with-resources)
     */
    public static Scope open() {
        Scope s = new Scope();
        OPEN.get().push(s);
        return s;
    }

    static void register(Tensor t) {
        Scope s = OPEN.get().peek();
        if (s != null) s.tensors.add(t);
    }

    /** A tensor closed before its scope: the scope forgets it. */
    static void closed(Tensor t) {
        for (Scope s : OPEN.get())
            if (s.tensors.remove(t)) return;
    }

    /**
     * Moves t out of this scope, into the enclosing one if there is one (else the caller owns it).
     * A tensor this scope does not hold is left as it is.
     *
     * @param t the tensor (null stays null)
     * @return t
     */
    public Tensor keep(Tensor t) {
        if (tensors.remove(t)) {
            Iterator<Scope> it = OPEN.get().iterator();  // innermost first
            while (it.hasNext()) {
                if (it.next() == this) {
                    if (it.hasNext()) it.next().tensors.add(t);
                    break;
                }
            }
        }
        return t;
    }

    /**
     * Takes t out of every scope open on this thread, so that none closes it: the caller owns it
     * from now on (DJL's {@code NDResource.detach}). What must outlive the scopes it was made in,
     * such as a module's parameters, is made and then detached.
     *
     * @param t the tensor (null stays null)
     * @return t
     */
    public static Tensor detach(Tensor t) {
        for (Scope s : OPEN.get()) s.tensors.remove(t);
        return t;
    }

    /**
     * Closes every tensor still registered here, newest first; a second call does nothing. If
     * closing tensors fails, every tensor is still tried and the first failure is thrown.
     */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        OPEN.get().remove(this);
        List<Tensor> held = new ArrayList<>(tensors);
        tensors.clear();
        RuntimeException first = null;
        for (int i = held.size() - 1; i >= 0; i--) {
            try {
                held.get(i).close();
            } catch (RuntimeException e) {
                if (first == null) first = e;
            }
        }
        if (first != null) throw first;
    }
}
