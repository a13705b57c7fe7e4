package org.deepkern.nn;

import java.util.Objects;
import org.deepkern.Tensor;
import org.deepkern.ops.Act;
import org.deepkern.ops.F;

/** An activation as a module, e.g. {@code new Activation(Act.gelu())}; backward recomputes from the input. */
public final class Activation extends Module {
    private final Act act;

    /** @param act the activation */
    public Activation(Act act) {
        this.act = Objects.requireNonNull(act, "act");
    }

    /** @return the activation */
    public Act act() {
        return act;
    }

    @Override
    public Tensor forward(Tensor input) {
        return F.activation(act, input);
    }

    /**
     * @param input the forward's input
     * @param gradOutput the gradient of the output
     * @return the gradient of the input
     */
    public Tensor backward(Tensor input, Tensor gradOutput) {
        return F.activationBackward(act, input, gradOutput);
    }

    @Override
    protected String extraRepr() {
        return act.toString();
    }
}
