package org.deepkern.bench;

import java.util.Arrays;
import java.util.stream.Collectors;
import org.deepkern.DType;

/** One row of the benchmark: an op on one input dtype and shape. */
public record BenchCase(BenchOp op, DType dtype, long[] shape) {

    public long numel() {
        return Arrays.stream(shape).reduce(1, Math::multiplyExact);
    }

    public DType outputDtype() {
        return op.outputDtype(dtype);
    }

    /** Bytes the op must move: each input element read once, each output element written once. */
    public double bytes() {
        return (double) numel() * ((op.hasInput() ? dtype.byteSize() : 0) + outputDtype().byteSize());
    }

    public double flops() {
        return numel() * op.flopsPerElement();
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
