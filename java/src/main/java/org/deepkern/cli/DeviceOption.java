package org.deepkern.cli;

import org.deepkern.DeepKern;
import org.deepkern.Device;
import picocli.CommandLine.Option;

/** The --device option of the commands that run ops (a picocli mixin). */
final class DeviceOption {
    @Option(names = "--device", description = "cpu, emu or cuda:N (default: the default device)")
    String device;

    /** The device named, or the default device when none is. */
    Device get() {
        return device == null ? DeepKern.defaultDevice() : Device.parse(device);
    }
}
