package io.fiber.internal.carrier;

/**
 * Told by the runtime's watchdog when a carrier has run one continuation for longer than
 * {@link #thresholdNanos()}: a fiber hogging the CPU, or blocked in a call nothing else flagged.
 * Registered with {@link CarrierWatchdog#observeLongRuns}; fiber-core's own is the blocking-call detector.
 * Not an application API.
 */
public interface LongRunObserver {
    /** How long a run may last before {@link #longRun} is told; 0: not watching now; negative: never in this JVM. */
    long thresholdNanos();

    /**
     * A run that has lasted at least {@code nanos} (it started at most one watchdog period before
     * that): {@code fiber} is the virtual thread running, or null for a continuation the carrier
     * cannot name (a virtual thread a fiber started), and {@code stack} its stack as sampled now.
     * Called once per run, on the watchdog thread.
     */
    void longRun(Thread fiber, String carrier, long nanos, StackTraceElement[] stack);
}
