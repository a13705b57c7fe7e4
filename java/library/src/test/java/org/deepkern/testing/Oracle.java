package org.deepkern.testing;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntToDoubleFunction;
import org.junit.jupiter.api.Assumptions;

/**
 * An outside library (PyTorch through the presets) as a second opinion, checked before it judges:
 * each of its answers is first compared with the independent double reference on the same inputs.
 * Where it is wrong on this machine, the case says so loudly ("PyTorch wrong on this CPU ...") and is
 * skipped by {@link #judge}: it neither fails nor passes deepkern, which the test asserts against the
 * double reference on its own. Where it is right, deepkern is compared with it as well.
 *
 * <pre>{@code
 * Oracle torch = Oracle.torch();
 * torch.vet("gelu value", reference, torchValue, rtol, atol);   // the oracle against the reference
 * Close.assertClose(reference, ours, rtol, atol, "gelu value"); // deepkern against the reference
 * torch.judge(() -> Close.assertClose(doubles(torchValue), ours, rtol, atol, "gelu vs torch"));
 * }</pre>
 */
public final class Oracle {
    private final String name;
    private final List<String> wrong = new ArrayList<>();
    private final List<Runnable> pending = new ArrayList<>();

    private Oracle(String name) {
        this.name = name;
    }

    public static Oracle torch() {
        return named("PyTorch");
    }

    static Oracle named(String name) {
        return new Oracle(name);
    }

    /** Compares the oracle's answer with the double reference; an answer off by more than the tolerance is wrong. */
    public Oracle vet(String what, double[] reference, float[] answer, double rtol, IntToDoubleFunction atol) {
        String why = Close.mismatch(reference, answer, rtol, atol, what);
        if (why != null) wrong.add(why);
        return this;
    }

    public Oracle vet(String what, double[] reference, float[] answer, double rtol, double atol) {
        return vet(what, reference, answer, rtol, i -> atol);
    }

    /** Whether every answer vetted so far agreed with the double reference. */
    public boolean trusted() {
        return wrong.isEmpty();
    }

    /** Queues a comparison of deepkern with the oracle for {@link #judge()}. */
    public Oracle compare(Runnable comparison) {
        pending.add(comparison);
        return this;
    }

    /** Runs these comparisons and the queued ones when the oracle was right (see {@link #judge()}). */
    public void judge(Runnable comparisons) {
        compare(comparisons).judge();
    }

    /**
     * Runs the queued comparisons of deepkern with the oracle when the oracle was right; otherwise
     * reports the oracle's error on stderr and skips the case (a JUnit assumption).
     */
    public void judge() {
        if (trusted()) {
            pending.forEach(Runnable::run);
            pending.clear();
            return;
        }
        String message = name + " wrong on this CPU (" + Machine.cpu() + "), so it does not judge this case: "
                + String.join("; ", wrong) + " -- vs the double reference";
        System.err.println("ORACLE WRONG: " + message);
        Assumptions.abort(message);
    }
}
