package io.fiber;

import java.time.Duration;

/**
 * A deadline set with {@link Timeout} or {@link FiberScope} passed: thrown at the blocking call
 * that was waiting when it did (for the runtime's own blocking calls), or when the scope closes. A
 * socket call that a {@link Timeout} ends in a carrier's reactor throws a
 * {@link java.net.SocketTimeoutException} with this as its cause instead (see {@link Timeout}).
 */
public class FiberTimeoutException extends RuntimeException {
    private final Duration timeout;

    public FiberTimeoutException(Duration timeout) {
        super("deadline of " + timeout + " passed");
        this.timeout = timeout;
    }

    /** The duration of the deadline that passed. */
    public Duration timeout() {
        return timeout;
    }
}
