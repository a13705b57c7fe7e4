package org.deepkern.benchmarks;

import java.util.concurrent.TimeUnit;
import org.deepkern.Generator;
import org.deepkern.DType;
import org.deepkern.DeepKern;
import org.deepkern.Device;
import org.deepkern.Tensor;
import org.deepkern.ops.Act;
import org.deepkern.ops.ActivationGrads;
import org.deepkern.ops.F;
import org.openjdk.jmh.annotations.*;

/**
 * The activation family on the default device: forward and backward, without and with a fused
 * bias over a 4096-wide last dim. Each op includes a device synchronize.
 * Run: java -jar benchmarks/target/deepkern-benchmarks.jar Activation
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class ActivationBenchmark {
    @Param({"4194304"})
    public long n;

    @Param({"F32", "BF16"})
    public DType dtype;

    @Param({"RELU", "SILU", "GELU"})
    public Act.Kind kind;

    private Device device;
    private Act act;
    private Tensor x, bias, gradOut;

    @Setup
    public void setup() {
        device = DeepKern.defaultDevice();
        act = switch (kind) {
            case RELU -> Act.relu();
            case SILU -> Act.silu();
            default -> Act.gelu();
        };
        x = Tensor.randn(new long[] {n / 4096, 4096}, dtype, device, new Generator(1));
        bias = Tensor.randn(new long[] {4096}, dtype, device, new Generator(2));
        gradOut = Tensor.randn(new long[] {n / 4096, 4096}, dtype, device, new Generator(3));
    }

    @TearDown
    public void tearDown() {
        x.close();
        bias.close();
        gradOut.close();
    }

    @Benchmark
    public void forward() {
        try (Tensor y = F.activation(act, x)) {
            DeepKern.synchronize(device);
        }
    }

    @Benchmark
    public void forwardBias() {
        try (Tensor y = F.activation(act, x, bias)) {
            DeepKern.synchronize(device);
        }
    }

    @Benchmark
    public void backward() {
        try (Tensor g = F.activationBackward(act, x, gradOut)) {
            DeepKern.synchronize(device);
        }
    }

    @Benchmark
    public void backwardBias() {
        try (ActivationGrads g = F.activationBackward(act, x, bias, gradOut)) {
            DeepKern.synchronize(device);
        }
    }
}
