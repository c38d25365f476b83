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
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * {@code fibers} virtual threads that do nothing but {@link Thread#yield()}, on our 2 carriers or on
 * the JDK's default scheduler. The threads are started once per trial and live across operations.
 * One operation: the benchmark thread opens a new round and unparks every thread; each performs
 * exactly {@code TOTAL_YIELDS / fibers} yields, then counts down; the operation ends when the last
 * one is done, so every thread must make its share of progress (a starved thread stalls the round).
 * Each operation is {@value #TOTAL_YIELDS} yields whatever {@code fibers} is, and the score is total
 * yields per second across all threads. The per-round release (one unpark and one park per thread)
 * is inside the measurement: 1 per 100 yields at fibers=10000, negligible below.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {BenchRuntime.ADD_OPENS, BenchRuntime.HEAP_MIN, BenchRuntime.HEAP_MAX})
public class YieldBenchmark {
    static final int TOTAL_YIELDS = 1_000_000;

    @Param({"fiber", "jdk"})
    public String runtime;

    @Param({"2", "100", "10000"})
    public int fibers;

    private BenchRuntime rt;
    private Thread[] threads;
    private int yieldsPerFiber;
    /** Yields done by each thread, over the iteration; written by its thread, read after the round's countdown. */
    private long[] done;
    private long rounds;
    /** The benchmark thread; published by the write of {@link #round}. */
    private Thread driver;
    private final AtomicInteger pending = new AtomicInteger();
    private volatile int round;
    private volatile boolean stop;

    @Setup(Level.Trial)
    public void setUp() {
        if (TOTAL_YIELDS % fibers != 0) {
            throw new IllegalArgumentException("fibers must divide " + TOTAL_YIELDS + ": " + fibers);
        }
        yieldsPerFiber = TOTAL_YIELDS / fibers;
        done = new long[fibers * 8]; // a thread's counter at [i * 8]: no false sharing between neighbours
        rt = BenchRuntime.create(runtime);
        threads = new Thread[fibers];
        for (int i = 0; i < fibers; i++) {
            int index = i;
            threads[i] = rt.start(() -> worker(index));
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws InterruptedException {
        stop = true;
        for (Thread t : threads) {
            LockSupport.unpark(t);
        }
        for (Thread t : threads) {
            t.join();
        }
        rt.close();
    }

    /** Every thread did exactly its share in every round of the iteration. */
    @TearDown(Level.Iteration)
    public void checkAllProgressed() {
        long expected = rounds * yieldsPerFiber;
        for (int i = 0; i < fibers; i++) {
            if (done[i * 8] != expected) {
                throw new IllegalStateException(runtime + ": thread " + i + " yielded " + done[i * 8]
                        + " times in " + rounds + " rounds, expected " + expected);
            }
            done[i * 8] = 0;
        }
        rounds = 0;
    }

    private void worker(int index) {
        int seen = 0;
        for (;;) {
            int r;
            while ((r = round) == seen) {
                if (stop) {
                    return;
                }
                LockSupport.park(this);
            }
            if (stop) {
                return;
            }
            seen = r;
            for (int k = 0; k < yieldsPerFiber; k++) {
                Thread.yield();
            }
            done[index * 8] += yieldsPerFiber;
            if (pending.decrementAndGet() == 0) {
                LockSupport.unpark(driver);
            }
        }
    }

    @Benchmark
    @OperationsPerInvocation(TOTAL_YIELDS)
    public void yieldAll() {
        driver = Thread.currentThread();
        pending.set(fibers);
        round = round + 1;
        for (Thread t : threads) {
            LockSupport.unpark(t);
        }
        long start = System.nanoTime();
        while (pending.get() != 0) {
            LockSupport.parkNanos(this, TimeUnit.SECONDS.toNanos(1));
            if (pending.get() != 0 && System.nanoTime() - start > BenchRuntime.STUCK_NANOS) {
                throw BenchRuntime.stuck("yield round " + round + " not done; " + pending.get() + " of " + fibers
                        + " threads pending", rt, threads);
            }
        }
        rounds++;
    }
}
