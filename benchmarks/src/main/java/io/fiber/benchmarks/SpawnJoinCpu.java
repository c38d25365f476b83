package io.fiber.benchmarks;

import io.fiber.Fiber;
import io.fiber.FiberScheduler;

import java.util.concurrent.atomic.LongAdder;

/**
 * The SpawnJoin workload as a plain program, for measuring what JMH does not report: CPU time and
 * context switches per fiber, which are steadier than wall time on a shared 2-core VM.
 *
 * <pre>
 * perf stat -e task-clock,context-switches \
 *   java --add-opens java.base/java.lang=ALL-UNNAMED -Xms2g -Xmx2g \
 *   -cp benchmarks/target/benchmarks.jar io.fiber.benchmarks.SpawnJoinCpu fiber 6000
 * </pre>
 *
 * Arguments: {@code fiber} (our scheduler, 2 carriers) or {@code jdk} (the JDK's default
 * scheduler), and the number of batches of 1,000 spawn+join. Subtract a run with few batches to
 * remove JVM start-up.
 */
public final class SpawnJoinCpu {
    private SpawnJoinCpu() { }

    public static void main(String[] args) throws Exception {
        if (args.length != 2 || !(args[0].equals("fiber") || args[0].equals("jdk"))) {
            System.err.println("usage: SpawnJoinCpu fiber|jdk BATCHES");
            System.exit(2);
        }
        boolean fiber = args[0].equals("fiber");
        int batches = Integer.parseInt(args[1]);
        int batch = 1_000;
        LongAdder ran = new LongAdder();
        Runnable task = ran::increment;
        try (FiberScheduler scheduler = FiberScheduler.builder().carriers(2).name("cpu").build()) {
            if (fiber && !scheduler.usesOwnCarriers()) {
                throw new IllegalStateException("the fiber hook is unavailable: pass --add-opens java.base/java.lang=ALL-UNNAMED");
            }
            Fiber<?>[] fibers = new Fiber<?>[batch];
            Thread[] threads = new Thread[batch];
            Thread.Builder jdk = Thread.ofVirtual();
            long start = System.nanoTime();
            for (int b = 0; b < batches; b++) {
                if (fiber) {
                    for (int i = 0; i < batch; i++) {
                        fibers[i] = scheduler.spawn(task);
                    }
                    for (int i = 0; i < batch; i++) {
                        fibers[i].join();
                    }
                } else {
                    for (int i = 0; i < batch; i++) {
                        threads[i] = jdk.start(task);
                    }
                    for (int i = 0; i < batch; i++) {
                        threads[i].join();
                    }
                }
            }
            long ns = System.nanoTime() - start;
            if (ran.sum() != (long) batches * batch) {
                throw new IllegalStateException(ran.sum() + " tasks ran, expected " + (long) batches * batch);
            }
            System.out.printf("%s: %,d fibers, %.0f ns wall per fiber%n", args[0], (long) batches * batch, ns / (double) batches / batch);
        }
    }
}
