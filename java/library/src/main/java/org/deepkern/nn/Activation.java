package org.deepkern.nn;

import java.util.Objects;
import org.deepkern.Tensor;
import org.deepkern.ops.Act;
import org.deepkern.ops.F;

/** An activation as a module, e.g. {@code new Activation(Act.gelu())}; backward recomputes from the input. */
public final class Activation implements Module {
    private final Act act;

    public Activation(Act act) {
        this.act = Objects.requireNonNull(act, "act");
    }

    public Act act() {
        return act;
    }

    @Override
    public Tensor forward(Tensor input) {
        return F.activation(act, input);
    }

    /** The gradient with respect to the input, given the gradient of the output. */
    public Tensor backward(Tensor input, Tensor gradOutput) {
        return F.activationBackward(act, input, gradOutput);
    }

    @Override
    public String toString() {
        return "Activation(" + act + ")";
    }
}
