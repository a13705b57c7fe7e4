package org.deepkern.activation;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.reflect.Field;
import java.util.Arrays;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.deepkern.bindings.global.deepkern;
import org.deepkern.ops.Act;
import org.deepkern.torch.TorchEquivalents;
import org.junit.jupiter.api.Test;

/**
 * deepkern.h's DK_ACTIVATIONS list owns the activation kinds: Java's Act.Kind names the same set
 * (the native codes are read from the generated constants), and activations.tsv, the PyTorch
 * equivalents every oracle and peer reads, has a row for each.
 */
class ActivationKindsTest {
    private static Set<String> javaKinds() {
        return Arrays.stream(Act.Kind.values()).map(Enum::name).collect(Collectors.toCollection(TreeSet::new));
    }

    @Test
    void actKindNamesTheNativeList() {
        Set<String> generated = new TreeSet<>();
        for (Field f : deepkern.class.getFields())
            if (f.getName().startsWith("DK_ACT_") && !f.getName().equals("DK_ACT_NONE") && !f.getName().equals("DK_ACT_END"))
                generated.add(f.getName().substring("DK_ACT_".length()));
        assertEquals(generated, javaKinds());
    }

    @Test
    void thePyTorchTableHasARowForEachKind() {
        Set<String> rows = TorchEquivalents.all().stream().map(e -> e.name().toUpperCase())
                .collect(Collectors.toCollection(TreeSet::new));
        assertEquals(javaKinds(), rows);
    }
}
