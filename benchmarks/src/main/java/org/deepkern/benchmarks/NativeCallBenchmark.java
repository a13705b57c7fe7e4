package org.deepkern.benchmarks;

import static org.deepkern.bindings.global.deepkern.*;

import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.deepkern.Generator;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Tensor;
import org.deepkern.bindings.dk_activation;
import org.deepkern.bindings.dk_context;
import org.deepkern.bindings.dk_tensor;
import org.deepkern.bindings.global.deepkern_testing;
import org.deepkern.ops.F;
import org.deepkern.ops.GeluApproximation;
import org.openjdk.jmh.annotations.*;

/**
 * What crossing into native code costs, on cpu so no device time hides it: an empty call
 * (deepkern_testing.h's dk_noop: JNI plus the C API's guard), GELU on 16 elements straight
 * through the generated bindings (on buffers this benchmark allocates itself), and the same
 * through F.gelu's out form with the Java-side argument checks. The last minus the second is the
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
    private Tensor x;
    private Tensor out;
    private dk_context ctx;
    private final Pointer[] buffers = {new Pointer((Pointer) null), new Pointer((Pointer) null)};
    private LongPointer shape;
    private dk_tensor xh;
    private dk_tensor oh;
    private dk_activation gelu;

    @Setup
    public void setup() {
        x = Tensor.randn(new long[] {16}, DType.F32, Device.CPU, new Generator(1));
        out = Tensor.empty(new long[] {16}, DType.F32, Device.CPU);
        ctx = new dk_context(null);
        check(dk_context_create(DK_DEVICE_CPU, 0, ctx));
        shape = new LongPointer(1).put(16);
        for (Pointer b : buffers) check(dk_malloc(ctx, 16 * 4, b));
        check(dk_fill(ctx, xh = raw(buffers[0]), 0.5));
        oh = raw(buffers[1]);
        gelu = new dk_activation().kind(DK_ACT_GELU);
    }

    private dk_tensor raw(Pointer data) {
        dk_tensor t = new dk_tensor().data(data).ndim(1).shape(shape).strides(null).byte_offset(0);
        t.device().device_type(DK_DEVICE_CPU).device_id(0);
        t.dtype().code((byte) DK_DTYPE_FLOAT).bits((byte) 32).lanes((short) 1);
        return t;
    }

    private static void check(int status) {
        if (status != DK_SUCCESS) throw new IllegalStateException(dk_last_error().getString());
    }

    @TearDown
    public void tearDown() {
        x.close();
        out.close();
        for (Pointer b : buffers) check(dk_free(ctx, b));
        check(dk_context_destroy(ctx));
        gelu.close();
    }

    @Benchmark
    public int emptyNativeCall() {
        return deepkern_testing.dk_noop(ctx);
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
