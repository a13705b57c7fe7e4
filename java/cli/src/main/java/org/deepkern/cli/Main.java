package org.deepkern.cli;

import org.deepkern.DeepKern;
import org.deepkern.DeepKernException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;

/** The deepkern command line. */
@Command(name = "deepkern", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "GPU kernels for the JVM.",
        subcommands = {InfoCommand.class, BenchCommand.class, SampleCommand.class, RfCommand.class,
                CheckpointBenchCommand.class, TrainDiffusionCommand.class, TrainFlowCommand.class})
public final class Main implements Runnable {
    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs a command line and returns its exit code (for tests). */
    public static int run(String... args) {
        return commandLine().execute(args);
    }

    /**
     * The command line with deepkern's error handling: a bad option or value is one line on stderr,
     * {@code deepkern: <what is wrong>}, and exit code 2, before any work starts; a failure while
     * working is one line too, with exit code 1. Neither prints a stack trace.
     */
    static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        cl.setParameterExceptionHandler((e, args) -> {
            e.getCommandLine().getErr().println("deepkern: " + oneLine(e.getMessage()) + " (see "
                    + e.getCommandLine().getCommandSpec().qualifiedName() + " --help)");
            return USAGE;
        });
        cl.setExecutionExceptionHandler((e, c, parsed) -> {
            c.getErr().println("deepkern: " + oneLine(e instanceof DeepKernException ? e.getMessage() : e.toString()));
            return 1;
        });
        return cl;
    }

    /** The exit code of a command line that is wrong. */
    static final int USAGE = 2;

    private static String oneLine(String message) {
        return message == null ? "failed" : message.lines().map(String::strip).reduce((a, b) -> a + " " + b).orElse("");
    }

    /** A bad value found by a command's own checks, reported like picocli's own. */
    static ParameterException bad(CommandSpec spec, String message) {
        return new ParameterException(spec.commandLine(), message);
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
