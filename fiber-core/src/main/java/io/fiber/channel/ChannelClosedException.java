package io.fiber.channel;

/**
 * Thrown by a send on a closed {@link Channel}, by a receive on a channel that is closed and
 * drained, and by a {@link Select} whose every case is disabled that way.
 */
public final class ChannelClosedException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    ChannelClosedException(String message) {
        super(message);
    }
}
