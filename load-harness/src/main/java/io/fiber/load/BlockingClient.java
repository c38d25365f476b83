package io.fiber.load;

/**
 * A client that makes one round trip at a time with blocking calls: an echo over a blocking socket,
 * an HTTP request, a query. {@link ClientLoop#blocking} gives it a thread and times each round trip.
 */
@FunctionalInterface
public interface BlockingClient extends AutoCloseable {
    /** One round trip: a request and its whole answer. Throws if the answer is not the one expected. */
    void roundTrip() throws Exception;

    /**
     * Lets go of what the client holds. The load run calls it only to free a client thread still
     * blocked after the run; otherwise whoever made the client closes it.
     */
    @Override
    default void close() throws Exception {
    }
}
