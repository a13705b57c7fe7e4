package org.deepkern.nn;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.deepkern.DType;
import org.deepkern.DeepKernException;
import org.deepkern.Tensor;

/** {@link Module#loadStateDict(Map, boolean)}: every key checked first, then every tensor copied. */
final class StateDictLoader {
    private static final String LOAD = "Module.loadStateDict";

    private StateDictLoader() {}

    static Module.IncompatibleKeys load(Module module, Map<String, Tensor> state, boolean strict) {
        if (state == null) throw DeepKernException.invalidArgument(LOAD, "state", "expected a map of tensors, got null");
        Map<String, Tensor> own = module.stateDict();
        List<String> missing = new ArrayList<>(), unexpected = new ArrayList<>(), problems = new ArrayList<>();
        own.forEach((key, param) -> {
            if (!state.containsKey(key)) {
                missing.add(key);
                if (strict) problems.add("missing key '" + key + "': expected " + describe(param) + ", got none");
                return;
            }
            Tensor src = state.get(key);
            if (src == null) problems.add("key '" + key + "': expected " + describe(param) + ", got null");
            else if (src.isClosed()) problems.add("key '" + key + "': expected an open tensor, got " + src);
            else if (!Arrays.equals(src.shape(), param.shape())) problems.add("key '" + key + "': expected shape "
                    + Arrays.toString(param.shape()) + ", got " + Arrays.toString(src.shape()));
            else if (strict && src.dtype() != param.dtype()) problems.add("key '" + key + "': expected dtype "
                    + name(param.dtype()) + ", got " + name(src.dtype()));
        });
        for (String key : state.keySet()) {
            if (own.containsKey(key)) continue;
            unexpected.add(key);
            if (strict) problems.add("unexpected key '" + key + "': expected none, got "
                    + (state.get(key) == null ? "null" : describe(state.get(key))));
        }
        if (!problems.isEmpty()) throw DeepKernException.invalidArgument(LOAD, "state", String.join("; ", problems)
                + " (loading into " + module.getClass().getSimpleName() + ")");
        own.forEach((key, param) -> {
            Tensor src = state.get(key);
            if (src == null || src == param) return;
            if (src.device().equals(param.device())) {
                param.copyFrom(src);
            } else {
                try (Tensor moved = src.to(param.device())) {
                    param.copyFrom(moved);
                }
            }
        });
        return new Module.IncompatibleKeys(missing, unexpected);
    }

    private static String describe(Tensor t) {
        return "shape " + Arrays.toString(t.shape()) + " " + name(t.dtype());
    }

    private static String name(DType dtype) {
        return dtype.name().toLowerCase();
    }
}
