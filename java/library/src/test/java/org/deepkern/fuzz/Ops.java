package org.deepkern.fuzz;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;
import java.util.function.Supplier;
import org.deepkern.Generator;
import org.deepkern.DType;
import org.deepkern.Device;
import org.deepkern.Tensor;
import org.deepkern.detect.BoxFormat;
import org.deepkern.detect.Decoders;
import org.deepkern.detect.Detect;
import org.deepkern.detect.PostprocessParams;
import org.deepkern.ops.Conv2dParams.Layout;
import org.deepkern.ops.InterpolateParams;
import org.deepkern.ops.InterpolationMode;
import org.deepkern.ops.Pool2dParams;
import org.deepkern.ops.PoolResult;
import org.deepkern.ops.Act;
import org.deepkern.ops.AttentionParams;
import org.deepkern.ops.AttentionResult;
import org.deepkern.ops.CausalMask;
import org.deepkern.ops.Conv2dParams;
import org.deepkern.ops.F;
import org.deepkern.ops.GeluApproximation;
import org.deepkern.ops.RopeLayout;
import org.deepkern.ops.Reduction;
import org.deepkern.ops.StepCoefs;
import org.deepkern.optim.AdamW;

/**
 * Every public op of F, Tensor, Detect and Decoders (and AdamW.fusedStep) as a generator of random calls: each draws its arguments from a
 * {@link Draw} (shapes mostly consistent with each other, sometimes not) and returns the call,
 * which the fuzzer runs on a device with the arguments made there.
 */
final class Ops {
    private Ops() {}

    /** A call: run it on tensors made from the draw's arguments (in order). */
    interface Body {
        Object run(Tensor[] t);
    }

    /** An op: its name and how a call to it is drawn. */
    record Op(String name, Function<Draw, Body> draw) {}

    /** Outputs named here may be infinite from finite inputs (attention's logsumexp of a row without keys). */
    static final List<String> MAY_BE_INFINITE = List.of("logsumexp");

    static final List<Op> ALL = new ArrayList<>();

    private static void op(String name, Function<Draw, Body> draw) {
        ALL.add(new Op(name, draw));
    }

    private static Tensor at(Tensor[] t, int i) {
        return i < 0 ? null : t[i];
    }

    private static long[] last(long[] s) {
        return s.length == 0 ? new long[] {1} : new long[] {s[s.length - 1]};
    }

    private static long[] withLast(long[] s, long v) {
        long[] r = s.length == 0 ? new long[] {v} : s.clone();
        r[r.length - 1] = v;
        return r;
    }

    /** An activation with drawn parameters, made when the call runs (its checks are part of the call). */
    private static Supplier<Act> act(Draw d, boolean gate) {
        List<String> kinds = gate ? List.of("sigmoid", "silu", "gelu", "gelu_tanh", "relu", "tanh")
                : List.of("threshold", "step", "relu", "leaky_relu", "elu", "selu", "celu", "sigmoid", "tanh", "hardtanh",
                "hardsigmoid", "hardswish", "softplus", "silu", "mish", "gelu", "gelu_tanh", "quick_gelu");
        String k = d.option("act", kinds);
        double a = d.scalar("alpha", -3, 3), b = d.scalar("beta", -3, 3);
        if (k.equals("hardtanh") && a > b) d.immodest();  // rejected
        if (k.equals("softplus") && Math.abs(a) < 0.05) d.immodest();  // 1 / beta
        if (k.equals("celu") && a < 0.5) d.immodest();  // exp(x / alpha) overflows for a small or negative alpha
        return () -> switch (k) {
            case "threshold" -> Act.threshold(a, b);
            case "step" -> Act.step(a);
            case "relu" -> Act.relu();
            case "leaky_relu" -> Act.leakyRelu(a);
            case "elu" -> Act.elu(a);
            case "selu" -> Act.selu();
            case "celu" -> Act.celu(a);
            case "sigmoid" -> Act.sigmoid();
            case "tanh" -> Act.tanh();
            case "hardtanh" -> Act.hardtanh(a, b);
            case "hardsigmoid" -> Act.hardsigmoid();
            case "hardswish" -> Act.hardswish();
            case "softplus" -> Act.softplus(a, b);
            case "silu" -> Act.silu();
            case "mish" -> Act.mish();
            case "gelu" -> Act.gelu();
            case "gelu_tanh" -> Act.gelu(GeluApproximation.TANH);
            default -> Act.quickGelu();
        };
    }

    private static GeluApproximation approx(Draw d) {
        return d.option("approximate", Arrays.asList(GeluApproximation.NONE, GeluApproximation.TANH,
                GeluApproximation.NONE, GeluApproximation.TANH, null));
    }

