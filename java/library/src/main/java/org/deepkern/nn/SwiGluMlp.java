package org.deepkern.nn;

import java.util.Objects;
import org.deepkern.DType;
import org.deepkern.DeepKern;
import org.deepkern.Device;
import org.deepkern.Generator;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.ops.F;

/**
 * The gated feed-forward of LLaMA-style blocks: down(silu(gate(x)) * up(x)), three Linears (gate
 * and up E -> hidden, down hidden -> E), with an optional residual added in down's epilogue. The
 * submodules are "gate", "up" and "down".
 */
public final class SwiGluMlp extends Module {
    private final Linear gate, up, down;

    /**
     * LLaMA's form, without biases, f32 on the default device, initialized from the default generator.
     *
     * @param embed E, the input's and output's last dim
     * @param hidden the hidden width
     */
    public SwiGluMlp(long embed, long hidden) {
        this(embed, hidden, false, DType.F32, DeepKern.defaultDevice(), Generator.defaultGenerator());
    }

    /**
     * Three Linears with torch's initialization, drawn gate, up, down.
     *
     * @param embed E, the input's and output's last dim
     * @param hidden the hidden width
     * @param bias whether the Linears have biases
     * @param dtype the parameters' dtype
     * @param device where the parameters live
     * @param generator the random source of the initialization
     */
    public SwiGluMlp(long embed, long hidden, boolean bias, DType dtype, Device device, Generator generator) {
        this(new Linear(embed, hidden, bias, dtype, device, generator), new Linear(embed, hidden, bias, dtype, device, generator),
                new Linear(hidden, embed, bias, dtype, device, generator));
    }

    /**
     * An MLP of given Linears, which it adopts.
     *
     * @param gate E -> hidden, through silu
     * @param up E -> hidden
     * @param down hidden -> E
     */
    public SwiGluMlp(Linear gate, Linear up, Linear down) {
        this.gate = registerModule("gate", Objects.requireNonNull(gate, "gate"));
        this.up = registerModule("up", Objects.requireNonNull(up, "up"));
        this.down = registerModule("down", Objects.requireNonNull(down, "down"));
    }

    @Override
    public Tensor forward(Tensor input) {
        return forward(input, null);
    }

    /**
     * mlp(x) + residual.
     *
     * @param input [..., E]
     * @param residual [..., E], or null for none
     * @return [..., E]
     */
    public Tensor forward(Tensor input, Tensor residual) {
        try (Scope scope = Scope.open()) {
            Tensor hidden = F.swiglu(gate.forward(input), up.forward(input));
            return scope.keep(down.forward(hidden, residual));
        }
    }
}
