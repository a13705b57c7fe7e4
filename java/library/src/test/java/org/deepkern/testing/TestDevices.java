package org.deepkern.testing;

import java.util.List;
import java.util.stream.Stream;
import org.deepkern.DeepKern;
import org.deepkern.Device;

/** The devices tests run on. */
public final class TestDevices {
    private TestDevices() {}

    /** cpu and emu (when built): what every machine runs. */
    public static Stream<Device> host() {
        return DeepKern.devices().stream().filter(d -> d.type() != Device.Type.CUDA);
    }

    /** The cuda devices present (none on a machine without a GPU). */
    public static List<Device> cuda() {
        return DeepKern.devices().stream().filter(d -> d.type() == Device.Type.CUDA).toList();
    }
}
