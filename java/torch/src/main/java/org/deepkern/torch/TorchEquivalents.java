package org.deepkern.torch;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * What each deepkern activation is in PyTorch, from the one table {@code activations.tsv} (this
 * package's resource, also read by benchmarks/gpu/torch_peer.py), evaluated over the JavaCPP
 * presets: an expression of aten calls in x (the input), alpha and beta (the activation's
 * parameters), g (an output gradient) and y (the output of an out= form). A call {@code op(a, b)}
 * is {@code torch.op(a, b)}; with {@code out=y} it is {@code torch.op_out(y, a, b)}; keyword
 * arguments go in their written order; numbers become Scalars where the op takes them.
 */
public final class TorchEquivalents {
    private TorchEquivalents() {}

    /**
     * One activation: its deepkern name, the PyTorch forward, and where PyTorch has them the fast
     * forward into y and the backward into y (empty strings where not).
     */
    public record Equivalent(String name, String forward, String forwardOut, String backwardOut) {}

    private static final Map<String, Equivalent> TABLE = read();
    private static final Map<String, List<Method>> OPS = new HashMap<>();

    static {
        for (Method m : torch.class.getMethods())
            if (Modifier.isStatic(m.getModifiers())) OPS.computeIfAbsent(m.getName(), k -> new ArrayList<>()).add(m);
    }

    /** Every row of the table, in its order. */
    public static List<Equivalent> all() {
        return List.copyOf(TABLE.values());
    }

    /** The row of a deepkern activation name ("leaky_relu"); throws if the table has none. */
    public static Equivalent of(String name) {
        Equivalent e = TABLE.get(name);
        if (e == null) throw new IllegalArgumentException("activations.tsv has no row for '" + name + "'");
        return e;
    }

    /** act(x) as PyTorch computes it, in x's dtype. */
    public static Tensor forward(String name, Tensor x, double alpha, double beta) {
        Tensor r = (Tensor) parse(of(name).forward()).evaluate(vars(x, null, null, alpha, beta));
        return r.scalar_type() == torch.ScalarType.Bool ? r.to(x.scalar_type()) : r;
    }

    /**
     * act(x) written into y by PyTorch's out= form, prepared once (parsed, its ops resolved on the
     * first run) for repeated timing; null where the table has no such form.
     */
    public static Runnable forwardInto(String name, Tensor x, Tensor y, double alpha, double beta) {
        return prepare(of(name).forwardOut(), vars(x, null, y, alpha, beta));
    }

    /** g * act'(x) written into y by PyTorch's backward kernel, prepared once; null where the table has none. */
    public static Runnable backwardInto(String name, Tensor g, Tensor x, Tensor y) {
        return prepare(of(name).backwardOut(), vars(x, g, y, 0, 0));
    }

    private static Runnable prepare(String expression, Map<String, Object> vars) {
        if (expression.isEmpty()) return null;
        Node n = parse(expression);
        return () -> n.evaluate(vars);
    }

    private static Map<String, Object> vars(Tensor x, Tensor g, Tensor y, double alpha, double beta) {
        Map<String, Object> v = new HashMap<>();
        v.put("x", x);
        v.put("alpha", alpha);
        v.put("beta", beta);
        if (g != null) v.put("g", g);
        if (y != null) v.put("y", y);
        return v;
    }

    private static Map<String, Equivalent> read() {
        Map<String, Equivalent> t = new LinkedHashMap<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(
                TorchEquivalents.class.getResourceAsStream("activations.tsv"), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                if (line.isBlank() || line.startsWith("#")) continue;
                String[] f = line.split("\t", -1);
                t.put(f[0], new Equivalent(f[0], f[1], f.length > 2 ? f[2] : "", f.length > 3 ? f[3] : ""));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return t;
    }

    /** An expression of the table, parsed: a call, a name, a number or a string. */
    private interface Node {
        Object evaluate(Map<String, Object> vars);
    }

    private record Constant(Object value) implements Node {
        public Object evaluate(Map<String, Object> vars) {
            return value;
        }
    }

    private record Name(String name, String text) implements Node {
        public Object evaluate(Map<String, Object> vars) {
            Object v = vars.get(name);
            if (v == null) throw new IllegalArgumentException("activations.tsv: unknown name '" + name + "' in: " + text);
            return v;
        }
    }

    /** torch.op(args) (out first where the table writes out=); the method found on the first run is kept. */
    private static final class Call implements Node {
        private final String op;
        private final List<Node> args;
        private final String text;
        private Method method;

        Call(String op, List<Node> args, String text) {
            this.op = op;
            this.args = args;
            this.text = text;
        }

        public Object evaluate(Map<String, Object> vars) {
            List<Object> values = new ArrayList<>(args.size());
            for (Node a : args) values.add(a.evaluate(vars));
            if (method != null) return invoke(method, convert(method.getParameterTypes(), values));
            for (Method m : OPS.getOrDefault(op, List.of())) {
                if (m.getParameterCount() != values.size()) continue;
                Object[] converted = convert(m.getParameterTypes(), values);
                if (converted == null) continue;
                method = m;
                return invoke(m, converted);
            }
            throw new IllegalArgumentException("activations.tsv: no torch." + op + " takes " + values + " in: " + text);
        }

        private Object invoke(Method m, Object[] args) {
            try {
                return m.invoke(null, args);
            } catch (IllegalAccessException e) {
                throw new IllegalStateException(e);
            } catch (InvocationTargetException e) {
                throw new IllegalStateException(op + ": " + e.getCause(), e.getCause());
            }
        }

        private static Object[] convert(Class<?>[] types, List<Object> args) {
            Object[] out = new Object[types.length];
            for (int i = 0; i < types.length; i++) {
                Object a = args.get(i);
                Class<?> t = types[i];
                if (a instanceof Tensor && t == Tensor.class) out[i] = a;
                else if (a instanceof Double d && t == Scalar.class) out[i] = new Scalar(d);
                else if (a instanceof Double d && t == double.class) out[i] = d;
                else if (a instanceof String s && t == String.class) out[i] = s;
                else if (a instanceof String s && t == BytePointer.class) out[i] = new BytePointer(s);
                else return null;
            }
            return out;
        }
    }

    private static Node parse(String text) {
        return new Parser(text).expression();
    }

    /** The table's expressions: calls with positional and keyword arguments, names, numbers, strings. */
    private static final class Parser {
        private final String text;
        private int at;

        Parser(String text) {
            this.text = text;
        }

        Node expression() {
            Node n = term();
            skipSpace();
            if (at != text.length()) throw error("unexpected text");
            return n;
        }

        private Node term() {
            skipSpace();
            char c = text.charAt(at);
            if (c == '"') {
                int end = text.indexOf('"', at + 1);
                String s = text.substring(at + 1, end);
                at = end + 1;
                return new Constant(s);
            }
            if (Character.isDigit(c) || c == '-' || c == '.') {
                int start = at;
                while (at < text.length() && "0123456789.-e".indexOf(text.charAt(at)) >= 0) at++;
                return new Constant(Double.parseDouble(text.substring(start, at)));
            }
            String name = identifier();
            skipSpace();
            if (at < text.length() && text.charAt(at) == '(') return call(name);
            return new Name(name, text);
        }

        private Node call(String op) {
            at++;  // (
            List<Node> args = new ArrayList<>();
            Node out = null;
            skipSpace();
            while (text.charAt(at) != ')') {
                int mark = at;
                String keyword = Character.isLetter(text.charAt(at)) ? identifier() : null;
                skipSpace();
                if (keyword != null && text.charAt(at) == '=') {
                    at++;
                    Node v = term();
                    if (keyword.equals("out")) out = v;
                    else args.add(v);
                } else {
                    at = mark;
                    args.add(term());
                }
                skipSpace();
                if (text.charAt(at) == ',') at++;
                skipSpace();
            }
            at++;  // )
            if (out != null) args.add(0, out);
            return new Call(out != null ? op + "_out" : op, args, text);
        }

        private String identifier() {
            int start = at;
            while (at < text.length() && (Character.isLetterOrDigit(text.charAt(at)) || text.charAt(at) == '_')) at++;
            return text.substring(start, at);
        }

        private void skipSpace() {
            while (at < text.length() && text.charAt(at) == ' ') at++;
        }

        private IllegalArgumentException error(String what) {
            return new IllegalArgumentException("activations.tsv: " + what + " at " + at + " in: " + text);
        }
    }
}
