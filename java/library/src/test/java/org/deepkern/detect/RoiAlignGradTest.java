package org.deepkern.detect;

import org.deepkern.Device;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.testing.GradCheck;
import org.deepkern.testing.TestDevices;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** RoIAlign on a tape: the input's gradient against finite differences of torchvision's formulas (RoiAlignReference). */
class RoiAlignGradTest {
    static java.util.stream.Stream<Device> devices() {
        return TestDevices.host();
    }

    @ParameterizedTest
    @MethodSource("devices")
    void inputGradientMatchesFiniteDifferences(Device d) {
        float[] boxes = {0, 0.5f, 1.0f, 5.5f, 4.0f, 1, 2.0f, 0.0f, 6.0f, 6.5f, 0, -1.0f, 3.0f, 2.5f, 7.5f};
        RoiAlignReference ref = new RoiAlignReference(2, 3, 7, 6, 2, 3, 1.0, 2, true);
        try (Scope s = Scope.open(); Tensor b = Tensor.of(boxes, new long[] {3, 5}, d)) {
            GradCheck.check("roiAlign", d, new long[][] {{2, 3, 7, 6}}, x -> Detect.roiAlign(x[0], b, 2, 3, 1.0, 2, true),
                    r -> ref.forward(r[0], boxes, 3)[0], 2e-4, 17);
        }
    }
}
