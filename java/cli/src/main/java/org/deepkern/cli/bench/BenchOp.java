package org.deepkern.cli.bench;

import java.util.List;
import org.deepkern.DType;
import org.deepkern.Tensor;

/**
 * One op the harness can run: its operands, how to call it, what it costs, and how to tell a
 * right result from a wrong one on the host. Ops join the benchmark by an entry in {@link Cases}.
 *
 * <p>A case has one shape (the table's): an operand's dims for element-wise and row ops, the
 * op's parameters for the others (GEMM: M x N x K; convolution: see {@link ConvOp}). The op says
 * which tensors it reads and writes in terms of it: one input and one output of that shape unless it says otherwise (none for a generator;
 * x and gradOut for a backward; a bias [C] over the last dim; a split gated unit's half-width
 * output). The harness makes every input (normal samples in the case's dtype), poisons every
 * output, and counts every input read once and every output written once for GB/s and the
 * roofline ({@link BenchCase#bytes}).
 */
public interface BenchOp {
    /** The name in the table and in --ops, e.g. "gelu_tanh". */
    String name();

    /** Whether the case runs with TF32 allowed for its f32 products ({@link Tf32Op}). */
    default boolean tf32() {
        return false;
    }

    /** The dtype the op writes for inputs of dtype {@code in}. */
    default DType outputDtype(DType in) {
        return in;
    }

    /** The shapes of the inputs, in the order {@link #run} takes them; empty for generators. */
    default List<long[]> inputShapes(long[] shape) {
        return List.of(shape);
    }

    /**
     * The op's input values from the harness's normal samples (same order, same lengths), for an op
     * whose operands live in another domain (corner boxes, class ids, a detector head's logits);
     * null, as here: the samples themselves. Applied on the host before any timing, to every input
     * set, ours and the peer's alike.
     */
    default float[][] fromNormals(long[] shape, float[][] normals) {
        return null;
    }

    /** The shapes of the outputs, in the order {@link #run} takes them. */
    default List<long[]> outputShapes(long[] shape) {
        return List.of(shape);
    }

    /**
     * FLOP per element of the case's shape, counting each transcendental as the few FLOP its
     * polynomial costs: the cost model of element-wise ops, whose shape is their operand's.
     */
    default double flopsPerElement() {
        throw new UnsupportedOperationException(name() + " counts its FLOP with flops(shape)");
    }

    /**
     * FLOP of one call on a case of this shape. Element-wise ops: flopsPerElement per element.
     * Ops whose case shape is a list of parameters rather than an operand's dims (a GEMM's M, N,
     * K; a convolution's geometry) count their own, 2 per multiply-add, so a FLOP-bound op's
     * roofline is the arithmetic ceiling.
     */
    default double flops(long[] shape) {
        return BenchCase.numel(shape) * flopsPerElement();
    }

    /**
     * Writes every output from the inputs of a case of this shape. An op whose API returns a fresh
     * output may instead put it in out's place, closing the tensor it displaces.
     */
    void run(long[] shape, Tensor[] in, Tensor[] out);

    /** Null when the outputs are right for the inputs (host values, same order) of a case of this shape, else what is wrong. */
    String verify(long[] shape, float[][] in, float[][] out, DType outputDtype);
}
