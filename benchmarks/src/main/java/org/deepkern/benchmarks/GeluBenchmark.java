package org.deepkern.benchmarks;

import java.util.concurrent.TimeUnit;
import org.deepkern.Generator;
import org.deepkern.DType;
import org.deepkern.DeepKern;
import org.deepkern.Device;
import org.deepkern.Tensor;
import org.deepkern.ops.F;
import org.deepkern.ops.GeluApproximation;
import org.openjdk.jmh.annotations.*;

/**
 * F.gelu on the default device (DEEPKERN_DEVICE / -Ddeepkern.device choose another), out of
 * place into a preallocated output; the time includes a device synchronize.
 * Run: java -jar benchmarks/target/deepkern-benchmarks.jar Gelu
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class GeluBenchmark {
    @Param({"1048576", "16777216"})
    public long n;

    @Param({"F32", "BF16"})
    public DType dtype;

    @Param({"NONE", "TANH"})
    public GeluApproximation approximate;

    private Device device;
    private Tensor x;
    private Tensor out;

    @Setup
    public void setup() {
        device = DeepKern.defaultDevice();
        x = Tensor.randn(new long[] {n}, dtype, device, new Generator(1));
        out = Tensor.empty(new long[] {n}, dtype, device);
    }

    @TearDown
    public void tearDown() {
        x.close();
        out.close();
    }

    @Benchmark
    public Tensor gelu() {
        F.gelu(x, approximate, out);
        DeepKern.synchronize(device);
        return out;
    }
}
