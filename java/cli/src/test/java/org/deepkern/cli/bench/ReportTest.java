package org.deepkern.cli.bench;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import org.deepkern.DType;
import org.junit.jupiter.api.Test;

class ReportTest {
    private final Roofline roofline = new Roofline(100e9, 1e12);
    private final BenchCase cast = new BenchCase(new CastOp(DType.BF16), DType.F32, new long[] {4, 8});
    private final List<Result> results = List.of(
            new Result(cast, "cpu", null, new Stats(2e-6, 1e-6, 3e-6, 9), roofline,
                    new Peer.PeerTime("torch", new Stats(4e-6, 4e-6, 4e-6, 9), "")),
            new Result(cast, "cpu", "wrong result: element 0", null, roofline, null));

    @Test
    void tableHasOneRowPerCaseWithFailuresUntimed() {
        String[] lines = Report.text(results).split("\n");
        assertEquals(3, lines.length);
        assertTrue(lines[0].startsWith("op"));
        assertTrue(lines[1].contains("cast") && lines[1].contains("4x8") && lines[1].contains("f32->bf16"));
        assertTrue(lines[1].contains("2.00 us") && lines[1].contains("2.00x"), lines[1]);
        assertTrue(lines[2].contains("FAIL") && lines[2].contains("wrong result"), lines[2]);
        String md = Report.markdown("### t", results);
        assertTrue(md.startsWith("### t\n\n| op |"));
        assertEquals(6, md.split("\n").length);  // title, blank, header, rule, 2 rows
    }

    @Test
    void jsonCarriesRunInfoAndCases() {
        String json = Report.json(new RunInfo("0.1", "abc", "2026-01-01", "cpu", "a \"quoted\" cpu", 2, roofline, roofline),
                results);
        assertTrue(json.contains("\"device_name\": \"a \\\"quoted\\\" cpu\""), json);
        assertTrue(json.contains("\"id\": \"cast:f32->bf16:4x8\""));
        assertTrue(json.contains("\"median_s\": 2.00000e-06"), json);
        assertTrue(json.contains("\"speedup\": 2.00000"), json);
        assertTrue(json.contains("\"status\": \"FAIL\", \"failure\": \"wrong result: element 0\""), json);
        assertEquals(json.chars().filter(ch -> ch == '{').count(), json.chars().filter(ch -> ch == '}').count());
    }

    @Test
    void aWrongPeerGetsNoSpeedUp() {
        Result r = new Result(cast, "cpu", null, new Stats(2e-6, 1e-6, 3e-6, 9), roofline,
                Peer.PeerTime.none("torch", Peer.WRONG + "element 3: 7.0, expected 1.0"));
        assertTrue(Double.isNaN(r.speedup()));
        String line = Report.text(List.of(r)).split("\n")[1];
        assertTrue(line.contains("peer wrong: element 3") && !line.contains("x "), line);
        assertTrue(!Report.json(new RunInfo("0.1", "abc", "d", "cpu", "c", 2, roofline, roofline), List.of(r)).contains("speedup"));
    }

    @Test
    void aTimeUnderTheRooflineIsACeilingError() {
        // 96 bytes in 1e-10 s is 960 GB/s against a 100 GB/s ceiling
        Result r = new Result(cast, "cpu", null, new Stats(1e-10, 1e-10, 1e-10, 9), roofline, null);
        assertTrue(r.ceilingError());
        assertTrue(Report.text(List.of(r)).contains("ceiling error"));
        assertTrue(Report.json(new RunInfo("0.1", "abc", "d", "cpu", "c", 2, roofline, roofline), List.of(r))
                .contains("\"ceiling_error\": true"));
        assertFalse(results.get(0).ceilingError());
    }

    @Test
    void ceilingsThatMoveDuringTheRunAreReportedAsNoise() {
        RunInfo steady = new RunInfo("0.1", "abc", "d", "cpu", "c", 2, roofline, new Roofline(105e9, 0.95e12));
        assertFalse(steady.ceilingsLine().contains("warning"), steady.ceilingsLine());
        assertEquals(105e9, steady.roofline().bandwidth(), "the better of the two");
        RunInfo noisy = new RunInfo("0.1", "abc", "d", "cpu", "c", 2, roofline, new Roofline(51e9, 1e12));
        assertTrue(noisy.ceilingsLine().contains("warning: the ceilings moved 49% during the run"), noisy.ceilingsLine());
    }

    @Test
    void peerTimesRoundTripThroughThePlanIds(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        assertTrue(PeerTimes.plan(List.of(cast)).contains("cast:f32->bf16:4x8\tcast\tf32\tbf16\t4x8"));
        java.nio.file.Path f = dir.resolve("peers.tsv");
        java.nio.file.Files.writeString(f, "cast:f32->bf16:4x8\ttorch 2.11 cuda\t1e-6\t9e-7\t2e-6\nx\ttorch 2.11 cuda\tFAIL: bad\n");
        PeerTimes p = PeerTimes.read(f);
        assertEquals("torch 2.11 cuda", p.name());
        assertEquals(1e-6, p.time(cast, null, null).stats().median());
        assertEquals("n/a", p.time(new BenchCase(new RandnOp(), DType.F32, new long[] {4}), null, null).note());
    }
}
