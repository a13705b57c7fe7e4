package org.deepkern.activation;

import static org.deepkern.testing.ActivationChecks.tensor;
import static org.deepkern.testing.BadInput.assertRejects;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.stream.Stream;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.ops.F;
import org.deepkern.testing.ActivationCase;
import org.deepkern.testing.ActivationChecks;
import org.deepkern.testing.Close;
import org.deepkern.testing.Oracle;
import org.deepkern.testing.Reference;
import org.deepkern.testing.TestDevices;
import org.deepkern.testing.Torch;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The activations called with torch's defaults (F.softplus(x) and the rest): against the double
 * reference of the activation with torch's default parameters written out (ActivationCase), and
 * against torch.nn.functional.NAME(x) called without parameters, vetted against that reference.
 */
class ActivationDefaultsTest {
    /** One default form: torch's name, the reference case with torch's defaults, and the call under test. */
    record Default(String torchName, String caseName, Function<Tensor, Tensor> call) {
        @Override
        public String toString() {
            return torchName;
        }
    }

    static final List<Default> DEFAULTS = List.of(
            new Default("leaky_relu", "leaky_relu(0.01)", F::leakyRelu),
            new Default("elu", "elu(1.0)", F::elu),
            new Default("celu", "elu(1.0)", F::celu),  // celu with alpha 1 is elu with alpha 1
            new Default("hardtanh", "hardtanh(-1.0,1.0)", F::hardtanh),
            new Default("softplus", "softplus(1.0,20.0)", F::softplus),
            new Default("gelu", "gelu", F::gelu));

    static final long[] SIZES = {0, 1, 7, 4097};

    static Stream<Arguments> references() {
        List<Arguments> out = new ArrayList<>();
        TestDevices.host().forEach(d -> {
            for (DType t : ActivationChecks.DTYPES)
                for (Default f : DEFAULTS)
                    for (long n : SIZES) out.add(Arguments.of(d, t, f, n));
        });
        return out.stream();
    }

    static Stream<Arguments> oracle() {
        List<Arguments> out = new ArrayList<>();
        TestDevices.host().forEach(d -> {
            for (DType t : new DType[] {DType.F32, DType.BF16})
                for (Default f : DEFAULTS) out.add(Arguments.of(d, t, f));
        });
        return out.stream();
    }

    static double[] reference(ActivationCase c, float[] x, DType dtype) {
        double[] v = new double[x.length];
        for (int i = 0; i < x.length; i++) v[i] = ActivationChecks.saturate(dtype, c.f().applyAsDouble(x[i]));
        return v;
    }

    @ParameterizedTest(name = "{0} {1} {2} n={3}")
    @MethodSource("references")
    void matchesTheReference(Device device, DType dtype, Default f, long n) {
        try (Scope s = Scope.open()) {
            ActivationCase c = ActivationCase.named(f.caseName());
            long[] shape = ActivationChecks.shape(n);
            Tensor x = tensor(device, dtype, c.inputs((int) n, 17 * n + dtype.ordinal(), dtype), shape);
            ActivationChecks.poisonNextAllocations(dtype, device, shape);
            Close.assertClose(reference(c, x.toFloatArray(), dtype), f.call().apply(x).toFloatArray(),
                    ActivationChecks.rtol(dtype), ActivationChecks.atol(dtype), "F." + f + "(x) " + dtype + " n=" + n + " on " + device);
        }
    }

    /** torch's parameterless call: torch vetted against the reference with the defaults we chose, then ours against torch. */
    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("oracle")
    void matchesTorch(Device device, DType dtype, Default f) {
        try (Scope s = Scope.open()) {
            ActivationCase c = ActivationCase.named(f.caseName());
            int n = ActivationTorchTest.N;
            Tensor x = tensor(device, dtype, ActivationTorchTest.inputs(c, n, 23), n);
            float[] xs = x.toFloatArray(), torchValue = Torch.defaultActivation(f.torchName(), xs, dtype);
            double[] ref = reference(c, xs, dtype), torchAsDouble = new double[n];
            for (int i = 0; i < n; i++) torchAsDouble[i] = torchValue[i];
            double r = ActivationTorchTest.rtol(dtype), a = ActivationTorchTest.atol(dtype);
            String what = f + " " + dtype + " on " + device;
            Oracle torch = Oracle.torch();
            torch.vet("torch " + what, ref, torchValue, 2 * r, i -> 2 * a * (1 + Math.abs(xs[i])) + ActivationChecks.atol(dtype));
            float[] ours = f.call().apply(x).toFloatArray();
            Close.assertClose(ref, ours, ActivationChecks.rtol(dtype), ActivationChecks.atol(dtype), what + " vs the double reference");
            torch.judge(() -> Close.assertClose(torchAsDouble, ours, r, i -> a * (1 + Math.abs(xs[i])), what + " vs torch"));
        }
    }

    /** geglu(x) = up * gelu(gate), exact GELU, on x = [up | gate] with an odd half. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("org.deepkern.testing.RowChecks#devices")
    void gegluDefaultsToTheExactGelu(Device device) {
        try (Scope s = Scope.open()) {
            int rows = 5, h = 17;
            float[] xv = ActivationCase.named("gelu").inputs(rows * 2 * h, 29, DType.F32);
            for (int i = 0; i < xv.length; i++) xv[i] = Math.max(-50, Math.min(50, xv[i]));  // keep up * gelu finite
            Tensor x = Tensor.of(xv, new long[] {rows, 2 * h}, device);
            double[] ref = new double[rows * h];
            for (int k = 0; k < rows; k++)
                for (int j = 0; j < h; j++) ref[k * h + j] = xv[k * 2 * h + j] * Reference.gelu(xv[k * 2 * h + h + j]);
            Close.assertClose(ref, F.geglu(x).toFloatArray(), 1e-5, 1e-30, "geglu(x) on " + device);
        }
    }

    static Scope scope;
    static Tensor x, i32, closed;

    @BeforeAll
    static void make() {
        scope = Scope.open();
        x = Tensor.zeros(new long[] {2, 3}, DType.F32, Device.CPU);
        i32 = Tensor.zeros(new long[] {3}, DType.I32, Device.CPU);
        closed = Tensor.zeros(new long[] {3}, DType.F32, Device.CPU);
        closed.close();
    }

    @AfterAll
    static void release() {
        scope.close();
    }

    static Stream<Arguments> bad() {
        return Stream.of(
                Arguments.of("F.softplus", "x", "null", (Executable) () -> F.softplus(null)),
                Arguments.of("F.leakyRelu", "x", "closed", (Executable) () -> F.leakyRelu(closed)),
                Arguments.of("F.elu", "x", "null", (Executable) () -> F.elu(null)),
                Arguments.of("F.celu", "x", "floating dtype", (Executable) () -> F.celu(i32)),
                Arguments.of("F.hardtanh", "x", "floating dtype", (Executable) () -> F.hardtanh(i32)),
                Arguments.of("F.geglu", "x", "even last dim", (Executable) () -> F.geglu(x)));
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("bad")
    void badInputNamesTheCall(String call, String argument, String text, Executable run) {
        String message = assertRejects(call, argument, text, run).getMessage();
        assertTrue(message.startsWith(call + ": "), message);
    }
}
