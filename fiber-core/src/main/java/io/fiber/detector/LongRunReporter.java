package io.fiber.detector;

import io.fiber.internal.carrier.LongRunObserver;

import java.time.Instant;
import java.util.List;

/**
 * The detector's side of the runtime's long-run watchdog: a fiber that ran longer than
 * {@link BlockingCallDetector#longRunThreshold()} without yielding is a
 * {@link BlockingCategory#LONG_RUN} (a CPU hog, or a blocking call no table lists), reported with
 * its stack as sampled. It is reported in every mode but OFF and never thrown, even in FAIL mode:
 * the fiber is still running code that cannot be interrupted safely. An allowance covering a frame
 * of the sampled stack (class loading, a JDK class initialiser) covers the run. The detector
 * registers one with the watchdog as it starts.
 */
final class LongRunReporter implements LongRunObserver {
    private final BlockingCallDetector detector;

    LongRunReporter(BlockingCallDetector detector) {
        this.detector = detector;
    }

    @Override
    public long thresholdNanos() {
        if (!detector.isAvailable()) {
            return -1;
        }
        return detector.mode() == BlockingCallDetector.Mode.OFF ? 0 : detector.longRunThreshold().toNanos();
    }

    @Override
    public void longRun(Thread fiber, String carrier, long nanos, StackTraceElement[] stack) {
        if (detector.allowances().allows(List.of(stack), StackTraceElement::getClassName, StackTraceElement::getMethodName)) {
            return;
        }
        String method = stack.length == 0 ? "(unknown)" : stack[0].getClassName() + "#" + stack[0].getMethodName();
        String thread = fiber != null ? CallCheck.nameOf(fiber) : "a virtual thread started by a fiber";
        BlockingCall call = new BlockingCall(method, BlockingCategory.LONG_RUN, thread, true, carrier,
                "ran " + nanos / 1_000_000 + " ms without yielding (threshold " + detector.longRunThreshold().toMillis() + " ms)",
                Instant.now(), stack);
        detector.check().publish(call, detector.mode());
    }
}
