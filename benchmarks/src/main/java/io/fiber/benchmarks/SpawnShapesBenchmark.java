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
import java.util.concurrent.atomic.LongAdder;

/**
 * The spawning shapes of issue 19 (part 1), in nanoseconds per thread spawned and joined: from a
 * platform thread (this benchmark's own, as an accept loop or a program's {@code main} spawns), with
 * 1,000 and with 1,000,000 outstanding before the first join, and from a fiber (a virtual thread for
 * {@code jdk}) 1,000 at a time. Each task increments a {@link LongAdder}; every iteration checks that
 * each one ran once. {@link SpawnJoinBenchmark} keeps its batches of 1,000 from a platform thread, in
 * batches per second.
 *
 * <p>{@code fiber}: {@link io.fiber.FiberScheduler#spawn(Runnable)} on 2 carriers; {@code jdk}:
 * {@code Thread.ofVirtual().start(task)} on the JDK's default scheduler; both joined with
 * {@link Thread#join()}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {BenchRuntime.ADD_OPENS, BenchRuntime.HEAP_MIN, BenchRuntime.HEAP_MAX})
public class SpawnShapesBenchmark {
    static final int SMALL = 1_000;
    static final int LARGE = 1_000_000;

    @Param({"fiber", "jdk"})
    public String runtime;

    private BenchRuntime rt;
    private final LongAdder ran = new LongAdder();
    private final Runnable task = ran::increment;
    private final Thread[] threads = new Thread[LARGE];
    /** Tasks spawned this iteration; written by whichever thread spawned them, read after joining it. */
    private long spawned;

    @Setup(Level.Trial)
    public void setUp() {
        rt = BenchRuntime.create(runtime);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        rt.close();
    }

    /** Every task of the iteration ran exactly once. */
    @TearDown(Level.Iteration)
    public void checkAllRan() {
        long actual = ran.sumThenReset();
        long expected = spawned;
        spawned = 0;
        if (actual != expected) {
            throw new IllegalStateException(runtime + ": " + actual + " tasks ran, expected " + expected);
        }
    }

    @Benchmark
    @OperationsPerInvocation(SMALL)
    public void fromPlatformThread1000() throws InterruptedException {
        spawnAndJoin(SMALL);
    }

    @Benchmark
    @OperationsPerInvocation(LARGE)
    public void fromPlatformThread1000000() throws InterruptedException {
        spawnAndJoin(LARGE);
    }

    @Benchmark
    @OperationsPerInvocation(SMALL)
    public void fromFiber1000() throws InterruptedException {
        Throwable[] failure = new Throwable[1];
        Thread parent = rt.start(() -> {
            try {
                spawnAndJoin(SMALL);
            } catch (Throwable e) {
                failure[0] = e;
            }
        });
        parent.join();
        if (failure[0] != null) {
            throw new IllegalStateException(runtime + ": the spawning thread failed", failure[0]);
        }
    }

    private void spawnAndJoin(int n) throws InterruptedException {
        for (int i = 0; i < n; i++) {
            threads[i] = rt.start(task);
        }
        for (int i = 0; i < n; i++) {
            threads[i].join();
            threads[i] = null;
        }
        spawned += n;
    }
}
