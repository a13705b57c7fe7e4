package org.deepkern.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Model.CommandSpec;

/** Checks of an --out path before any work starts: the folder written into must exist and be writable. */
final class OutputPath {
    private OutputPath() {}

    /** A file to write: its folder must exist and be writable. */
    static Path file(CommandSpec spec, String option, Path file) {
        Path abs = file.toAbsolutePath();
        if (Files.isDirectory(abs)) throw Main.bad(spec, option + " " + file + ": is a folder, expected a file name");
        writableFolder(spec, option, file, abs.getParent());
        return file;
    }

    /** A folder to write into, made when missing: it, or else its parent, must be a writable folder. */
    static Path folder(CommandSpec spec, String option, Path folder) {
        Path abs = folder.toAbsolutePath();
        if (Files.exists(abs)) writableFolder(spec, option, folder, abs);
        else writableFolder(spec, option, folder, abs.getParent());
        return folder;
    }

    private static void writableFolder(CommandSpec spec, String option, Path given, Path folder) {
        if (folder == null || !Files.isDirectory(folder))
            throw Main.bad(spec, option + " " + given + ": folder " + folder + " does not exist");
        if (!Files.isWritable(folder)) throw Main.bad(spec, option + " " + given + ": folder " + folder + " is not writable");
    }
}
