package org.deepkern.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The deepkern command line. */
@Command(name = "deepkern", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "GPU kernels for the JVM.",
        subcommands = {InfoCommand.class, BenchCommand.class, SampleCommand.class})
public final class Main implements Runnable {
    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs a command line and returns its exit code (for tests). */
    public static int run(String... args) {
        return new CommandLine(new Main()).execute(args);
    }

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"deepkern " + org.deepkern.DeepKern.version()};
        }
    }
}
