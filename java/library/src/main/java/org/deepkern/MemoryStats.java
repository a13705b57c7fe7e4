package org.deepkern;

/**
 * A device's caching-allocator counters, in bytes (size-class rounded).
 *
 * @param inUse bytes held by live allocations
 * @param peakInUse high-water mark of inUse since the context was made or the peak was reset
 * @param cached bytes held in the free lists for reuse
 * @param reserved inUse + cached: what the allocator holds from the device
 * @param allocCount allocations served
 * @param cacheHits allocations served from the free lists
 */
public record MemoryStats(long inUse, long peakInUse, long cached, long reserved, long allocCount, long cacheHits) {}
