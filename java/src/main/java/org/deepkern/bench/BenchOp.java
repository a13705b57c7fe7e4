package org.deepkern.bench;

import org.deepkern.DType;
import org.deepkern.Tensor;

/**
 * One op the harness can run: how to call it, what it costs, and how to tell a right result
 * from a wrong one on the host. Ops join the benchmark by an entry in {@link Cases}.
 */
public interface BenchOp {
    /** The name in the table and in --ops, e.g. "gelu_tanh". */
    String name();

    /** The dtype the op writes for an input of dtype {@code in}. */
    default DType outputDtype(DType in) {
        return in;
    }

    /** False for generators (randn): the harness then passes no input tensor. */
    default boolean hasInput() {
        return true;
    }

    /** FLOP per element, counting each transcendental as the few FLOP its polynomial costs. */
    double flopsPerElement();

    /** out = op(input); input is null when {@link #hasInput} is false. */
    void run(Tensor input, Tensor out);

    /** Null when {@code output} is right for {@code input} (host values), else what is wrong. */
    String verify(float[] input, float[] output, DType outputDtype);
}
