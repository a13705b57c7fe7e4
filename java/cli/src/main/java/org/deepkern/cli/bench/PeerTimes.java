package org.deepkern.cli.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Peer times measured by another process (benchmarks/gpu/torch_peer.py on a GPU machine), read
 * from a tab-separated file: case id, peer name, median, p10, p90 (seconds), or case id, peer
 * name and a note (FAIL ..., n/a ...) instead of the times. Cases not in the file are n/a.
 */
public final class PeerTimes implements Peer {
    private final String name;
    private final Map<String, PeerTime> times;

    PeerTimes(String name, Map<String, PeerTime> times) {
        this.name = name;
        this.times = times;
    }

    public static PeerTimes read(Path file) throws IOException {
        Map<String, PeerTime> times = new HashMap<>();
        String name = "peer";
        for (String line : Files.readAllLines(file)) {
            if (line.isBlank() || line.startsWith("#")) continue;
            String[] f = line.split("\t");
            name = f[1];
            times.put(f[0], f.length >= 5
                    ? new PeerTime(f[1], new Stats(Double.parseDouble(f[2]), Double.parseDouble(f[3]),
                            Double.parseDouble(f[4]), 0), "")
                    : PeerTime.none(f[1], f.length > 2 ? f[2] : "n/a"));
        }
        return new PeerTimes(name, times);
    }

    /** The case list the external peer reads: case id, op, input dtype, output dtype, shape. */
    public static String plan(List<BenchCase> cases) {
        StringBuilder b = new StringBuilder("# id\top\tdtype\tout_dtype\tshape\n");
        for (BenchCase c : cases)
            b.append(String.join("\t", c.id(), c.op().name(), c.dtype().name().toLowerCase(),
                    c.outputDtype().name().toLowerCase(), c.shapeLabel())).append('\n');
        return b.toString();
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public PeerTime time(BenchCase c, float[][] inputs, Sampler sampler) {
        return times.getOrDefault(c.id(), PeerTime.none(name, "n/a"));
    }
}
