package org.deepkern.testing;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.deepkern.DeepKern;
import org.deepkern.Device;

/** The devices tests run on. */
public final class TestDevices {
    private TestDevices() {}

    /**
     * The devices every op's tests run on: cpu and emu (when built), what every machine runs; or the
     * device types named by {@code -Ddeepkern.test.devices=cuda,cpu} (the GPU check runs the whole
     * suite on cuda this way).
     */
    public static Stream<Device> host() {
        String named = System.getProperty("deepkern.test.devices", "cpu,emu");
        Set<Device.Type> types = Arrays.stream(named.split(",")).map(String::trim).filter(t -> !t.isEmpty())
                .map(t -> Device.Type.valueOf(t.toUpperCase(Locale.ROOT))).collect(Collectors.toSet());
        return DeepKern.devices().stream().filter(d -> types.contains(d.type()));
    }

    /** The cuda devices present (none on a machine without a GPU). */
    public static List<Device> cuda() {
        return DeepKern.devices().stream().filter(d -> d.type() == Device.Type.CUDA).toList();
    }
}
