package org.deepkern.norm;

import org.deepkern.ops.F;
import org.deepkern.ops.RopeLayout;
import static org.deepkern.testing.BadInput.assertRejects;

import java.util.List;
import java.util.stream.Stream;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Bad calls of softmax, layer_norm, rms_norm and the rotary embedding: each raises
 * DeepKernException naming the argument and saying what was expected; the JVM lives on.
 */
class NormBadInputTest {
    static Scope scope;
    static Tensor x, x3, w, wLong, wF16, i32, scalar, rope, ropeOdd, rope3, wrongDev;

    @BeforeAll
    static void make() {
        scope = Scope.open();
        Device cpu = Device.CPU;
        x = Tensor.zeros(new long[] {4, 6}, DType.F32, cpu);
        x3 = Tensor.zeros(new long[] {4, 5}, DType.F32, cpu);
        w = Tensor.zeros(new long[] {6}, DType.F32, cpu);
        wLong = Tensor.zeros(new long[] {7}, DType.F32, cpu);
        wF16 = Tensor.zeros(new long[] {6}, DType.F16, cpu);
        i32 = Tensor.zeros(new long[] {4, 6}, DType.I32, cpu);
        scalar = Tensor.zeros(new long[0], DType.F32, cpu);
        rope = Tensor.zeros(new long[] {1, 2, 3, 4}, DType.F32, cpu);
        ropeOdd = Tensor.zeros(new long[] {1, 2, 3, 5}, DType.F32, cpu);
        rope3 = Tensor.zeros(new long[] {2, 3, 4}, DType.F32, cpu);
        wrongDev = Tensor.zeros(new long[] {6}, DType.F32, Device.EMU);
    }

    @AfterAll
    static void release() {
        scope.close();
    }

    static Stream<Arguments> table() {
        List<Object[]> rows = List.of(
                new Object[] {"softmax of an integer tensor", "x", "floating dtype", (Executable) () -> F.softmax(i32)},
                new Object[] {"softmax of a scalar", "x", "at least one dimension", (Executable) () -> F.softmax(scalar)},
                new Object[] {"softmax of null", "x", "null", (Executable) () -> F.softmax(null)},
                new Object[] {"softmax backward, grad shape", "gradOut", "expected shape [4, 6]",
                        (Executable) () -> F.softmaxBackward(x, x3)},
                new Object[] {"log_softmax backward, null grad", "gradOut", "null", (Executable) () -> F.logSoftmaxBackward(x, null)},
                new Object[] {"layer_norm eps 0", "eps", "> 0", (Executable) () -> F.layerNorm(x, w, w, 0)},
                new Object[] {"layer_norm eps NaN", "eps", "> 0", (Executable) () -> F.layerNorm(x, w, w, Double.NaN)},
                new Object[] {"layer_norm weight length", "weight", "expected shape [6]", (Executable) () -> F.layerNorm(x, wLong, w, 1e-5)},
                new Object[] {"layer_norm bias dtype", "bias", "expected dtype f32", (Executable) () -> F.layerNorm(x, w, wF16, 1e-5)},
                new Object[] {"layer_norm weight on another device", "weight", "move one with to(device)", (Executable) () -> F.layerNorm(x, wrongDev, w, 1e-5)},
                new Object[] {"layer_norm of a scalar", "x", "at least one dimension", (Executable) () -> F.layerNorm(scalar, null, null, 1e-5)},
                new Object[] {"layer_norm backward, grad shape", "gradOut", "expected shape [4, 6]",
                        (Executable) () -> F.layerNormBackward(x, w, x3, 1e-5, true)},
                new Object[] {"layer_norm backward eps", "eps", "> 0", (Executable) () -> F.layerNormBackward(x, w, x, -1, true)},
                new Object[] {"rms_norm eps negative", "eps", "> 0", (Executable) () -> F.rmsNorm(x, w, -1e-6)},
                new Object[] {"rms_norm weight length", "weight", "expected shape [6]", (Executable) () -> F.rmsNorm(x, wLong, 1e-6)},
                new Object[] {"rms_norm of an integer tensor", "x", "floating dtype", (Executable) () -> F.rmsNorm(i32, null, 1e-6)},
                new Object[] {"rms_norm backward weight length", "weight", "expected shape [6]",
                        (Executable) () -> F.rmsNormBackward(x, wLong, x, 1e-6)},
                new Object[] {"rope odd head dim", "x", "even head dim", (Executable) () -> F.rotaryEmbedding(ropeOdd, RopeLayout.HALF_SPLIT, 1e4, 0)},
                new Object[] {"rope rank 3", "x", "4 dimensions", (Executable) () -> F.rotaryEmbedding(rope3, RopeLayout.INTERLEAVED, 1e4, 0)},
                new Object[] {"rope base 0", "base", "> 0", (Executable) () -> F.rotaryEmbedding(rope, RopeLayout.HALF_SPLIT, 0, 0)},
                new Object[] {"rope base infinite", "base", "> 0",
                        (Executable) () -> F.rotaryEmbedding(rope, RopeLayout.HALF_SPLIT, Double.POSITIVE_INFINITY, 0)},
                new Object[] {"rope negative offset", "positionOffset", ">= 0", (Executable) () -> F.rotaryEmbedding(rope, RopeLayout.HALF_SPLIT, 1e4, -1)},
                new Object[] {"rope null layout", "layout", "null", (Executable) () -> F.rotaryEmbedding(rope, null, 1e4, 0)},
                new Object[] {"rope backward odd head dim", "gradOut", "even head dim",
                        (Executable) () -> F.rotaryEmbeddingBackward(ropeOdd, RopeLayout.HALF_SPLIT, 1e4, 0)},
                new Object[] {"layer_norm eps 1e-50 (0 as an f32)", "eps", "> 0", (Executable) () -> F.layerNorm(x, w, w, 1e-50)},
                new Object[] {"rms_norm eps 1e300 (infinite as an f32)", "eps", "finite", (Executable) () -> F.rmsNorm(x, w, 1e300)},
                new Object[] {"rope base 1e300 (infinite as an f32)", "base", "finite",
                        (Executable) () -> F.rotaryEmbedding(rope, RopeLayout.HALF_SPLIT, 1e300, 0)},
                new Object[] {"layer_norm of null", "x", "null", (Executable) () -> F.layerNorm(null, w, w, 1e-5)},
                new Object[] {"rms_norm backward, null gradOut", "gradOut", "null", (Executable) () -> F.rmsNormBackward(x, w, null, 1e-5)},
                new Object[] {"rope of null", "x", "null", (Executable) () -> F.rotaryEmbedding(null, RopeLayout.HALF_SPLIT, 1e4, 0)});
        return rows.stream().map(Arguments::of);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("table")
    void rejects(String name, String argument, String text, Executable call) {
        assertRejects(argument, text, call);
    }
}
