package io.fiber.benchmarks;

import io.fiber.Fiber;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
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
 * Spawn + join of many short-lived fibers. One operation spawns a batch of {@value #BATCH} trivial
 * tasks (each increments a {@link LongAdder}) from the benchmark thread, then joins every one of
 * them. The score is batches per second: fibers per second = score * {@value #BATCH}.
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

    @Param({"fiber", "jdk"})
    public String runtime;

    private BenchRuntime rt;
    private final LongAdder ran = new LongAdder();
    private final Runnable task = ran::increment;
    private final Fiber<?>[] fibers = new Fiber<?>[BATCH];
    private final Thread[] threads = new Thread[BATCH];
    private final Thread.Builder jdk = Thread.ofVirtual();
    private long ops;

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
        long expected = ops * BATCH;
        long actual = ran.sumThenReset();
        ops = 0;
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
        ops++;
    }
}
