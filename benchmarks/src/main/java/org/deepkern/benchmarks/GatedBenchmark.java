package org.deepkern.benchmarks;

import java.util.concurrent.TimeUnit;
import org.deepkern.Generator;
import org.deepkern.DType;
import org.deepkern.DeepKern;
import org.deepkern.Device;
import org.deepkern.Tensor;
import org.deepkern.ops.Act;
import org.deepkern.ops.F;
import org.deepkern.ops.GatedGrads;
import org.openjdk.jmh.annotations.*;

/**
 * SwiGLU on the default device, split form [rows, 2H] -> [rows, H] and two-tensor form, forward
 * and backward. Run: java -jar benchmarks/target/deepkern-benchmarks.jar Gated
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class GatedBenchmark {
    @Param({"1024"})
    public long rows;

    @Param({"4096"})
    public long hidden;

    @Param({"F32", "BF16"})
    public DType dtype;

    private Device device;
    private Tensor x, gate, up, gradOut;

    @Setup
    public void setup() {
        device = DeepKern.defaultDevice();
        x = Tensor.randn(new long[] {rows, 2 * hidden}, dtype, device, new Generator(1));
        gate = Tensor.randn(new long[] {rows, hidden}, dtype, device, new Generator(2));
        up = Tensor.randn(new long[] {rows, hidden}, dtype, device, new Generator(3));
        gradOut = Tensor.randn(new long[] {rows, hidden}, dtype, device, new Generator(4));
    }

    @TearDown
    public void tearDown() {
        for (Tensor t : new Tensor[] {x, gate, up, gradOut}) t.close();
    }

    @Benchmark
    public void splitForward() {
        try (Tensor y = F.swiglu(x)) {
            DeepKern.synchronize(device);
        }
    }

    @Benchmark
    public void twoTensorForward() {
        try (Tensor y = F.swiglu(gate, up)) {
            DeepKern.synchronize(device);
        }
    }

    @Benchmark
    public void splitBackward() {
        try (Tensor g = F.gatedBackward(Act.silu(), x, gradOut)) {
            DeepKern.synchronize(device);
        }
    }

    @Benchmark
    public void twoTensorBackward() {
        try (GatedGrads g = F.gatedBackward(Act.silu(), gate, up, gradOut)) {
            DeepKern.synchronize(device);
        }
    }
}