    static {
        // ---- activations ----
        op("F.activation", d -> {
            Supplier<Act> act = act(d, false);
            long[] s = d.shape();
            DType t = d.dtype();
            int x = d.tensor("x", s, t);
            int b = d.optional("bias", d.like(last(s)), d.like(t));
            int o = d.chance(0.3) ? d.tensor("out", d.like(s), d.like(t)) : -1;
            return o >= 0 ? T -> F.activation(act.get(), T[x], at(T, b), T[o]) : T -> F.activation(act.get(), T[x], at(T, b));
        });
        op("F.activationBackward", d -> {
            Supplier<Act> act = act(d, false);
            long[] s = d.shape();
            DType t = d.dtype();
            int x = d.tensor("x", s, t);
            int b = d.chance(0.5) ? d.tensor("bias", d.like(last(s)), d.like(t)) : -1;
            int g = d.tensor("gradOut", d.like(s), d.like(t));
            return b >= 0 ? T -> F.activationBackward(act.get(), T[x], T[b], T[g]) : T -> F.activationBackward(act.get(), T[x], T[g]);
        });
        op("F.<named activation>", d -> {
            long[] s = d.shape();
            int x = d.tensor("x", s, d.dtype());
            String k = d.option("op", List.of("threshold", "step", "relu", "leakyRelu", "elu", "selu", "celu", "sigmoid",
                    "tanh", "hardtanh", "hardsigmoid", "hardswish", "softplus", "silu", "mish", "gelu", "quickGelu"));
            double a = d.scalar("a", -3, 3), b = d.scalar("b", -3, 3);
            if (k.equals("hardtanh") && a > b || k.equals("softplus") && Math.abs(a) < 0.05
                    || k.equals("celu") && a < 0.5) d.immodest();
            GeluApproximation ap = approx(d);
            return T -> switch (k) {
                case "threshold" -> F.threshold(T[x], a, b);
                case "step" -> F.step(T[x], a);
                case "relu" -> F.relu(T[x]);
                case "leakyRelu" -> F.leakyRelu(T[x], a);
                case "elu" -> F.elu(T[x], a);
                case "selu" -> F.selu(T[x]);
                case "celu" -> F.celu(T[x], a);
                case "sigmoid" -> F.sigmoid(T[x]);
                case "tanh" -> F.tanh(T[x]);
                case "hardtanh" -> F.hardtanh(T[x], a, b);
                case "hardsigmoid" -> F.hardsigmoid(T[x]);
                case "hardswish" -> F.hardswish(T[x]);
                case "softplus" -> F.softplus(T[x], a, b);
                case "silu" -> F.silu(T[x]);
                case "mish" -> F.mish(T[x]);
                case "gelu" -> F.gelu(T[x], ap);
                default -> F.quickGelu(T[x]);
            };
        });
        op("F.gelu(out)", d -> {
            long[] s = d.shape();
            DType t = d.dtype();
            int x = d.tensor("x", s, t), o = d.tensor("out", d.like(s), d.like(t));
            GeluApproximation ap = approx(d);
            return T -> F.gelu(T[x], ap, T[o]);
        });

        // ---- gated units ----
        op("F.gated", d -> {
            Supplier<Act> act = act(d, true);
            long[] s = d.shape();
            DType t = d.dtype();
            if (d.chance(0.5)) {
                int g = d.tensor("gate", s, t), u = d.tensor("up", d.like(s), d.like(t));
                return T -> F.gated(act.get(), T[g], T[u]);
            }
            int x = d.tensor("x", s, t);
            return T -> F.gated(act.get(), T[x]);
        });
        op("F.gatedBackward", d -> {
            Supplier<Act> act = act(d, true);
            long[] s = d.shape();
            DType t = d.dtype();
            if (d.chance(0.5)) {
                int g = d.tensor("gate", s, t), u = d.tensor("up", d.like(s), d.like(t));
                int go = d.tensor("gradOut", d.like(s), d.like(t));
                return T -> F.gatedBackward(act.get(), T[g], T[u], T[go]);
            }
            if (s.length > 0 && s[s.length - 1] % 2 != 0 && d.chance(0.8)) s = withLast(s, s[s.length - 1] + 1);
            int x = d.tensor("x", s, t);
            long[] half = s.length == 0 ? s : withLast(s, s[s.length - 1] / 2);
            int go = d.tensor("gradOut", d.like(half), d.like(t));
            return T -> F.gatedBackward(act.get(), T[x], T[go]);
        });
        op("F.glu/swiglu/geglu/reglu", d -> {
            long[] s = d.shape();
            DType t = d.dtype();
            String k = d.option("op", List.of("glu", "swiglu", "geglu", "reglu"));
            GeluApproximation ap = approx(d);
            if (d.chance(0.5)) {
                int g = d.tensor("gate", s, t), u = d.tensor("up", d.like(s), d.like(t));
                return T -> switch (k) {
                    case "glu" -> F.glu(T[g], T[u]);
                    case "swiglu" -> F.swiglu(T[g], T[u]);
                    case "geglu" -> F.geglu(T[g], T[u], ap);
                    default -> F.reglu(T[g], T[u]);
                };
            }
            int x = d.tensor("x", s, t);
            return T -> switch (k) {
                case "glu" -> F.glu(T[x]);
                case "swiglu" -> F.swiglu(T[x]);
                case "geglu" -> F.geglu(T[x], ap);
                default -> F.reglu(T[x]);
            };
        });

        // ---- rows ----
        op("F.softmax/logSoftmax", d -> {
            long[] s = d.shape();
            int x = d.tensor("x", s, d.dtype());
            boolean log = d.bool("log");
            return T -> log ? F.logSoftmax(T[x]) : F.softmax(T[x]);
        });
        op("F.softmaxBackward/logSoftmaxBackward", d -> {
            long[] s = d.shape();
            DType t = d.dtype();
            int y = d.tensor("y", s, t), g = d.tensor("gradOut", d.like(s), d.like(t));
            boolean log = d.bool("log");
            return T -> log ? F.logSoftmaxBackward(T[y], T[g]) : F.softmaxBackward(T[y], T[g]);
        });
        op("F.layerNorm/rmsNorm", d -> {
            long[] s = d.shape();
            DType t = d.dtype();
            int x = d.tensor("x", s, t);
            int w = d.optional("weight", d.like(last(s)), d.like(t));
            int b = d.optional("bias", d.like(last(s)), d.like(t));
            double eps = d.scalar("eps", 1e-6, 1e-2);
            boolean rms = d.bool("rms");
            return T -> rms ? F.rmsNorm(T[x], at(T, w), eps) : F.layerNorm(T[x], at(T, w), at(T, b), eps);
        });
        op("F.softmax/logSoftmax(dim) and backward", d -> {
            long[] s = d.shape();
            DType t = d.dtype();
            int x = d.tensor("x", s, t), g = d.tensor("gradOut", d.like(s), d.like(t));
            int dim = d.integer("dim", -s.length - 1, s.length);
            boolean log = d.bool("log"), back = d.bool("backward");
            return T -> back ? (log ? F.logSoftmaxBackward(T[x], T[g], dim) : F.softmaxBackward(T[x], T[g], dim))
                    : log ? F.logSoftmax(T[x], dim) : F.softmax(T[x], dim);
        });
        op("F.layerNorm/rmsNorm(normalizedShape)", d -> {
            long[] s = d.shape();
            DType t = d.dtype();
            int x = d.tensor("x", s, t);
            int k = d.integer("k", 0, s.length + 1);
            long[] ns = k >= 0 && k <= s.length ? d.like(Arrays.copyOfRange(s, s.length - k, s.length)) : d.shape();
            int w = d.optional("weight", d.like(ns), d.like(t));
            int b = d.optional("bias", d.like(ns), d.like(t));
            double eps = d.scalar("eps", 1e-6, 1e-2);
            boolean rms = d.bool("rms");
            d.note("normalizedShape", Arrays.toString(ns));
            return T -> rms ? F.rmsNorm(T[x], ns, at(T, w), eps) : F.layerNorm(T[x], ns, at(T, w), at(T, b), eps);
        });
        op("F.layerNormBackward/rmsNormBackward", d -> {
            long[] s = d.shape();
            DType t = d.dtype();
            int x = d.tensor("x", s, t);
            int w = d.optional("weight", d.like(last(s)), d.like(t));
            int g = d.tensor("gradOut", d.like(s), d.like(t));
            double eps = d.scalar("eps", 1e-6, 1e-2);
            boolean rms = d.bool("rms"), bias = d.bool("withBias");
            return T -> rms ? F.rmsNormBackward(T[x], at(T, w), T[g], eps)
                    : F.layerNormBackward(T[x], at(T, w), T[g], eps, bias);
        });
        op("F.rotaryEmbedding(Backward)", d -> {
            long[] s = d.chance(0.85) ? d.shape(4) : d.shape();
            if (s.length == 4 && s[3] % 2 != 0 && d.chance(0.8)) s[3]++;
            int x = d.tensor("x", s, d.dtype());
            RopeLayout layout = d.option("layout", Arrays.asList(RopeLayout.HALF_SPLIT, RopeLayout.INTERLEAVED, null));
            double base = d.scalar("base", 1, 1e5);
            long offset = d.chance(0.9) ? d.rng.nextInt(100) : d.pick(List.of(-1L, 1L << 40, Long.MAX_VALUE));
            d.note("offset", offset);
            boolean back = d.bool("backward");
            return T -> back ? F.rotaryEmbeddingBackward(T[x], layout, base, offset) : F.rotaryEmbedding(T[x], layout, base, offset);
        });

        // ---- products ----
        op("F.matmul", d -> {
            long m = d.dim(), k = d.dim(), n = d.dim();
            boolean ta = d.bool("transA"), tb = d.bool("transB");
            long[] batch = d.shape(d.rng.nextInt(3));
            long[] as = d.chance(0.15) ? new long[] {k} : concat(d.chance(0.5) ? batch : new long[0], ta ? k : m, ta ? m : k);
            long[] bs = d.chance(0.15) ? new long[] {k} : concat(d.chance(0.5) ? batch : new long[0], tb ? n : k, tb ? k : n);
            DType t = d.dtype();
            int a = d.tensor("a", d.like(as), t), b = d.tensor("b", d.like(bs), d.like(t));
            boolean plain = d.bool("plain");
            return T -> plain && !ta && !tb ? F.matmul(T[a], T[b]) : F.matmul(T[a], T[b], ta, tb);
        });
        op("F.matmulBackward", d -> {
            long m = d.dim(), k = d.dim(), n = d.dim();
            boolean ta = d.bool("transA"), tb = d.bool("transB");
            long[] batch = d.shape(d.rng.nextInt(3));
            boolean ba = d.chance(0.6), bb = d.chance(0.6);
            long[] as = concat(ba ? batch : new long[0], ta ? k : m, ta ? m : k);
            long[] bs = concat(bb ? batch : new long[0], tb ? n : k, tb ? k : n);
            long[] os = concat(ba || bb ? batch : new long[0], m, n);
            DType t = d.dtype();
            int a = d.tensor("a", d.like(as), t), b = d.tensor("b", d.like(bs), d.like(t));
            int g = d.tensor("gradOut", d.like(os), d.like(t));
            return T -> F.matmulBackward(T[a], T[b], T[g], ta, tb);
        });
        op("F.linear", d -> {
            long[] s = d.shape(1 + d.rng.nextInt(3));
            long n = d.dim();
            DType t = d.dtype();
            int x = d.tensor("x", s, t), w = d.tensor("weight", d.like(new long[] {n, s[s.length - 1]}), d.like(t));
            int b = d.optional("bias", d.like(new long[] {n}), d.like(t));
            boolean fused = d.bool("fused");
            Supplier<Act> act = fused ? act(d, false) : () -> null;
            int r = fused ? d.optional("residual", d.like(withLast(s, n)), d.like(t)) : -1;
            return T -> fused ? F.linear(T[x], T[w], at(T, b), act.get(), at(T, r)) : F.linear(T[x], T[w], at(T, b));
        });
        op("F.linearBackward", d -> {
            long[] s = d.shape(1 + d.rng.nextInt(3));
            long n = d.dim();
            DType t = d.dtype();
            int x = d.tensor("x", s, t), w = d.tensor("weight", d.like(new long[] {n, s[s.length - 1]}), d.like(t));
            int g = d.tensor("gradOut", d.like(withLast(s, n)), d.like(t));
            boolean fused = d.bool("fused");
            if (!fused) {
                boolean withBias = d.bool("withBias");
                return T -> F.linearBackward(T[x], T[w], T[g], withBias);
            }
            int b = d.optional("bias", d.like(new long[] {n}), d.like(t));
            Supplier<Act> act = d.chance(0.8) ? act(d, false) : () -> null;
            return T -> F.linearBackward(T[x], T[w], at(T, b), act.get(), T[g]);
        });

        // ---- diffusion ----
        op("F.diffusionStep", d -> {
            long[] s = d.shape();
            DType t = d.dtype();
            int x = d.tensor("x", s, t), m = d.tensor("model", d.like(s), d.like(t));
            int u = d.optional("uncond", d.like(s), d.like(t));
            int e1 = d.optional("extra1", d.like(s), d.like(t)), e2 = d.optional("extra2", d.like(s), d.like(t));
            int o2 = d.optional("out2", d.like(s), d.like(t));
            boolean inPlace = d.bool("inPlace");
            int o = inPlace ? x : d.tensor("out", d.like(s), d.like(t));
            double[] c = new double[14];
            for (int i = 0; i < c.length; i++) c[i] = d.scalar("c" + i, -2, 2);
            double noise = d.chance(0.5) ? 0 : d.scalar("noise", 0, 1);
            boolean e1Used = d.chance(0.7), e2Used = d.chance(0.7);
            long seed = d.rng.nextLong();
            return T -> {
                StepCoefs k = new StepCoefs().guidance(c[0]).x0(c[1], c[2], Math.abs(c[3])).eps(c[4], c[5], c[6])
                        .out(c[7], c[8], c[9]).extras(e1Used ? c[10] : 0, e2Used ? c[11] : 0).noise(noise, seed, 0)
                        .out2(c[12], c[13], c[0]);
                return F.diffusionStep(k, T[x], T[m], at(T, u), at(T, e1), at(T, e2), T[o], at(T, o2));
            };
        });
        // ---- optimizers ----
        op("AdamW.fusedStep", d -> {
            int k = 1 + d.rng.nextInt(3);
            DType t = d.dtype();
            int[] p = new int[k], g = new int[k], m = new int[k], v = new int[k];
            for (int i = 0; i < k; i++) {
                long[] s = d.shape();
                p[i] = d.tensor("params" + i, s, t);
                g[i] = d.tensor("grads" + i, d.like(s), d.like(t));
                m[i] = d.tensor("expAvgs" + i, d.like(s), d.like(DType.F32));
                v[i] = d.tensor("expAvgSqs" + i, d.like(s), d.like(DType.F32));
            }
            AdamW.Options o = AdamW.Options.defaults().lr(d.scalar("lr", 0, 0.1))
                    .betas(d.scalar("beta1", 0, 0.99), d.scalar("beta2", 0, 0.999)).eps(d.scalar("eps", 1e-8, 1e-3))
                    .weightDecay(d.scalar("weightDecay", 0, 0.1));
            long[] steps = new long[k];
            for (int i = 0; i < k; i++) steps[i] = 1 + d.rng.nextInt(5);
            return T -> {
                List<Tensor> ps = new ArrayList<>(), gs = new ArrayList<>(), ms = new ArrayList<>(), vs = new ArrayList<>();
                for (int i = 0; i < k; i++) {
                    ps.add(T[p[i]]);
                    gs.add(T[g[i]]);
                    ms.add(T[m[i]]);
                    // a second moment is >= 0 (a negative one would rightly give NaN)
                    vs.add(T[v[i]] == null || T[v[i]].isClosed() ? T[v[i]] : T[v[i]].mul(T[v[i]]));
                }
                AdamW.fusedStep(ps, gs, ms, vs, steps, o);
                List<Tensor> out = new ArrayList<>(ps);
                out.addAll(ms);
                out.addAll(vs);
                return out.toArray(new Tensor[0]);
            };
        });
        op("F.gmmPosteriorMean", d -> {
            long n = d.dim(), dims = d.dim(), k = d.dim();
            DType t = d.chance(0.9) ? DType.F32 : d.dtype();
            int x = d.tensor("x", d.like(new long[] {n, dims}), t);
            int means = d.tensor("means", d.like(new long[] {k, dims}), d.like(t));
            int lw = d.tensor("logWeights", d.like(new long[] {k}), d.like(t));
            double std = d.scalar("dataStd", 0.1, 2), a = d.scalar("a", 0.1, 1), b = d.scalar("b", 0.1, 1);
            return T -> F.gmmPosteriorMean(T[x], T[means], T[lw], std, a, b);
        });

        // ---- normalizing flows ----
        for (String name : new String[] {"F.affineCouplingForward", "F.affineCouplingInverse"}) {
            op(name, d -> {
                long n = d.dim(), m = d.dim();
                DType t = d.dtype();
                int x = d.tensor("x", d.like(new long[] {n, m}), t);
                int h = d.tensor("h", d.like(new long[] {n, 2 * m}), d.like(t));
                int ld = d.optional("logDet", d.like(new long[] {n}), d.like(DType.F32));
                boolean fwd = name.endsWith("Forward");
                return T -> fwd ? F.affineCouplingForward(T[x], T[h], at(T, ld)) : F.affineCouplingInverse(T[x], T[h], at(T, ld));
            });
        }
        op("F.affineCouplingBackward", d -> {
            long n = d.dim(), m = d.dim();
            DType t = d.dtype();
            int x = d.tensor("x", d.like(new long[] {n, m}), t);
            int h = d.tensor("h", d.like(new long[] {n, 2 * m}), d.like(t));
            int gy = d.tensor("gradY", d.like(new long[] {n, m}), d.like(t));
            int gl = d.optional("gradLogDet", d.like(new long[] {n}), d.like(DType.F32));
            return T -> F.affineCouplingBackward(T[x], T[h], T[gy], at(T, gl));
        });

        // ---- convolution ----
        op("F.conv2d", d -> {
            ConvDraw c = ConvDraw.of(d, false);
            int x = d.tensor("x", c.x, c.dtype), w = d.tensor("w", c.w, d.like(c.dtype));
            int b = d.optional("bias", d.like(new long[] {c.k}), d.like(c.dtype));
            int r = d.chance(0.3) ? d.tensor("residual", d.like(c.y), d.like(c.dtype)) : -1;
            int o = d.chance(0.2) ? d.tensor("out", d.like(c.y), d.like(c.dtype)) : -1;
            Supplier<Conv2dParams> p = c.params(d);
            int form = d.rng.nextInt(3);
            d.note("form", form);
            return T -> switch (form) {
                case 0 -> o >= 0 ? F.conv2d(T[x], T[w], at(T, b), at(T, r), p.get(), T[o]) : F.conv2d(T[x], T[w], at(T, b), p.get());
                case 1 -> F.conv2d(T[x], T[w], at(T, b), at(T, r), p.get());
                default -> F.conv2dAlgorithm(T[x], T[w], p.get());
            };
        });
        op("F.conv2dBackwardData", d -> {
            ConvDraw c = ConvDraw.of(d, false);
            int g = d.tensor("gradOut", d.like(c.y), c.dtype), w = d.tensor("w", c.w, d.like(c.dtype));
            long[] inShape = d.like(c.x);
            Supplier<Conv2dParams> p = c.params(d);
            if (d.chance(0.5)) {
                d.note("inputShape", Arrays.toString(inShape));
                return T -> F.conv2dBackwardData(T[g], T[w], inShape, p.get());
            }
            int gx = d.tensor("gradX", inShape, d.like(c.dtype));
            return T -> F.conv2dBackwardData(T[g], T[w], p.get(), T[gx]);
        });
        op("F.conv2dBackwardWeight", d -> {
            ConvDraw c = ConvDraw.of(d, false);
            int x = d.tensor("x", c.x, c.dtype), g = d.tensor("gradOut", d.like(c.y), d.like(c.dtype));
            long[] wShape = d.like(c.w);
            Supplier<Conv2dParams> p = c.params(d);
            boolean withBias = d.bool("withBias");
            if (d.chance(0.5)) {
                d.note("weightShape", Arrays.toString(wShape));
                return T -> F.conv2dBackwardWeight(T[x], T[g], wShape, withBias, p.get());
            }
            int gw = d.tensor("gradW", wShape, d.like(c.dtype));
            int gb = withBias ? d.tensor("gradBias", d.like(new long[] {c.k}), d.like(c.dtype)) : -1;
            return T -> {
                F.conv2dBackwardWeight(T[x], T[g], p.get(), T[gw], at(T, gb));
                return new Tensor[] {T[gw], at(T, gb)};
            };
        });
        op("F.convTranspose2d", d -> {
            ConvDraw c = ConvDraw.of(d, true);
            int x = d.tensor("x", c.x, c.dtype), w = d.tensor("w", c.w, d.like(c.dtype));
            int b = d.optional("bias", d.like(new long[] {c.k}), d.like(c.dtype));
            Supplier<Conv2dParams> p = c.params(d);
            if (d.chance(0.7)) return T -> F.convTranspose2d(T[x], T[w], at(T, b), p.get());
            int o = d.tensor("out", d.like(c.y), d.like(c.dtype));
            return T -> F.convTranspose2d(T[x], T[w], at(T, b), p.get(), T[o]);
        });

        // ---- pooling, resizing (NCHW or NHWC images) ----
        op("F.maxPool2d/avgPool2d and backward", d -> {
            DType t = d.dtype();
            Layout layout = d.bool("nhwc") ? Layout.NHWC : Layout.NCHW;
            long n = d.dim() % 4, c = d.dim() % 6, h = d.dim() % 12, w = d.dim() % 12;
            long[] x = layout == Layout.NHWC ? new long[] {n, h, w, c} : new long[] {n, c, h, w};
            int k = d.integer("kernel", 1, 4), st = d.integer("stride", 1, 3), pad = d.integer("padding", 0, 2);
            int dil = d.integer("dilation", 1, 2);
            boolean ceil = d.bool("ceilMode"), max = d.bool("max"), backward = d.bool("backward");
            int div = d.chance(0.2) ? d.integer("divisorOverride", 1, 9) : 0;
            int xi = d.tensor("x", x, t);
            Supplier<Pool2dParams> p = () -> {
                Pool2dParams q = Pool2dParams.of(k).withStride(st).withPadding(pad).withCeilMode(ceil).withLayout(layout);
                return max ? q.withDilation(dil) : q.withCountIncludePad(dil == 1).withDivisorOverride(div);
            };
            if (!backward) return T -> max ? F.maxPool2dWithIndices(T[xi], p.get()) : F.avgPool2d(T[xi], p.get());
            return T -> {
                if (!max) {
                    Tensor y = F.avgPool2d(T[xi], p.get());
                    return F.avgPool2dBackward(y, T[xi].shape(), p.get());
                }
                PoolResult r = F.maxPool2dWithIndices(T[xi], p.get());
                return F.maxPool2dBackward(r.output(), r.indices(), T[xi].shape(), p.get());
            };
        });
        op("F.adaptiveAvg/MaxPool2d and backward", d -> {
            DType t = d.dtype();
            Layout layout = d.bool("nhwc") ? Layout.NHWC : Layout.NCHW;
            long[] x = d.shape(4);
            int oh = d.integer("outH", 0, 9), ow = d.integer("outW", 0, 9);
            boolean max = d.bool("max"), backward = d.bool("backward");
            d.output(new long[] {x[0], layout == Layout.NHWC ? x[3] : x[1], Math.max(oh, 0), Math.max(ow, 0)});
            int xi = d.tensor("x", x, t);
            if (!backward)
                return T -> max ? F.adaptiveMaxPool2d(T[xi], oh, ow, layout) : F.adaptiveAvgPool2d(T[xi], oh, ow, layout);
            return T -> {
                if (!max) return F.adaptiveAvgPool2dBackward(F.adaptiveAvgPool2d(T[xi], oh, ow, layout), T[xi].shape(), layout);
                PoolResult r = F.adaptiveMaxPool2d(T[xi], oh, ow, layout);
                return F.adaptiveMaxPool2dBackward(r.output(), r.indices(), T[xi].shape(), layout);
            };
        });
        op("F.sppf/spatialPyramidPool", d -> {
            DType t = d.dtype();
            Layout layout = d.bool("nhwc") ? Layout.NHWC : Layout.NCHW;
            int xi = d.tensor("x", d.shape(4), t);
            if (d.bool("sppf")) {
                int k = d.integer("kernel", 1, 7);
                return T -> F.sppf(T[xi], k, layout);
            }
            int[] levels = d.chance(0.1) ? null : new int[] {d.integer("level0", 1, 6), d.integer("level1", 1, 4)};
            if (levels != null) {  // [N, C sum(level^2)]: an extreme level is a legitimately huge output
                double bins = 0;
                for (int l : levels) bins += (double) l * l;
                if (bins > 1 << 16) d.heavy();
            }
            return T -> F.spatialPyramidPool(T[xi], levels, layout);
        });
        op("F.interpolate and backward", d -> {
            DType t = d.dtype();
            InterpolationMode mode = d.option("mode", Arrays.asList(InterpolationMode.NEAREST, InterpolationMode.NEAREST_EXACT,
                    InterpolationMode.BILINEAR, InterpolationMode.BICUBIC, null));
            boolean align = d.bool("alignCorners"), aa = d.bool("antialias"), nhwc = d.bool("nhwc");
            long[] x = d.shape(4);
            long[] size = {d.integer("outH", 0, 20), d.integer("outW", 0, 20)};
            double[] scale = {d.scalar("scaleH", 0.2, 3), d.scalar("scaleW", 0.2, 3)};
            boolean byScale = d.bool("byScale"), backward = d.bool("backward");
            double most = Math.max(Math.abs(scale[0]), Math.abs(scale[1]));
            if (byScale ? most >= 64 && most < 1e7 : size[0] * size[1] > (1 << 16)) d.heavy();  // a legitimately huge output
            int xi = d.tensor("x", x, t);
            Supplier<InterpolateParams> p = () -> {
                InterpolateParams q = InterpolateParams.of(mode).withLayout(nhwc ? Layout.NHWC : Layout.NCHW);
                boolean smooth = mode == InterpolationMode.BILINEAR || mode == InterpolationMode.BICUBIC;
                return smooth ? q.withAlignCorners(align).withAntialias(aa) : q;
            };
            if (!backward) return T -> byScale ? F.interpolate(T[xi], scale, p.get()) : F.interpolate(T[xi], size, p.get());
            return T -> byScale ? F.interpolateBackward(F.interpolate(T[xi], scale, p.get()), T[xi].shape(), scale, p.get())
                    : F.interpolateBackward(F.interpolate(T[xi], size, p.get()), T[xi].shape(), p.get());
        });
        op("F.imagePyramid", d -> {
            int xi = d.tensor("x", d.shape(4), d.dtype());
            double minSize = d.scalar("minSize", 6, 24), minObject = d.scalar("minObject", 12, 60);
            double factor = d.scalar("factor", 0.3, 0.9);
            InterpolationMode mode = d.option("mode", Arrays.asList(InterpolationMode.NEAREST, InterpolationMode.BILINEAR));
            return T -> F.imagePyramid(T[xi], minSize, minObject, factor, InterpolateParams.of(mode));
        });

        // ---- detection ----
        op("Detect.<box op>", d -> {
            DType t = d.dtype();
            long[] s = withLast(d.shape(), d.chance(0.9) ? 4 : d.dim());
            int b = d.tensor("boxes", s, t);
            BoxFormat from = d.option("inFmt", Arrays.asList(BoxFormat.XYXY, BoxFormat.XYWH, BoxFormat.CXCYWH, null));
            BoxFormat to = d.option("outFmt", Arrays.asList(BoxFormat.XYXY, BoxFormat.XYWH, BoxFormat.CXCYWH));
            long h = d.integer("height", 0, 50), w = d.integer("width", 0, 50);
            int other = d.tensor("b", new long[] {d.dim(), 4}, d.like(t));
            String k = d.option("op", List.of("convert", "area", "clip", "iou"));
            return T -> switch (k) {
                case "convert" -> Detect.boxConvert(T[b], from, to);
                case "area" -> Detect.boxArea(T[b]);
                case "clip" -> Detect.clipBoxes(T[b], h, w);
                default -> Detect.boxIou(T[b], T[other]);
            };
        });
        op("Detect.nms/batchedNms", d -> {
            DType t = d.dtype();
            long n = d.dim();
            int b = d.tensor("boxes", d.like(new long[] {n, 4}), t), s = d.tensor("scores", d.like(new long[] {n}), d.like(t));
            int c = d.chance(0.5) ? d.ints("classes", d.like(new long[] {n}), d.chance(0.5) ? DType.I32 : DType.I64, -1, 3) : -1;
            double thr = d.scalar("iouThreshold", 0, 1);
            // the kept count may differ across backends where an IoU rounds to the threshold: the call is checked, not its length
            return T -> {
                try (Tensor keep = c >= 0 ? Detect.batchedNms(T[b], T[s], T[c], thr) : Detect.nms(T[b], T[s], thr)) {
                    return null;
                }
            };
        });
        op("Detect.postprocess", d -> {
            DType t = d.dtype();
            long n = d.dim() % 4, boxes = d.dim(), classes = 1 + d.dim() % 5;
            boolean labels = d.bool("labels");
            int b = d.tensor("boxes", d.like(new long[] {n, boxes, 4}), t);
            int s = d.tensor("scores", d.like(labels ? new long[] {n, boxes} : new long[] {n, boxes, classes}), d.like(t));
            int c = labels ? d.ints("classes", d.like(new long[] {n, boxes}), DType.I64, -1, 4) : -1;
            PostprocessParams p = PostprocessParams.defaults().withScoreThreshold(d.scalar("scoreThreshold", -1, 1))
                    .withIouThreshold(d.scalar("iouThreshold", 0, 1)).withTopK(d.integer("topK", 1, 40))
                    .withMaxDetections(d.integer("maxDetections", 1, 20)).withBackgroundClass(d.integer("backgroundClass", -1, 3))
                    .withScoreSigmoid(d.bool("scoreSigmoid")).withClassAgnostic(d.bool("classAgnostic"))
                    .withBoxFormat(d.option("boxFormat", Arrays.asList(BoxFormat.XYXY, BoxFormat.CXCYWH, BoxFormat.XYWH)));
            return T -> labels ? Detect.postprocess(T[b], T[s], T[c], p) : Detect.postprocess(T[b], T[s], p);
        });
        op("Detect.roiAlign and backward", d -> {
            DType t = d.dtype();
            long[] x = d.shape(4);
            long k = d.dim();
            int xi = d.tensor("input", x, t), bi = d.tensor("boxes", d.like(new long[] {k, 5}), d.like(t));
            int oh = d.integer("outH", 1, 5), ow = d.integer("outW", 1, 5), ratio = d.integer("samplingRatio", -1, 3);
            double scale = d.scalar("spatialScale", 0.1, 2);
            boolean aligned = d.bool("aligned");
            // fixed sampling costs ratio^2 samples a bin, as asked: an extreme ratio or size is a legitimately long call
            if ((double) oh * ow * Math.max(ratio, 1) * Math.max(ratio, 1) > (1 << 16)) d.heavy();
            if (!d.bool("backward")) return T -> Detect.roiAlign(T[xi], T[bi], oh, ow, scale, ratio, aligned);
            return T -> Detect.roiAlignBackward(Detect.roiAlign(T[xi], T[bi], oh, ow, scale, ratio, aligned), T[bi], T[xi].shape(),
                    scale, ratio, aligned);
        });
        op("Decoders.yoloV8/centerNet", d -> {
            DType t = d.dtype();
            long n = d.dim() % 3, h = 1 + d.dim() % 6, w = 1 + d.dim() % 6;
            int classes = d.integer("numClasses", 1, 4);
            if (d.bool("centerNet")) {
                int heat = d.tensor("heatmap", new long[] {n, classes, h, w}, t), wh = d.tensor("wh", d.like(new long[] {n, 2, h, w}), t);
                int off = d.optional("offset", d.like(new long[] {n, 2, h, w}), t);
                int kk = d.integer("k", 1, 12);
                return T -> Decoders.centerNet(T[heat], T[wh], at(T, off), kk, 4);
            }
            int head = d.tensor("head", d.like(new long[] {n, 4 * 4 + classes, h, w}), t);
            return T -> Decoders.yoloV8(Arrays.asList(T[head]), new double[] {8}, classes, 4);
        });

        // ---- attention ----
        op("F.scaledDotProductAttention", d -> {
            AttentionDraw a = AttentionDraw.of(d);
            int form = d.rng.nextInt(3);
            d.note("form", form);
            if (form == 0) return T -> F.scaledDotProductAttention(T[a.q], T[a.k], T[a.v]);
            if (form == 1) {
                boolean causal = d.bool("isCausal");
                return T -> F.scaledDotProductAttention(T[a.q], T[a.k], T[a.v], causal);
            }
            return T -> F.scaledDotProductAttention(T[a.q], T[a.k], T[a.v], a.params(T));
        });
        op("F.scaledDotProductAttentionBackward", d -> {
            AttentionDraw a = AttentionDraw.of(d);
            int g = d.tensor("gradOut", d.like(a.qShape), d.like(a.dtype));
            return T -> {
                AttentionParams p = a.params(T);
                try (AttentionResult fwd = F.scaledDotProductAttention(T[a.q], T[a.k], T[a.v], p)) {
                    return F.scaledDotProductAttentionBackward(T[a.q], T[a.k], T[a.v], fwd, T[g], p);
                }
            };
        });

        // ---- tensors ----
        op("Tensor.<factory>", d -> {
            long[] s = d.shape();
            DType t = d.dtype();
            String k = d.option("factory", List.of("empty", "zeros", "full", "randn", "of"));
            double v = d.scalar("value", -3, 3);
            long seed = d.rng.nextLong();
            boolean nullDevice = d.chance(0.03), nullDtype = d.chance(0.03);
            if (nullDevice || nullDtype) d.immodest();
            d.note("nulls", nullDevice + "/" + nullDtype);
            return T -> {
                Device dev = nullDevice ? null : Fuzz.device();
                DType dt = nullDtype ? null : t;
                return switch (k) {
                    case "empty" -> Tensor.empty(s, dt, dev).numel();  // contents undefined: only the shape
                    case "zeros" -> Tensor.zeros(s, dt, dev);
                    case "full" -> Tensor.full(s, v, dt, dev);
                    case "randn" -> Tensor.randn(s, dt, dev, new Generator(seed));
                    default -> Tensor.of(new float[small(s) ? (int) Arrays.stream(s).reduce(1, (a, b) -> a * b) : 7], s, dev);
                };
            };
        });
        op("Tensor.arange/linspace", d -> {
            boolean integral = d.bool("integral"), linspace = d.bool("linspace");
            double start = d.scalar("start", -40, 40), end = d.scalar("end", -40, 40), step = d.scalar("step", -3, 3);
            int steps = d.integer("steps", -1, 300);
            DType t = d.chance(0.2) ? DType.I64 : d.dtype();
            boolean nullDevice = d.chance(0.03);
            double count = linspace ? steps : integral ? Math.abs((double) ((long) end - (long) start) / (long) step)
                    : Math.abs((end - start) / step);
            d.output(new long[] {(long) Math.min(count, 0x1p62)});  // made on the host: a large one is skipped
            return T -> {
                Device dev = nullDevice ? null : Fuzz.device();
                if (linspace) return Tensor.linspace(start, end, steps, t, dev);
                return integral ? Tensor.arange((long) start, (long) end, (long) step, t, dev) : Tensor.arange(start, end, step, t, dev);
            };
        });
        op("Tensor.toString", d -> {
            long[] s = d.chance(0.2) ? new long[] {40, 30} : d.shape();  // past 1000 elements it summarizes
            int x = d.receiver("this", s, d.chance(0.2) ? DType.I64 : d.dtype());
            return T -> T[x].toString().length();
        });
        op("Tensor.<arithmetic>", d -> {
            long[] s = d.shape();
            DType t = d.dtype();
            int x = d.receiver("this", s, t);
            long[] os = d.chance(0.5) ? d.like(s) : d.chance(0.5) ? last(s) : d.shape();
            int y = d.tensor("other", os, d.like(t));
            String k = d.option("method", List.of("add", "sub", "mul", "div", "maximum", "minimum", "addScalar", "rsub",
                    "mulScalar", "add_", "mul_", "sub_", "div_", "neg"));
            double v = d.chance(0.8) ? d.scalar("scalar", -3, 3) : d.extreme();
            double alpha = d.chance(0.8) ? Math.rint(d.scalar("alpha", -3, 3)) : d.extreme();
            if (k.equals("div") || k.equals("div_") || k.equals("rsub") && v == 0) d.immodest();  // division by zero is inf, as in torch
            return T -> switch (k) {
                case "add" -> T[x].add(T[y], alpha);
                case "sub" -> T[x].sub(T[y]);
                case "mul" -> T[x].mul(T[y]);
                case "div" -> T[x].div(T[y]);
                case "maximum" -> T[x].maximum(T[y]);
                case "minimum" -> T[x].minimum(T[y]);
                case "addScalar" -> T[x].add(v);
                case "rsub" -> T[x].rsub(v);
                case "mulScalar" -> T[x].mul(v);
                case "add_" -> T[x].add_(T[y], alpha);
                case "mul_" -> T[x].mul_(T[y]);
                case "sub_" -> T[x].sub_(T[y], alpha);
                case "div_" -> T[x].div_(T[y]);
                default -> T[x].neg();
            };
        });
        op("Tensor.<reduction>", d -> {
            long[] s = d.shape();
            int x = d.receiver("this", s, d.dtype());
            String k = d.option("method", List.of("sum", "mean", "max", "min", "argmax", "argmin", "item"));
            int[] dims = new int[d.rng.nextInt(3)];
            for (int i = 0; i < dims.length; i++) dims[i] = d.integer("dim", -s.length - 1, s.length);
            int dim = dims.length > 0 ? dims[0] : 0;
            boolean keepdim = d.bool("keepdim");
            if (k.equals("mean")) d.immodest();  // the mean over nothing is NaN, as in torch
            return T -> switch (k) {
                case "sum" -> dims.length == 0 ? T[x].sum() : T[x].sum(dims, keepdim);
                case "mean" -> dims.length == 0 ? T[x].mean() : T[x].mean(dims, keepdim);
                case "max" -> dims.length == 0 ? T[x].max() : T[x].max(dim, keepdim);
                case "min" -> dims.length == 0 ? T[x].min() : T[x].min(dim, keepdim);
                case "argmax" -> dims.length == 0 ? T[x].argmax() : T[x].argmax(dim, keepdim);
                case "argmin" -> dims.length == 0 ? T[x].argmin() : T[x].argmin(dim, keepdim);
                default -> T[x].item();
            };
        });
        op("Tensor.<view or copy>", d -> {
            long[] s = d.shape();
            int x = d.receiver("x", s, d.dtype());
            String k = d.option("method", List.of("reshape", "permute", "narrow", "toDtype", "toDevice", "shape", "toArray",
                    "view", "transpose", "expand", "unsqueeze", "squeeze", "split", "chunk", "contiguous", "cat", "stack",
                    "geluOfView", "softmaxOfView", "addViews", "sumOfView", "copyIntoView"));
            long[] newShape = d.chance(0.5) ? reversed(s) : d.shape();
            if (d.chance(0.3) && newShape.length > 0) newShape[d.rng.nextInt(newShape.length)] = -1;
            int[] dims = new int[d.rng.nextInt(5)];
            for (int i = 0; i < dims.length; i++) dims[i] = d.chance(0.9) ? d.rng.nextInt(Math.max(1, s.length)) : -1;
            if (d.chance(0.7)) dims = shuffled(d, s.length);
            int dim = d.integer("dim", 0, Math.max(0, s.length - 1));
            long start = d.chance(0.9) ? d.rng.nextInt(4) : -1, length = d.chance(0.9) ? d.rng.nextInt(4) : 1L << 40;
            DType target = d.dtype();
            int[] fdims = dims;
            d.note("detail", Arrays.toString(newShape) + " " + Arrays.toString(dims) + " " + start + "+" + length + " " + target);
            if (k.equals("sumOfView")) {  // summing an expansion to 2^40 rows is legitimately that much work
                double n = 1;
                for (long e : newShape) n *= Math.max(e, 1);
                if (n > 1 << 24) d.heavy();
            }
            return T -> switch (k) {
                case "reshape" -> T[x].reshape(newShape);
                case "permute" -> T[x].permute(fdims);
                case "narrow" -> T[x].narrow(dim, start, length);
                case "toDtype" -> T[x].to(target);
                case "toDevice" -> T[x].to(Fuzz.otherDevice());
                case "shape" -> T[x].shape(dim - 1);
                case "view" -> T[x].view(newShape);
                case "transpose" -> T[x].transpose(dim, (int) start);
                case "expand" -> T[x].expand(newShape);
                case "unsqueeze" -> T[x].unsqueeze(dim - 1);
                case "squeeze" -> T[x].squeeze(dim);
                case "split" -> T[x].split(length, dim).size();
                case "chunk" -> T[x].chunk((int) start, dim).size();
                case "contiguous" -> T[x].permute(fdims).contiguous();
                case "cat" -> Tensor.cat(List.of(T[x], T[x].narrow(dim, start, length)), dim);
                case "stack" -> Tensor.stack(List.of(T[x], T[x].permute(fdims)), dim);
                // ops reading views: every family takes them as inputs
                case "geluOfView" -> F.gelu(T[x].transpose(dim, (int) start));
                case "softmaxOfView" -> F.softmax(T[x].narrow(dim, start, length));
                case "addViews" -> T[x].transpose(dim, (int) start).add(T[x].permute(fdims));
                case "sumOfView" -> T[x].expand(newShape).sum();
                case "copyIntoView" -> T[x].narrow(dim, start, length).copyFrom(T[x].narrow(dim, length, start));
                default -> T[x].dtype() == DType.I64 ? T[x].toLongArray().length : T[x].toFloatArray().length;
            };
        });

        // ---- losses ----
        op("F.mseLoss/l1Loss/smoothL1Loss/binaryCrossEntropyWithLogits and backward", d -> {
            long[] s = d.shape();
            DType t = d.dtype();
            int x = d.tensor("input", s, t), y = d.tensor("target", d.like(s), d.like(t));
            String k = d.option("loss", List.of("mse", "l1", "smoothL1", "bce"));
            Reduction r = d.option("reduction", Arrays.asList(Reduction.NONE, Reduction.MEAN, Reduction.SUM, null));
            double beta = d.scalar("beta", 0, 2);
            if (r == Reduction.MEAN && Arrays.stream(s).anyMatch(e -> e == 0)) d.immodest();  // the mean of nothing: NaN
            int pw = k.equals("bce") ? d.optional("posWeight", d.like(last(s)), d.like(t)) : -1;
            boolean backward = d.bool("backward");
            int g = backward ? d.tensor("gradOut", d.like(r == Reduction.NONE ? s : new long[0]), d.like(t)) : -1;
            return T -> switch (k) {
                case "mse" -> backward ? F.mseLossBackward(T[g], T[x], T[y], r) : F.mseLoss(T[x], T[y], r);
                case "l1" -> backward ? F.l1LossBackward(T[g], T[x], T[y], r) : F.l1Loss(T[x], T[y], r);
                case "smoothL1" -> backward ? F.smoothL1LossBackward(T[g], T[x], T[y], r, beta)
                        : F.smoothL1Loss(T[x], T[y], r, beta);
                default -> backward ? F.binaryCrossEntropyWithLogitsBackward(T[g], T[x], T[y], r, at(T, pw))
                        : F.binaryCrossEntropyWithLogits(T[x], T[y], r, at(T, pw));
            };
        });
        op("F.crossEntropy(Backward)", d -> {
            long n = d.dim(), c = d.dim();
            long[] s = d.chance(0.2) ? new long[] {n, c, d.dim() % 4} : new long[] {n, c};
            DType t = d.dtype();
            int x = d.tensor("logits", d.like(s), t);
            long[] ts = s.length == 3 ? new long[] {n, s[2]} : new long[] {n};
            int y = d.ints("target", d.like(ts), d.chance(0.5) ? DType.I32 : DType.I64, -1, (int) Math.min(c + 1, 40));
            Reduction r = d.option("reduction", Arrays.asList(Reduction.NONE, Reduction.MEAN, Reduction.SUM, null));
            long ignore = d.chance(0.5) ? -100 : d.integer("ignoreIndex", -1, 3);
            double smoothing = d.chance(0.5) ? 0 : d.scalar("labelSmoothing", 0, 1);
            // the mean over no counted row (none, or every one ignored) is NaN, as torch's
            if (r == Reduction.MEAN && (n == 0 || s[s.length - 1] == 0 || ignore != -100)) d.immodest();
            boolean backward = d.bool("backward");
            int g = backward ? d.tensor("gradOut", d.like(r == Reduction.NONE ? ts : new long[0]), d.like(t)) : -1;
            return T -> backward ? F.crossEntropyBackward(T[g], T[x], T[y], r, ignore, smoothing)
                    : F.crossEntropy(T[x], T[y], r, ignore, smoothing);
        });
        op("F.centerNetFocalLoss(Backward)", d -> {
            long[] s = d.shape();
            DType t = d.dtype();
            int x = d.tensor("logits", s, t), h = d.tensor("heatmap", d.like(s), d.like(t));
            double alpha = d.scalar("alpha", 0, 4), beta = d.scalar("beta", 0, 4);
            boolean backward = d.bool("backward");
            int g = backward ? d.tensor("gradOut", d.like(new long[0]), d.like(t)) : -1;
            return T -> backward ? F.centerNetFocalLossBackward(T[g], T[x], T[h], alpha, beta)
                    : F.centerNetFocalLoss(T[x], T[h], alpha, beta);
        });
    }

