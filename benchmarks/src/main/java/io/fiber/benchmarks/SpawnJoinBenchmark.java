package io.fiber.benchmarks;

import io.fiber.Fiber;
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
 * Spawn + join of many short-lived fibers. {@code spawnJoin1000}: one operation spawns a batch of
 * {@value #BATCH} trivial tasks (each increments a {@link LongAdder}) from the benchmark thread, then
 * joins every one of them; the score is batches per second: fibers per second = score * {@value #BATCH}.
 * The spawning shapes of issue 19, in ns per thread spawned and joined: {@code fromPlatformThread1000}
 * and {@code fromPlatformThread1000000} (that many outstanding before the first join, as an accept
 * loop or {@code main} spawns) and {@code fromFiber1000} (from a fiber, a virtual thread for
 * {@code jdk}). Every iteration checks that each task ran once.
 *
 * <p>{@code fiber}: {@link io.fiber.FiberScheduler#spawn(Runnable)} and {@link Fiber#join()} on 2
 * carriers. {@code jdk}: {@code Thread.ofVirtual().start(task)} and {@link Thread#join()} on the
 * JDK's default scheduler (parallelism 2 on a 2-CPU machine).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {BenchRuntime.ADD_OPENS, BenchRuntime.HEAP_MIN, BenchRuntime.HEAP_MAX})
public class SpawnJoinBenchmark {
    static final int BATCH = 1_000;
    static final int LARGE = 1_000_000;

    @Param({"fiber", "jdk"})
    public String runtime;

    private BenchRuntime rt;
    private final LongAdder ran = new LongAdder();
    private final Runnable task = ran::increment;
    private final Fiber<?>[] fibers = new Fiber<?>[BATCH];
    private final Thread[] threads = new Thread[BATCH];
    private final Thread.Builder jdk = Thread.ofVirtual();
    /** Tasks spawned this iteration; written by whichever thread spawned them, read after joining it. */
    private long spawned;
    private final Thread[] many = new Thread[LARGE];

    @Setup(Level.Trial)
    public void setUp() {
        rt = BenchRuntime.create(runtime);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        rt.close();
    }

    /** Every task of every batch ran exactly once. */
    @TearDown(Level.Iteration)
    public void checkAllRan() {
        long expected = spawned;
        long actual = ran.sumThenReset();
        spawned = 0;
        if (actual != expected) {
            throw new IllegalStateException(runtime + ": " + actual + " tasks ran, expected " + expected);
        }
    }

    @Benchmark
    public void spawnJoin1000() throws InterruptedException {
        if (rt.isFiber()) {
            for (int i = 0; i < BATCH; i++) {
                fibers[i] = rt.spawn(task);
            }
            for (int i = 0; i < BATCH; i++) {
                fibers[i].join();
                fibers[i] = null;
            }
        } else {
            for (int i = 0; i < BATCH; i++) {
                threads[i] = jdk.start(task);
            }
            for (int i = 0; i < BATCH; i++) {
                threads[i].join();
                threads[i] = null;
            }
        }
        spawned += BATCH;
    }

    // The spawning shapes of issue 19, in ns per thread spawned and joined, both runtimes joined with Thread.join.

    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    @OperationsPerInvocation(BATCH)
    public void fromPlatformThread1000() throws InterruptedException {
        spawnAndJoin(BATCH);
    }

    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    @OperationsPerInvocation(LARGE)
    public void fromPlatformThread1000000() throws InterruptedException {
        spawnAndJoin(LARGE);
    }

    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    @OperationsPerInvocation(BATCH)
    public void fromFiber1000() throws InterruptedException {
        Throwable[] failure = new Throwable[1];
        Thread parent = rt.start(() -> {
            try {
                spawnAndJoin(BATCH);
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
            many[i] = rt.start(task);
        }
        for (int i = 0; i < n; i++) {
            many[i].join();
            many[i] = null;
        }
        spawned += n;
    }
}
