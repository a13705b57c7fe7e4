package org.deepkern.benchmarks;

import static org.deepkern.bindings.global.deepkern.*;

import java.util.concurrent.TimeUnit;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Tensor;
import org.deepkern.bindings.dk_activation;
import org.deepkern.bindings.dk_context;
import org.deepkern.bindings.dk_tensor;
import org.deepkern.internal.Native;
import org.deepkern.ops.F;
import org.deepkern.ops.GeluApproximation;
import org.openjdk.jmh.annotations.*;

/**
 * What crossing into native code costs, on cpu so no device time hides it: an empty call
 * (dk_noop: JNI plus the C API's guard), GELU on 16 elements straight through the bindings, and
 * the same through F.gelu with the Java-side argument checks. The last minus the second is the
 * Java layer's overhead; the goal is under 1 us.
 * Run: java -jar benchmarks/target/deepkern-benchmarks.jar NativeCall
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class NativeCallBenchmark {
    private dk_context ctx;
    private Tensor x;
    private Tensor out;
    private dk_tensor xh;
    private dk_tensor oh;
    private dk_activation gelu;

    @Setup
    public void setup() {
        x = Tensor.randn(Device.CPU, DType.F32, 1, 16);
        out = Tensor.empty(DType.F32, Device.CPU, 16);
        ctx = Native.context(Device.CPU);
        xh = x.nativeHandle();
        oh = out.nativeHandle();
        gelu = new dk_activation().kind(DK_ACT_GELU);
    }

    @TearDown
    public void tearDown() {
        x.close();
        out.close();
        gelu.close();
    }

    @Benchmark
    public int emptyNativeCall() {
        return dk_noop(ctx);
    }

    @Benchmark
    public int gelu16Unchecked() {
        return dk_activation_forward(ctx, gelu, xh, null, oh);
    }

    @Benchmark
    public Tensor gelu16() {
        return F.gelu(x, GeluApproximation.NONE, out);
    }
}
