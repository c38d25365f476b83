package io.fiber.load;

import java.io.UncheckedIOException;

/**
 * What one client thread of a {@link ClosedLoopLoad} runs: round trips one after another, each
 * started when the one before it is complete, until the run stops it. A loop counts a round trip
 * with {@link #completed} and the run keeps it, with its latency, only if it completed in the
 * measured period.
 *
 * <p>A loop runs once, on one thread, so its counters need no synchronization: the run reads them
 * after joining the thread.
 */
public abstract class ClientLoop {
    private final LatencyHistogram latencies = new LatencyHistogram();
    private long roundTrips;
    private ClosedLoopLoad.RunControl control;
    private volatile boolean aborted;

    protected ClientLoop() { }

    /** One blocking client on a thread of its own: each round trip is timed around its {@link BlockingClient#roundTrip}. */
    public static ClientLoop blocking(BlockingClient client) {
        return new ClientLoop() {
            @Override
            protected void exchangeUntilStopped() throws Exception {
                while (!stopped()) {
                    long start = System.nanoTime();
                    client.roundTrip();
                    completed(System.nanoTime() - start);
                }
            }

            @Override
            protected void abort() throws Exception {
                client.close();
            }
        };
    }

    /** Makes round trips until {@link #stopped}; an exception ends this client and counts it as failed. */
    protected abstract void exchangeUntilStopped() throws Exception;

    /**
     * Frees this loop's thread from a round trip whose answer does not come, by closing what it waits
     * on. Called from the run's thread; what the loop then throws is not counted as a failure.
     */
    protected abstract void abort() throws Exception;

    /** Whether the run has ended: the loop returns once its round trip in flight is complete. */
    protected final boolean stopped() {
        return control.stopped();
    }

    /** Counts one complete, checked round trip, if the measured period is on. */
    protected final void completed(long latencyNanos) {
        if (control.measuring()) {
            roundTrips++;
            latencies.record(latencyNanos);
        }
    }

    final void run(ClosedLoopLoad.RunControl runControl) {
        if (control != null) {
            throw new IllegalStateException("a client loop runs once");
        }
        control = runControl;
        try {
            exchangeUntilStopped();
        } catch (UncheckedIOException e) { // from a callback that may not throw checked exceptions
            failed(e.getCause());
        } catch (Exception | Error e) {
            failed(e);
        }
    }

    private void failed(Throwable failure) {
        if (!aborted) {
            control.fail(failure);
        }
    }

    final void abortQuietly() {
        aborted = true;
        try {
            abort();
        } catch (Exception e) {
            // Closing anyway; the thread it frees ends on its own.
        }
    }

    final LatencyHistogram latencies() {
        return latencies;
    }

    final long roundTrips() {
        return roundTrips;
    }
}
