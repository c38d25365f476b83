package io.fiber.benchmarks;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Park/unpark ping-pong between two long-lived virtual threads. PING hands the turn to PONG
 * ({@code turn = PONG; unpark(pong)}) and parks until PONG hands it back; a volatile turn flag makes
 * both robust to spurious wakeups and early permits.
 *
 * <p>The two threads are started once per trial and live across operations: one operation is a
 * "round" of {@value #ROUND_TRIPS} round trips, started by the benchmark thread (it sets the count,
 * gives PING the turn and unparks it) and ended by PING (turn back to IDLE, unpark the benchmark
 * thread, which parks meanwhile). Start-up is thus out of the measurement; the two cross-thread
 * hand-offs per round (benchmark thread to PING and back) are amortised over the round trips.
 * The score is the average time of one round trip (two park/unpark hand-offs).
 *
 * <p>{@code fiber}: 2 carriers; a fiber woken by a fiber goes to the waker's carrier's run-next slot,
 * so the pair should settle on one carrier. {@code fiber1}: 1 carrier, where that is certain.
 * {@code jdk}: JDK virtual threads, default scheduler.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {BenchRuntime.ADD_OPENS, BenchRuntime.HEAP_MIN, BenchRuntime.HEAP_MAX})
public class PingPongBenchmark {
    static final int ROUND_TRIPS = 10_000;

    private static final int IDLE = 0;
    private static final int PING = 1;
    private static final int PONG = 2;

    @Param({"fiber", "fiber1", "jdk"})
    public String runtime;

    private BenchRuntime rt;
    private Thread ping;
    private Thread pong;
    /** The benchmark thread, which PING wakes at the end of a round. Published by the write of {@link #turn}. */
    private Thread driver;
    /** Round trips left in this round; only PING touches it during a round, ordered by {@link #turn}. */
    private int remaining;
    private volatile int turn = IDLE;
    private volatile boolean stop;

    @Setup(Level.Trial)
    public void setUp() {
        rt = BenchRuntime.create(runtime);
        ping = rt.start(this::pingLoop);
        pong = rt.start(this::pongLoop);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws InterruptedException {
        stop = true;
        LockSupport.unpark(ping);
        LockSupport.unpark(pong);
        ping.join();
        pong.join();
        rt.close();
    }

    private void pingLoop() {
        for (;;) {
            while (turn != PING) {
                if (stop) {
                    return;
                }
                LockSupport.park(this);
            }
            if (remaining == 0) {
                Thread d = driver;
                turn = IDLE;
                LockSupport.unpark(d);
                continue;
            }
            remaining--;
            turn = PONG;
            LockSupport.unpark(pong);
        }
    }

    private void pongLoop() {
        for (;;) {
            while (turn != PONG) {
                if (stop) {
                    return;
                }
                LockSupport.park(this);
            }
            turn = PING;
            LockSupport.unpark(ping);
        }
    }

    @Benchmark
    @OperationsPerInvocation(ROUND_TRIPS)
    public void roundTrip() {
        driver = Thread.currentThread();
        remaining = ROUND_TRIPS;
        turn = PING;
        LockSupport.unpark(ping);
        long start = System.nanoTime();
        while (turn != IDLE) {
            LockSupport.parkNanos(this, TimeUnit.SECONDS.toNanos(1));
            if (turn != IDLE && System.nanoTime() - start > BenchRuntime.STUCK_NANOS) {
                throw BenchRuntime.stuck("ping-pong round not done; turn=" + turn + ", remaining=" + remaining,
                        rt, ping, pong);
            }
        }
    }
}
