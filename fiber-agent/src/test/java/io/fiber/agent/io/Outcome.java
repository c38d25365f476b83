package io.fiber.agent.io;

import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * How a {@link Body} ended: the value it returned or the exception it threw, and when it started
 * and ended ({@link System#nanoTime()}, taken on the body's own thread).
 */
record Outcome<T>(T returned, Throwable thrown, long startNanos, long endNanos) {
    /** Slack allowed on top of an expected duration: generous, because CI machines stall. */
    static final long SLACK_MILLIS = 1500;

    /** The value; fails (with the body's exception as the cause) if the body threw. */
    T value() {
        if (thrown != null) {
            fail("the body threw instead of returning: " + thrown, thrown);
        }
        return returned;
    }

    /** The exception, which must be exactly of {@code type} (not a subclass) with {@code message}. */
    <X extends Throwable> X threw(Class<X> type, String message) {
        if (thrown == null) {
            fail("expected " + type.getName() + " but the body returned " + returned);
        }
        if (thrown.getClass() != type) {
            fail("expected exactly " + type.getName() + " but the body threw " + thrown, thrown);
        }
        assertEquals(message, thrown.getMessage(), "message of " + thrown);
        return type.cast(thrown);
    }

    long millis() {
        return TimeUnit.NANOSECONDS.toMillis(endNanos - startNanos);
    }

    /** The body took at least {@code expectedMillis}, and not much longer. */
    void assertTookAbout(long expectedMillis) {
        long took = millis();
        assertTrue(took >= expectedMillis, "ended after " + took + " ms, before the " + expectedMillis + " ms timeout");
        assertTrue(took < expectedMillis + SLACK_MILLIS,
                "ended after " + took + " ms, far later than the " + expectedMillis + " ms timeout");
    }

    /** The body ended soon after {@code eventNanos} (a close, an interrupt, a write by the peer). */
    void assertEndedPromptlyAfter(long eventNanos) {
        long after = TimeUnit.NANOSECONDS.toMillis(endNanos - eventNanos);
        assertTrue(after < SLACK_MILLIS, "the body ended " + after + " ms after the event that should end it");
    }
}
