package org.deepkern.cli.bench;

import java.util.Arrays;
import java.util.stream.Collectors;
import org.deepkern.DType;

/** One row of the benchmark: an op on one input dtype and shape. */
public record BenchCase(BenchOp op, DType dtype, long[] shape) {

    public long numel() {
        return numel(shape);
    }

    static long numel(long[] shape) {
        return Arrays.stream(shape).reduce(1, Math::multiplyExact);
    }

    public DType outputDtype() {
        return op.outputDtype(dtype);
    }

    /**
     * Bytes the op must move: each element of every input read once (x, gradOut, bias ...), each
     * element of every output written once (grad_in and grad_bias ...).
     */
    public double bytes() {
        return (double) dtype.byteSize() * op.inputShapes(shape).stream().mapToLong(BenchCase::numel).sum()
                + (double) outputDtype().byteSize() * op.outputShapes(shape).stream().mapToLong(BenchCase::numel).sum();
    }

    public double flops() {
        return op.flops(shape);
    }

    public String dtypeLabel() {
        String in = dtype.name().toLowerCase();
        return outputDtype() == dtype ? in : in + "->" + outputDtype().name().toLowerCase();
    }

    public String shapeLabel() {
        return Arrays.stream(shape).mapToObj(Long::toString).collect(Collectors.joining("x"));
    }

    /** A stable name for the case, used to merge peer times measured elsewhere. */
    public String id() {
        return op.name() + ":" + dtypeLabel() + ":" + shapeLabel();
    }
}
