package org.deepkern.cli.bench;

import java.io.PrintStream;

/** A one-line progress bar on stderr, redrawn in place; no-op when disabled. */
public final class Progress {
    private static final int WIDTH = 30;
    private final PrintStream err;
    private final int total;

    public Progress(PrintStream err, int total) {
        this.err = err;
        this.total = total;
    }

    public void step(int done, String what) {
        if (err == null) return;
        int filled = total == 0 ? WIDTH : done * WIDTH / total;
        err.printf("\r[%s%s] %d/%d %-40s", "#".repeat(filled), " ".repeat(WIDTH - filled), done, total, what);
        if (done == total) err.println();
        err.flush();
    }
}
