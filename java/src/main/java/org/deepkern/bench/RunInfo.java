package org.deepkern.bench;

/** What identifies a run in results.json and RESULTS.md: library, commit, date, machine, ceilings. */
public record RunInfo(String version, String commit, String date, String device, String deviceName, int threads,
                      Roofline roofline) {}
