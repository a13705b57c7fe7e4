package org.deepkern.cli;

import org.deepkern.BackendInfo;
import org.deepkern.DeepKern;
import org.deepkern.DeepKernException;
import org.deepkern.Device;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** The --device option of the commands that run ops (a picocli mixin). */
final class DeviceOption {
    @Spec(Spec.Target.MIXEE)
    CommandSpec spec;

    @Option(names = "--device", description = "cpu, emu or cuda:N (default: the default device)")
    String device;

    /** The device named, checked to exist here, or the default device when none is named. */
    Device get() {
        if (device == null) return DeepKern.defaultDevice();
        Device d;
        try {
            d = Device.parse(device);
        } catch (DeepKernException e) {
            throw Main.bad(spec, "--device " + device + ": expected cpu, emu, cuda or cuda:N");
        }
        if (DeepKern.devices().contains(d)) return d;
        String why = DeepKern.backends().stream().filter(b -> b.type() == d.type() && !b.available()).map(BackendInfo::reason)
                .findFirst().map(r -> ": the " + d.type().name().toLowerCase() + " backend is unavailable (" + r + ")")
                .orElse(": no such device here (deepkern info lists them)");
        throw Main.bad(spec, "--device " + device + why);
    }
}
