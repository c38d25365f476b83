package io.fiber;

/** A fiber failed; the exception it failed with is the {@link #getCause() cause}. */
public class FiberException extends RuntimeException {
    public FiberException(String message, Throwable cause) {
        super(message, cause);
    }
}
