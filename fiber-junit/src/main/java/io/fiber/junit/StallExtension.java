package io.fiber.junit;

import io.fiber.FiberScheduler;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.InvocationInterceptor;
import org.junit.jupiter.api.extension.ReflectiveInvocationContext;
import org.opentest4j.AssertionFailedError;

import java.lang.reflect.Method;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Fails a test whose fibers stalled, with the stall report, rather than letting it hang. Use it
 * through {@link FailOnStall} or {@code @ExtendWith(StallExtension.class)}.
 *
 * <p>While the test method runs, it listens to every scheduler's stall reports
 * ({@link FiberScheduler#addStallListener}): a scheduler reports when all its fibers have waited on
 * locks, conditions or latches, with nothing running, queued, timed or waiting for a socket, for its
 * {@code stallReportAfter} (10 s by default; a scheduler a test builds can set less). At the first
 * report the test's thread is interrupted, so a test waiting for its fibers (a {@code join}, a
 * {@code get}, a latch) stops waiting, and the test fails with an {@link AssertionFailedError}
 * carrying the report; what the interrupted wait threw is attached as suppressed. A test that still
 * passes (its thread was not waiting, or a thread outside the scheduler woke the fibers) passes, with
 * its interrupt flag cleared.
 *
 * <p>Reports are attributed by time: under parallel test execution a stall of another test's
 * scheduler can fail this one.
 */
public final class StallExtension implements InvocationInterceptor {

    @Override
    public void interceptTestMethod(Invocation<Void> invocation, ReflectiveInvocationContext<Method> invocationContext,
                                    ExtensionContext extensionContext) throws Throwable {
        Thread testThread = Thread.currentThread();
        AtomicReference<String> report = new AtomicReference<>();
        AutoCloseable listening = FiberScheduler.addStallListener(r -> {
            if (report.compareAndSet(null, r)) {
                testThread.interrupt();
            }
        });
        Throwable thrown = null;
        try {
            invocation.proceed();
        } catch (Throwable t) {
            thrown = t;
        } finally {
            listening.close();
        }
        String stall = report.get();
        if (stall != null) {
            Thread.interrupted(); // ours, not the test's
        }
        if (stall != null && thrown != null) {
            AssertionFailedError failure = new AssertionFailedError(extensionContext.getDisplayName()
                    + ": its fibers stalled, and the test was stopped waiting for them\n" + stall);
            failure.addSuppressed(thrown);
            throw failure;
        }
        if (thrown != null) {
            throw thrown;
        }
    }
}
