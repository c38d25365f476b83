package io.fiber.detector;

import java.time.Instant;
import java.util.Arrays;

/**
 * One flagged call: what blocked, where, and on which thread. Given to listeners, carried by
 * {@link BlockingCallError}, logged in {@link BlockingCallDetector.Mode#REPORT} mode.
 *
 * @param method     the blocking method, {@code class#method} (instance) or {@code class.method} (static),
 *                   such as {@code java.io.FileInputStream#read}; for {@link BlockingCategory#LONG_RUN},
 *                   the method the fiber was in when noticed
 * @param category   what kind of call it is
 * @param threadName the thread that made it: its name and id ({@code "worker #31"}), or its id alone ({@code "#35"})
 * @param fiber      true when the thread is a fiber or a virtual thread running on a fiber carrier
 * @param carrier    the carrier's name for a virtual thread, else null
 * @param detail     extra information (for a long run, how long), or null
 * @param time       when it was flagged
 * @param stackTrace the stack, innermost first, starting at the blocking method
 */
public record BlockingCall(String method, BlockingCategory category, String threadName, boolean fiber,
                           String carrier, String detail, Instant time, StackTraceElement[] stackTrace) {
    public BlockingCall {
        stackTrace = stackTrace.clone();
    }

    @Override
    public StackTraceElement[] stackTrace() {
        return stackTrace.clone();
    }

    /** One line: what blocked, in which thread. */
    public String message() {
        return "Blocking call! " + method + " (" + category.description() + ") in " + (fiber ? "fiber" : "thread")
                + " " + threadName + (carrier != null ? " on carrier " + carrier : "")
                + (detail != null ? ": " + detail : "");
    }

    /** The message followed by the stack, one frame a line, as in a thread dump. */
    public String describe() {
        StringBuilder sb = new StringBuilder(message());
        for (StackTraceElement frame : stackTrace) {
            sb.append("\n\tat ").append(frame);
        }
        return sb.toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof BlockingCall c && method.equals(c.method) && category == c.category
                && threadName.equals(c.threadName) && time.equals(c.time) && Arrays.equals(stackTrace, c.stackTrace);
    }

    @Override
    public int hashCode() {
        return method.hashCode() * 31 + time.hashCode();
    }

    @Override
    public String toString() {
        return message();
    }
}
