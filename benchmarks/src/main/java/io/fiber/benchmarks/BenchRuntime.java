package io.fiber.benchmarks;

import io.fiber.Fiber;
import io.fiber.FiberScheduler;

/**
 * The runtime under test, chosen by a benchmark's {@code runtime} parameter, so both sides run in one
 * JMH invocation and show up as adjacent rows:
 * <ul>
 *   <li>{@code fiber}: our {@link FiberScheduler} with 2 carrier loops;</li>
 *   <li>{@code fiber1}: our scheduler with 1 carrier loop (PingPong only);</li>
 *   <li>{@code jdk}: {@link Thread#ofVirtual()} on the JDK's default ForkJoinPool scheduler, left at
 *       its defaults (parallelism = available processors, 2 on the benchmark machine).</li>
 * </ul>
 * Each JMH parameter combination runs in its own forked JVM, so the two sides never share a process;
 * the burst benchmark ({@code io.fiber.benchmarks.burst}) likewise starts a JVM per runtime.
 */
public final class BenchRuntime implements AutoCloseable {
    /** JVM options for every fork: the hook needs java.lang opened, or fibers fall back to the JDK scheduler. */
    public static final String ADD_OPENS = "--add-opens=java.base/java.lang=ALL-UNNAMED";
    public static final String HEAP_MIN = "-Xms2g";
    public static final String HEAP_MAX = "-Xmx2g";

    final String kind;
    /** Null for the {@code jdk} runtime. */
    final FiberScheduler scheduler;
    private final Thread.Builder.OfVirtual jdkBuilder;

    private BenchRuntime(String kind, FiberScheduler scheduler) {
        this.kind = kind;
        this.scheduler = scheduler;
        this.jdkBuilder = scheduler == null ? Thread.ofVirtual() : null;
    }

    public static BenchRuntime create(String kind) {
        return switch (kind) {
            case "fiber" -> ours(kind, 2);
            case "fiber1" -> ours(kind, 1);
            case "jdk" -> {
                if (System.getProperty("jdk.virtualThreadScheduler.parallelism") != null) {
                    throw new IllegalStateException("the jdk runtime must use the JDK scheduler's defaults");
                }
                System.out.println("\n[bench] jdk: Thread.ofVirtual() on the default scheduler, parallelism = "
                        + Runtime.getRuntime().availableProcessors() + " (available processors)");
                yield new BenchRuntime(kind, null);
            }
            default -> throw new IllegalArgumentException("unknown runtime '" + kind + "': expected fiber, fiber1 or jdk");
        };
    }

    private static BenchRuntime ours(String kind, int carriers) {
        FiberScheduler s = FiberScheduler.builder().carriers(carriers).name("bench").build();
        if (!s.usesOwnCarriers()) {
            s.close();
            throw new IllegalStateException("FiberScheduler fell back to the JDK default scheduler: the benchmark"
                    + " would measure the JDK, not our carriers. Run the fork with " + ADD_OPENS);
        }
        System.out.println("\n[bench] " + kind + ": " + s);
        return new BenchRuntime(kind, s);
    }

    public boolean isFiber() {
        return scheduler != null;
    }

    /** Starts {@code task} as a fiber or a JDK virtual thread and returns its thread. */
    public Thread start(Runnable task) {
        Thread t = scheduler != null ? scheduler.spawn(task).thread() : jdkBuilder.start(task);
        if (!t.isVirtual()) {
            throw new IllegalStateException("expected a virtual thread, got " + t);
        }
        return t;
    }

    /** Our scheduler; null for the {@code jdk} runtime. */
    public FiberScheduler scheduler() {
        return scheduler;
    }

    /** Spawns a fiber (our runtime only). */
    Fiber<Void> spawn(Runnable task) {
        return scheduler.spawn(task);
    }

    /** A one-line description for diagnostics. */
    String describe() {
        return scheduler != null ? scheduler.stats().toString() : "jdk default scheduler";
    }

    @Override
    public void close() {
        if (scheduler != null) {
            System.out.println("\n[bench] " + kind + " at tear-down: " + scheduler.stats());
            scheduler.close();
        }
    }

    /** Throws with the state of {@code threads} when the benchmark has waited too long: a hang, not slowness. */
    static IllegalStateException stuck(String what, BenchRuntime rt, Thread... threads) {
        StringBuilder sb = new StringBuilder("[bench] stuck: " + what + "\n" + rt.describe());
        int shown = 0;
        for (Thread t : threads) {
            if (shown++ == 8) {
                sb.append("\n  ... ").append(threads.length - 8).append(" more");
                break;
            }
            sb.append("\n  ").append(t).append(" state=").append(t.getState());
            for (StackTraceElement e : t.getStackTrace()) {
                sb.append("\n      at ").append(e);
            }
        }
        System.out.println(sb);
        return new IllegalStateException(sb.toString());
    }

    /**
     * How long a benchmark thread waits for an operation before it declares a hang (a lost wakeup)
     * and fails the trial: -Dbench.stuckSeconds (default 60). Far above any healthy operation.
     */
    static final long STUCK_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(Long.getLong("bench.stuckSeconds", 60));
}
