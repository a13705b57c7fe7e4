package org.deepkern.nn;

import java.util.Objects;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.ops.F;

/**
 * The gated feed-forward of LLaMA-style blocks: down(silu(gate(x)) * up(x)), three Linears (gate
 * and up E -> hidden, down hidden -> E), with an optional residual added in down's epilogue.
 */
public final class SwiGluMlp implements Module {
    private final Linear gate, up, down;

    public SwiGluMlp(Linear gate, Linear up, Linear down) {
        this.gate = Objects.requireNonNull(gate, "gate");
        this.up = Objects.requireNonNull(up, "up");
        this.down = Objects.requireNonNull(down, "down");
    }

    @Override
    public Tensor forward(Tensor input) {
        return forward(input, null);
    }

    /** mlp(x) + residual (null: none). */
    public Tensor forward(Tensor input, Tensor residual) {
        try (Scope scope = Scope.open()) {
            Tensor hidden = F.swiglu(gate.forward(input), up.forward(input));
            return scope.keep(down.forward(hidden, residual));
        }
    }

    @Override
    public String toString() {
        return "SwiGluMlp(gate=" + gate + ", up=" + up + ", down=" + down + ")";
    }
}
