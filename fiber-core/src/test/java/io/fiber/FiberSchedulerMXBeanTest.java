package io.fiber;

import org.junit.jupiter.api.Test;

import javax.management.JMX;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static io.fiber.TestFibers.result;
import static io.fiber.TestFibers.scheduler;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Each scheduler's {@link FiberSchedulerMXBean} in the platform MBean server, read through JMX as a
 * monitoring tool would, and never the cause of that server's creation.
 */
class FiberSchedulerMXBeanTest {

    @Test
    void aSchedulerIsVisibleThroughJmxUntilItTerminates() throws Exception {
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        ObjectName name;
        try (FiberScheduler s = scheduler("mx-visible")) {
            name = s.managementName();
            assertEquals(new ObjectName("io.fiber:type=FiberScheduler,name=\"mx-visible\""), name);
            eventually("registered", () -> server.isRegistered(name));
            for (int i = 0; i < 10; i++) {
                result(s.spawn(() -> { }));
            }
            FiberSchedulerMXBean bean = JMX.newMXBeanProxy(server, name, FiberSchedulerMXBean.class);
            assertEquals("mx-visible", bean.getName());
            assertTrue(bean.isOwnCarriers());
            assertEquals(2, bean.getCarrierCount());
            assertEquals(10, bean.getFibersSpawned());
            assertEquals(0, bean.getFibersAlive());
            assertEquals(2, bean.getCarriers().size());
            assertEquals(s.stats().carriers().getFirst().name(), bean.getCarriers().getFirst().name());
            assertTrue(bean.getCarriers().stream().mapToLong(CarrierStats::runs).sum() >= 10, bean.getSummary());
            assertTrue(bean.getSummary().contains("scheduler mx-visible"), bean.getSummary());
            assertFalse(bean.isShutdown());
            assertEquals(0, server.getAttribute(name, "InjectQueueDepth"), "plain JMX attributes, as jconsole reads them");
            assertTrue(server.getAttribute(name, "SchedulingDelay") instanceof javax.management.openmbean.CompositeData,
                    "the delay histogram, a composite value");
            assertEquals(DelayHistogram.upperBoundsNanos().length + 1, bean.getSchedulingDelay().counts().length);
            assertTrue(server.getAttribute(name, "SchedulingDelayP99Micros") instanceof Long);
            assertTrue((Long) server.getAttribute(name, "CarrierWakeups") > 0, "the spawns from this thread woke sleeping carriers: " + bean.getSummary());
            assertEquals(0, server.getAttribute(name, "PendingTimers"));
            assertEquals(0, server.getAttribute(name, "OffloadQueuedCalls"));
        }
        eventually("unregistered after termination", () -> !server.isRegistered(name));
    }

    @Test
    void schedulersOfTheSameNameGetNumberedNames() throws Exception {
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        try (FiberScheduler a = scheduler("mx-twin"); FiberScheduler b = scheduler("mx-twin")) {
            assertEquals("\"mx-twin\"", a.managementName().getKeyProperty("name"));
            assertEquals("\"mx-twin #2\"", b.managementName().getKeyProperty("name"));
            eventually("both registered", () -> server.isRegistered(a.managementName()) && server.isRegistered(b.managementName()));
        }
    }

    /**
     * A JVM that never asks for the platform MBean server does not get one from the scheduler (it
     * costs about half a second and tens of megabytes); once the program creates it, the scheduler's
     * bean appears within about a second. In a child JVM: this one's server exists already.
     */
    @Test
    void theSchedulerNeverCreatesThePlatformServerAndRegistersOnceItExists() throws Exception {
        Path out = Files.createTempFile("mx-child", ".txt");
        try {
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            Process child = new ProcessBuilder(java, "-Xmx128m", "--add-opens", "java.base/java.lang=ALL-UNNAMED",
                    "-cp", System.getProperty("java.class.path"), ManagementMain.class.getName())
                    .redirectErrorStream(true).redirectOutput(out.toFile()).start();
            if (!child.waitFor(60, TimeUnit.SECONDS)) {
                child.destroyForcibly();
                fail("child JVM still running after 60 s: " + Files.readString(out));
            }
            String output = Files.readString(out);
            assertEquals(0, child.exitValue(), output);
            assertTrue(output.contains("servers before=0"), "the scheduler created an MBean server:\n" + output);
            assertTrue(output.contains("registered=true"), output);
        } finally {
            Files.deleteIfExists(out);
        }
    }

    /** The child JVM of {@link #theSchedulerNeverCreatesThePlatformServerAndRegistersOnceItExists}. */
    static final class ManagementMain {
        public static void main(String[] args) throws Exception {
            try (FiberScheduler s = FiberScheduler.builder().carriers(1).name("mx-child").build()) {
                s.spawn(() -> { }).join();
                Thread.sleep(1_500); // past a check for a server to register in
                List<MBeanServer> servers = javax.management.MBeanServerFactory.findMBeanServer(null);
                System.out.println("servers before=" + servers.size());
                MBeanServer server = ManagementFactory.getPlatformMBeanServer();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (!server.isRegistered(s.managementName()) && System.nanoTime() < deadline) {
                    Thread.sleep(50);
                }
                System.out.println("registered=" + server.isRegistered(s.managementName()));
            }
        }
    }

    private static void eventually(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("not " + what + " within 10 s");
            }
            Thread.sleep(20);
        }
    }
}