    private static long[] concat(long[] head, long... tail) {
        long[] r = Arrays.copyOf(head, head.length + tail.length);
        System.arraycopy(tail, 0, r, head.length, tail.length);
        return r;
    }

    /** Whether a shape holds at most 64 elements (an array that small is made for Tensor.of). */
    private static boolean small(long[] s) {
        long n = 1;
        for (long d : s) {
            if (d == 0) return true;
            if (d < 0 || d > 64 || (n *= d) > 64) return false;
        }
        return true;
    }

    private static long[] reversed(long[] s) {
        long[] r = new long[s.length];
        for (int i = 0; i < s.length; i++) r[i] = s[s.length - 1 - i];
        return r;
    }

    private static int[] shuffled(Draw d, int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        for (int i = n - 1; i > 0; i--) {
            int j = d.rng.nextInt(i + 1), t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }

    /** A convolution's shapes and parameters, consistent most of the time. */
    static final class ConvDraw {
        long[] x, w, y;
        long k;
        DType dtype;
        boolean nhwc;
        int sh, sw, pt, pb, pl, pr, dh, dw, groups, oph, opw;
        Supplier<Act> act;

        static ConvDraw of(Draw d, boolean transposed) {
            ConvDraw c = new ConvDraw();
            c.dtype = d.dtype();
            c.nhwc = d.bool("nhwc");
            c.groups = d.chance(0.75) ? 1 : d.integer("groups", 1, 4);
            long n = d.dim() % 4, cg = Math.max(0, d.dim() % 6), kg = Math.max(1, d.dim() % 7);
            long ch = cg * Math.max(1, c.groups), kk = kg * Math.max(1, c.groups);
            long h = 1 + d.dim() % 11, wd = 1 + d.dim() % 11;
            if (d.chance(0.05)) h = 0;
            long r = 1 + d.rng.nextInt(4), s = 1 + d.rng.nextInt(4);
            c.sh = d.integer("strideH", 1, 3);
            c.sw = d.integer("strideW", 1, 3);
            c.dh = d.integer("dilationH", 1, 2);
            c.dw = d.integer("dilationW", 1, 2);
            c.pt = d.integer("padTop", 0, 2);
            c.pb = d.integer("padBottom", 0, 2);
            c.pl = d.integer("padLeft", 0, 2);
            c.pr = d.integer("padRight", 0, 2);
            c.oph = transposed && d.chance(0.3) ? d.integer("outputPaddingH", 0, 1) : 0;
            c.opw = transposed && d.chance(0.3) ? d.integer("outputPaddingW", 0, 1) : 0;
            c.act = d.chance(0.3) ? act(d, false) : () -> null;
            if (transposed) {
                // x [n, cin, h, w], w [cin, cout/g, r, s]
                c.x = img(c.nhwc, n, ch, h, wd);
                c.w = c.nhwc ? new long[] {ch, r, s, kg} : new long[] {ch, kg, r, s};
                c.k = kg * Math.max(1, c.groups);
                long ho = (h - 1) * c.sh - c.pt - c.pb + (long) c.dh * (r - 1) + c.oph + 1;
                long wo = (wd - 1) * c.sw - c.pl - c.pr + (long) c.dw * (s - 1) + c.opw + 1;
                c.y = img(c.nhwc, n, c.k, ho, wo);
            } else {
                c.x = img(c.nhwc, n, ch, h, wd);
                c.w = c.nhwc ? new long[] {kk, r, s, cg} : new long[] {kk, cg, r, s};
                c.k = kk;
                long p = Math.floorDiv(h + c.pt + c.pb - (long) c.dh * (r - 1) - 1, Math.max(1, c.sh)) + 1;
                long q = Math.floorDiv(wd + c.pl + c.pr - (long) c.dw * (s - 1) - 1, Math.max(1, c.sw)) + 1;
                c.y = img(c.nhwc, n, kk, Math.max(p, 0), Math.max(q, 0));
            }
            d.output(c.y);
            c.x = d.like(c.x);
            c.w = d.like(c.w);
            d.note("geometry", Arrays.toString(c.x) + "*" + Arrays.toString(c.w));
            return c;
        }

        static long[] img(boolean nhwc, long n, long c, long h, long w) {
            return nhwc ? new long[] {n, h, w, c} : new long[] {n, c, h, w};
        }

        Supplier<Conv2dParams> params(Draw d) {
            Conv2dParams.Layout layout = d.chance(0.98) ? (nhwc ? Conv2dParams.Layout.NHWC : Conv2dParams.Layout.NCHW) : null;
            boolean nullParams = d.chance(0.02);
            if (layout == null || nullParams) d.immodest();
            return () -> {
                if (nullParams) return null;
                Conv2dParams p = Conv2dParams.defaults().withLayout(layout).withStride(sh, sw).withPadding(pt, pb, pl, pr)
                        .withDilation(dh, dw).withGroups(groups);
                if (oph != 0 || opw != 0) p = p.withOutputPadding(oph, opw);
                Act a = act.get();
                return a == null ? p : p.withActivation(a);
            };
        }
    }

    /** Attention's q, k, v and its options. */
    static final class AttentionDraw {
        int q, k, v, keyLengths = -1, bias = -1;
        long[] qShape;
        DType dtype;
        double scale;
        CausalMask causal;

        static AttentionDraw of(Draw d) {
            AttentionDraw a = new AttentionDraw();
            a.dtype = d.dtype();
            long b = d.dim() % 3, hkv = 1 + d.dim() % 3, group = 1 + d.dim() % 3, lq = d.dim(), lk = d.dim();
            long dim = d.chance(0.85) ? d.pick(List.of(32L, 64L, 96L, 128L, 256L)) : d.dim();
            a.qShape = d.like(new long[] {b, hkv * group, lq, dim});
            a.q = d.tensor("q", a.qShape, a.dtype);
            long[] kv = d.like(new long[] {b, hkv, lk, dim});
            a.k = d.tensor("k", kv, d.like(a.dtype));
            a.v = d.tensor("v", d.like(kv), d.like(a.dtype));
            if (d.chance(0.3)) a.keyLengths = d.ints("keyLengths", d.like(new long[] {b}), d.chance(0.5) ? DType.I32 : DType.I64,
                    -2, (int) Math.min(lk + 2, 40));
            if (d.chance(0.3)) a.bias = d.tensor("bias", d.like(new long[] {1, 1, lq, lk}), d.chance(0.5) ? DType.F32 : a.dtype);
            a.scale = d.chance(0.5) ? 0 : d.scalar("scale", 0.01, 2);
            a.causal = d.option("causal", Arrays.asList(CausalMask.NONE, CausalMask.TOP_LEFT, CausalMask.BOTTOM_RIGHT,
                    CausalMask.NONE, null));
            return a;
        }

        AttentionParams params(Tensor[] t) {
            return new AttentionParams(scale, causal, at(t, keyLengths), at(t, bias));
        }
    }
}
