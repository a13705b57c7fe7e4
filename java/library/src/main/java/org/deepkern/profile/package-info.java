/**
 * Measuring devices and calls: a stopwatch on a device's stream and the probes a roofline is
 * measured with. For benchmarks and profilers, not for models.
 */
package org.deepkern.profile;
