package io.fiber;

import io.fiber.internal.jdk.VirtualThreadHook;
import org.junit.jupiter.api.Test;

import javax.management.ObjectName;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * What the runtime adds to the JDK's virtual thread for each fiber that has ended but is still
 * referenced (as every fiber of a burst is until it is joined): each young collection during a burst
 * copies it. Measured in the heap histogram of live objects (a full collection first), as the size of
 * one instance of each of our classes with an instance per fiber, so fibers of other tests running
 * meanwhile change the counts but not the sizes.
 *
 * <p>The bound is {@code Fiber} (a handle of one field, 16 bytes) and {@code Fiber.Body} (56 bytes),
 * with the JVM's default layout: compressed class pointers and oops, 12-byte headers. A field added
 * to either crosses it, at the next 8 bytes; a new object per fiber (a lambda, a record) too. The
 * body was 48 bytes until it took the state stamp ({@code FiberTask.since}: the fiber dump's time
 * in state and the scheduling-delay histogram's samples), which no other field could make room for.
 */
class FiberFootprintTest {
    private static final int FIBERS = 20_000;
    private static final long MAX_BYTES_PER_FIBER = 72;

    @Test
    void anEndedFiberKeepsAtMost72BytesOfOurs() throws Exception {
        assumeTrue(VirtualThreadHook.isAvailable(), "carriers only: the fallback mode's fibers are the same objects, on the JDK's scheduler");
        assumeTrue(vmOption("UseCompressedOops").equals("true") && vmOption("UseCompactObjectHeaders").equals("false"),
                "the bound is for the default object layout");
        try (FiberScheduler s = FiberScheduler.builder().carriers(2).name("footprint").build()) {
            List<Fiber<Void>> fibers = new ArrayList<>(FIBERS);
            for (int i = 0; i < FIBERS; i++) {
                fibers.add(s.spawn(() -> { }));
            }
            for (Fiber<Void> f : fibers) {
                f.join();
            }
            Map<String, Long> perFiber = new TreeMap<>();
            for (String line : histogram().split("\n")) {
                // "   7:         20000         960000  io.fiber.Fiber$Body"
                String[] f = line.trim().split("\\s+");
                if (f.length >= 4 && f[0].endsWith(":") && f[3].startsWith("io.fiber.")) {
                    long instances = Long.parseLong(f[1]);
                    if (instances >= FIBERS) {
                        perFiber.put(f[3], Long.parseLong(f[2]) / instances);
                    }
                }
            }
            long total = perFiber.values().stream().mapToLong(Long::longValue).sum();
            assertTrue(perFiber.containsKey(Fiber.class.getName()), "the histogram lists the fibers: " + perFiber);
            assertTrue(total <= MAX_BYTES_PER_FIBER, "an ended fiber keeps " + total + " bytes of ours, at most "
                    + MAX_BYTES_PER_FIBER + " expected: " + perFiber);
            java.lang.ref.Reference.reachabilityFence(fibers);
        }
    }

    /** The class histogram of live objects, as {@code jcmd PID GC.class_histogram} prints it. */
    private static String histogram() throws Exception {
        return (String) ManagementFactory.getPlatformMBeanServer().invoke(
                new ObjectName("com.sun.management:type=DiagnosticCommand"), "gcClassHistogram",
                new Object[] {new String[0]}, new String[] {String[].class.getName()});
    }

    private static String vmOption(String name) {
        return ManagementFactory.getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class).getVMOption(name).getValue();
    }
}
