import io.fiber.FiberScheduler;

import javax.management.ObjectName;
import java.lang.management.ManagementFactory;
import java.util.concurrent.atomic.LongAdder;

/**
 * Bytes per thread, for fibers or JDK virtual threads: allocated per spawn + join from a platform
 * thread (every thread's allocations, {@code com.sun.management.ThreadMXBean}), for 6 rounds of N;
 * then retained per ended, unjoined thread: N trivial threads spawned and left to end, a full
 * collection, and the live-object class histogram (the {@code GC.class_histogram} of
 * {@code jcmd}); each class with about one instance per thread is printed and summed. Run from the
 * repository root after {@code ./run bench} built the jar (single-file source launch):
 * <pre>
 *   java --add-opens=java.base/java.lang=ALL-UNNAMED -Xms2g -Xmx2g -cp benchmarks/target/benchmarks.jar \
 *       benchmarks/scripts/RetainedBytes.java fiber|jdk [N=200000]
 * </pre>
 * Put a build's {@code fiber-core/target/classes} first on the class path to measure that build.
 */
public class RetainedBytes {
    public static void main(String[] args) throws Exception {
        String kind = args[0];
        int n = args.length > 1 ? Integer.parseInt(args[1]) : 200_000;
        if (!kind.equals("fiber") && !kind.equals("jdk")) {
            throw new IllegalArgumentException("first argument: fiber or jdk, got '" + kind + "'");
        }
        FiberScheduler s = kind.equals("fiber") ? FiberScheduler.builder().carriers(2).name("retained-bytes").build() : null;
        if (s != null && !s.usesOwnCarriers()) {
            throw new IllegalStateException("the scheduler fell back to the JDK's: run with --add-opens=java.base/java.lang=ALL-UNNAMED");
        }
        LongAdder ran = new LongAdder();
        Runnable task = ran::increment;
        var threadBean = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        Thread[] threads = new Thread[n];
        for (int r = 0; r < 6; r++) {
            long before = threadBean.getTotalThreadAllocatedBytes();
            for (int i = 0; i < n; i++) {
                threads[i] = s != null ? s.spawn(task).thread() : Thread.ofVirtual().start(task);
            }
            for (int i = 0; i < n; i++) {
                threads[i].join();
                threads[i] = null;
            }
            System.out.printf("%s round %d: %d bytes allocated per spawn + join%n", kind, r,
                    (threadBean.getTotalThreadAllocatedBytes() - before) / n);
        }
        ran.reset();
        for (int i = 0; i < n; i++) {
            threads[i] = s != null ? s.spawn(task).thread() : Thread.ofVirtual().start(task);
        }
        while (ran.sum() < n) {
            Thread.sleep(10);
        }
        Thread.sleep(200); // the last tasks' threads end after their task
        String histogram = (String) ManagementFactory.getPlatformMBeanServer().invoke(
                new ObjectName("com.sun.management:type=DiagnosticCommand"), "gcClassHistogram",
                new Object[] {new String[0]}, new String[] {String[].class.getName()});
        long total = 0;
        for (String line : histogram.split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 4 && f[0].endsWith(":")) {
                long count = Long.parseLong(f[1]);
                if (count >= n * 0.9 && count <= n * 1.1) {
                    System.out.println(line);
                    total += Long.parseLong(f[2]);
                }
            }
        }
        System.out.printf("%s: %d bytes retained per ended, unjoined thread%n", kind, total / n);
        for (int i = 0; i < n; i++) {
            threads[i].join();
        }
        if (s != null) {
            s.close();
        }
    }
}
