package io.fiber.detector;

/**
 * Thrown inside the offending fiber, at the call site, by a blocking call in
 * {@link BlockingCallDetector.Mode#FAIL} mode. Its stack trace starts at the blocking JDK method.
 */
public final class BlockingCallError extends Error {
    private static final long serialVersionUID = 1L;
    private final transient BlockingCall call;

    BlockingCallError(BlockingCall call) {
        super(call.message(), null, false, true);
        this.call = call;
        setStackTrace(call.stackTrace());
    }

    /** The call that was flagged. */
    public BlockingCall call() {
        return call;
    }
}
