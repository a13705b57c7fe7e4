package org.deepkern.cli;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import org.deepkern.BackendInfo;
import org.deepkern.DeepKern;
import org.deepkern.DeepKernException;
import org.deepkern.Device;
import org.deepkern.DeviceInfo;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code deepkern info}: version, backends, devices and the default device. */
@Command(name = "info", description = "Print the version, the backends built in, the devices found and the default device.")
final class InfoCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        out.println("deepkern " + DeepKern.version());
        out.println();
        out.println("backends:");
        for (BackendInfo b : DeepKern.backends()) {
            String name = b.type().name().toLowerCase();
            out.printf("  %-5s %s%n", name, b.available() ? "available" : "unavailable: " + b.reason());
        }
        out.println();
        out.println("devices:");
        for (Device d : DeepKern.devices()) {
            DeviceInfo i = DeepKern.deviceInfo(d);
            if (d.type() == Device.Type.CUDA) {
                out.printf("  %-7s %s, compute %s, %d SMs, %s, L2 %s, driver %s, runtime %s%n", d, i.name(),
                        i.computeCapability(), i.multiprocessors(), bytes(i.totalMemory()), bytes(i.l2CacheBytes()),
                        cudaVersion(i.driverVersion()), cudaVersion(i.runtimeVersion()));
            } else {
                out.printf("  %-7s %s, %d threads, %s memory, L2 %s%n", d, i.name(), i.multiprocessors(),
                        bytes(i.totalMemory()), bytes(i.l2CacheBytes()));
            }
        }
        out.println();
        try {
            out.println("default device: " + DeepKern.defaultDevice());
        } catch (DeepKernException e) {
            out.println("default device: invalid (" + e.getMessage() + ")");
            return 1;
        }
        return 0;
    }

    static String bytes(long b) {
        if (b >= 1L << 30) return String.format("%.1f GiB", b / (double) (1L << 30));
        if (b >= 1L << 20) return String.format("%.1f MiB", b / (double) (1L << 20));
        if (b >= 1L << 10) return String.format("%.0f KiB", b / 1024.0);
        return b + " B";
    }

    static String cudaVersion(int v) {
        return v == 0 ? "none" : (v / 1000) + "." + (v % 1000) / 10;
    }
}
