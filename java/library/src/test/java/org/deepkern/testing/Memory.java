package org.deepkern.testing;

import org.deepkern.DeepKern;
import org.deepkern.Device;

/**
 * Bytes in use on a device once the Cleaner has freed what earlier tests dropped unclosed.
 *
 * <p>The allocator's count is global: a Cleaner run in the middle of a measurement frees another test's
 * tensor and shifts the difference. Taking the baseline after the garbage is collected and freed leaves
 * nothing for the Cleaner to do while a test that closes (or scopes) what it makes measures.
 */
public final class Memory {
    private Memory() {}

    public static long settledInUse(Device d) {
        // the Cleaner runs on its own thread after a collection: one unchanged reading may only mean
        // it has not run yet, so the count must hold over three rounds in a row
        long last = DeepKern.memoryStats(d).inUse();
        int stable = 0;
        for (int round = 0; round < 100 && stable < 3; round++) {
            System.gc();
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            long now = DeepKern.memoryStats(d).inUse();
            stable = now == last ? stable + 1 : 0;
            last = now;
        }
        return last;
    }
}
