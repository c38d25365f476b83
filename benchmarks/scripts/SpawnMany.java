import io.fiber.FiberScheduler;

import java.lang.management.ManagementFactory;
import java.util.concurrent.atomic.LongAdder;

/**
 * Issue 19 part 1's shape, for profiling rather than scoring: one platform thread spawns N trivial
 * fibers (or JDK virtual threads), all outstanding, then joins them, for R rounds; each round prints
 * wall time, GC time, the spawner's and the process's CPU time per task. Run from the repository
 * root after {@code ./run bench} built the jar (single-file source launch):
 * <pre>
 *   java --add-opens=java.base/java.lang=ALL-UNNAMED -Xms2g -Xmx2g -cp benchmarks/target/benchmarks.jar \
 *       benchmarks/scripts/SpawnMany.java fiber|jdk [N=1000000] [ROUNDS=8]
 * </pre>
 * {@code -Dcarriers=1} (with {@code -Djdk.virtualThreadScheduler.parallelism=1} for jdk) isolates one
 * carrier's per-task cost; add {@code -XX:+PreserveFramePointer} and a perf map for {@code perf record}.
 */
public class SpawnMany {
    public static void main(String[] args) throws Exception {
        String kind = args[0];
        int n = args.length > 1 ? Integer.parseInt(args[1]) : 1_000_000;
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 8;
        if (!kind.equals("fiber") && !kind.equals("jdk")) {
            throw new IllegalArgumentException("first argument: fiber or jdk, got '" + kind + "'");
        }
        FiberScheduler s = kind.equals("fiber")
                ? FiberScheduler.builder().carriers(Integer.getInteger("carriers", 2)).name("spawn-many").build() : null;
        if (s != null && !s.usesOwnCarriers()) {
            throw new IllegalStateException("the scheduler fell back to the JDK's: run with --add-opens=java.base/java.lang=ALL-UNNAMED");
        }
        Thread.Builder jdk = Thread.ofVirtual();
        LongAdder ran = new LongAdder();
        Runnable task = ran::increment;
        Thread[] threads = new Thread[n];
        var process = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        var thread = ManagementFactory.getThreadMXBean();
        for (int r = 0; r < rounds; r++) {
            long gc0 = gcMillis(), cpu0 = thread.getCurrentThreadCpuTime(), proc0 = process.getProcessCpuTime();
            long t0 = System.nanoTime();
            for (int i = 0; i < n; i++) {
                threads[i] = s != null ? s.spawn(task).thread() : jdk.start(task);
            }
            long t1 = System.nanoTime();
            for (int i = 0; i < n; i++) {
                threads[i].join();
                threads[i] = null;
            }
            long t2 = System.nanoTime();
            System.out.printf("%s round %d: spawn %d ns/task, total %d ns/task, gc %d ms, spawner cpu %d ns/task, process cpu %d ns/task%n",
                    kind, r, (t1 - t0) / n, (t2 - t0) / n, gcMillis() - gc0,
                    (thread.getCurrentThreadCpuTime() - cpu0) / n, (process.getProcessCpuTime() - proc0) / n);
        }
        if (ran.sum() != (long) n * rounds) {
            throw new AssertionError(ran.sum() + " tasks ran, expected " + (long) n * rounds);
        }
        if (s != null) {
            System.out.println(s.stats());
            s.close();
        }
    }

    private static long gcMillis() {
        long t = 0;
        for (var gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            t += gc.getCollectionTime();
        }
        return t;
    }
}
