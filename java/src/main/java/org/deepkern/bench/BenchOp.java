package org.deepkern.bench;

import java.util.List;
import org.deepkern.DType;
import org.deepkern.Tensor;

/**
 * One op the harness can run: its operands, how to call it, what it costs, and how to tell a
 * right result from a wrong one on the host. Ops join the benchmark by an entry in {@link Cases}.
 *
 * <p>A case has one shape (the table's); the op says which tensors it reads and writes in terms
 * of it: one input and one output of that shape unless it says otherwise (none for a generator;
 * x and gradOut for a backward; a bias [C] over the last dim; a split gated unit's half-width
 * output). The harness makes every input (normal samples in the case's dtype), poisons every
 * output, and counts every input read once and every output written once for GB/s and the
 * roofline ({@link BenchCase#bytes}).
 */
public interface BenchOp {
    /** The name in the table and in --ops, e.g. "gelu_tanh". */
    String name();

    /** The dtype the op writes for inputs of dtype {@code in}. */
    default DType outputDtype(DType in) {
        return in;
    }

    /** The shapes of the inputs, in the order {@link #run} takes them; empty for generators. */
    default List<long[]> inputShapes(long[] shape) {
        return List.of(shape);
    }

    /** The shapes of the outputs, in the order {@link #run} takes them. */
    default List<long[]> outputShapes(long[] shape) {
        return List.of(shape);
    }

    /** FLOP per element of the case's shape, counting each transcendental as the few FLOP its polynomial costs. */
    double flopsPerElement();

    /** Writes every output from the inputs. */
    void run(Tensor[] in, Tensor[] out);

    /** Null when the outputs are right for the inputs (host values, same order) of a case of this shape, else what is wrong. */
    String verify(long[] shape, float[][] in, float[][] out, DType outputDtype);
}
