package io.fiber.agent;

import io.fiber.Fiber;
import io.fiber.FiberScheduler;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.locks.ReentrantLock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A fiber dump names the owner of the lock fibers wait for under the agent, which opens
 * {@code java.util.concurrent.locks} to the runtime; without it (only {@code java.lang} opened) the
 * dump says owners are unknown and how to see them. In child JVMs, so each starts as a user's would.
 */
class FiberDumpIT {

    @Test
    void underTheAgentTheDumpNamesTheLocksOwner() throws Exception {
        ChildJvm.Run r = ChildJvm.run(List.of(ChildJvm.agent("")), ChildJvm.testClassPath(), DumpProgram.class, List.of(), 120);
        assertEquals(0, r.exit(), r.out() + r.err());
        assertTrue(r.out().matches("(?s).*10 fibers WAITING for [^,]+, parked on java\\.util\\.concurrent\\.locks\\.ReentrantLock\\$NonfairSync@.*"), r.out());
        assertTrue(r.out().contains(" held by #"), r.out());
        assertTrue(r.out().contains("\"owner\""), r.out());
        assertFalse(r.out().contains("lock owners unknown"), r.out());
        // How long each has waited, and (the agent's reactor and timers) the socket and the timer.
        assertTrue(r.out().matches("(?s).*10 fibers WAITING for (\\d+ ms|\\d+\\.\\d s)( to (\\d+ ms|\\d+\\.\\d s))?, parked on .*"), r.out());
        assertTrue(r.out().contains("1 fiber WAITING for ") && r.out().contains(", waiting to read a socket in the reactor of dump-it-carrier-"), r.out());
        assertTrue(r.out().matches("(?s).*#\\d+ \"reader\" fd \\d+.*"), r.out());
        assertTrue(r.out().matches("(?s).*3 fibers TIMED_WAITING for [^,]+, timer on dump-it-carrier-0, due in (\\d+\\.\\d|\\d+) s.*"), r.out());
    }

    @Test
    void withoutTheAgentTheDumpSaysOwnersAreUnknownAndHowToSeeThem() throws Exception {
        ChildJvm.Run r = ChildJvm.run(List.of("--add-opens", "java.base/java.lang=ALL-UNNAMED"), ChildJvm.testClassPath(),
                DumpProgram.class, List.of(), 120);
        assertEquals(0, r.exit(), r.out() + r.err());
        assertTrue(r.out().matches("(?s).*10 fibers WAITING for [^,]+, parked on java\\.util\\.concurrent\\.locks\\.ReentrantLock\\$NonfairSync@.*"), r.out());
        assertFalse(r.out().contains(" held by #"), r.out());
        assertTrue(r.out().contains("lock owners unknown: run with the agent, or --add-opens java.base/java.util.concurrent.locks=ALL-UNNAMED"), r.out());
    }

    /**
     * Under the agent, lock owners are readable, so a stall report names the cycle of two fibers that
     * each hold the lock the other wants as a deadlock.
     */
    @Test
    void underTheAgentAStallReportNamesTheDeadlockCycle() throws Exception {
        String cycle = deadlockLine("locks");
        assertTrue(cycle.matches("Deadlock: fiber #\\d+ \"(left|right)\" waits for java\\.util\\.concurrent\\.locks\\.ReentrantLock\\$NonfairSync@\\p{XDigit}+"
                + " held by fiber #\\d+ \"(left|right)\" waits for .* held by fiber #\\d+ \"(left|right)\"\\."), cycle);
    }

    /** The same with synchronized blocks: monitor owners come from the JDK's thread snapshots, which the agent opens. */
    @Test
    void underTheAgentAStallReportNamesAMonitorDeadlock() throws Exception {
        String cycle = deadlockLine("monitors");
        assertTrue(cycle.matches("Deadlock: fiber #\\d+ \"(left|right)\" waits to enter the monitor of java\\.lang\\.Object@\\p{XDigit}+"
                + " held by fiber #\\d+ \"(left|right)\" waits to enter the monitor of java\\.lang\\.Object@\\p{XDigit}+"
                + " held by fiber #\\d+ \"(left|right)\"\\."), cycle);
    }

    /** Runs {@link DeadlockProgram} over {@code kind} under the agent; returns its report's Deadlock line. */
    private static String deadlockLine(String kind) throws Exception {
        ChildJvm.Run r = ChildJvm.run(List.of(ChildJvm.agent("")), ChildJvm.testClassPath(), DeadlockProgram.class, List.of(kind), 120);
        assertEquals(0, r.exit(), r.out() + r.err());
        assertTrue(r.out().contains("looks stuck: all 2 fibers"), r.out());
        return r.out().lines().filter(l -> l.startsWith("Deadlock: ")).findFirst().orElse("no Deadlock line in:\n" + r.out());
    }

    /**
     * Two fibers, each holding one lock ({@code locks}: a ReentrantLock; {@code monitors}: a
     * synchronized block) and wanting the other's; prints the first stall report and exits.
     */
    static final class DeadlockProgram {
        public static void main(String[] args) throws Exception {
            boolean monitors = args[0].equals("monitors");
            java.util.concurrent.LinkedBlockingQueue<String> reports = new java.util.concurrent.LinkedBlockingQueue<>();
            FiberScheduler s = FiberScheduler.builder().carriers(2).name("deadlock-it")
                    .stallReportAfter(java.time.Duration.ofMillis(300)).onStall(reports::add).build();
            Object a = monitors ? new Object() : new ReentrantLock();
            Object b = monitors ? new Object() : new ReentrantLock();
            CountDownLatch both = new CountDownLatch(2);
            s.spawn("left", () -> holdBoth(a, b, both));
            s.spawn("right", () -> holdBoth(b, a, both));
            String report = reports.poll(60, java.util.concurrent.TimeUnit.SECONDS);
            System.out.println(report);
            System.exit(report == null ? 1 : 0);
        }

        private static Void holdBoth(Object mine, Object theirs, CountDownLatch both) throws InterruptedException {
            if (mine instanceof ReentrantLock lock) {
                lock.lock();
                try {
                    both.countDown();
                    both.await();
                    ((ReentrantLock) theirs).lockInterruptibly();
                } finally {
                    lock.unlock();
                }
                return null;
            }
            synchronized (mine) {
                both.countDown();
                both.await();
                synchronized (theirs) {
                    return null;
                }
            }
        }
    }

    /** Ten fibers wait for a lock that a fiber named "owner" holds; prints the scheduler's dump. */
    static final class DumpProgram {
        public static void main(String[] args) throws Exception {
            try (FiberScheduler s = FiberScheduler.builder().carriers(1).name("dump-it").build()) {
                ReentrantLock lock = new ReentrantLock();
                CountDownLatch locked = new CountDownLatch(1);
                CountDownLatch release = new CountDownLatch(1);
                Fiber<Void> owner = s.spawn("owner", () -> {
                    lock.lock();
                    try {
                        locked.countDown();
                        release.await();
                    } finally {
                        lock.unlock();
                    }
                    return null;
                });
                locked.await();
                List<Fiber<Void>> waiters = new ArrayList<>();
                for (int i = 0; i < 10; i++) {
                    waiters.add(s.spawn("waiter-" + i, () -> {
                        lock.lock();
                        lock.unlock();
                        return null;
                    }));
                }
                // A fiber reading a socket with no data, and three sleeping a minute.
                java.net.ServerSocket server = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress());
                java.net.Socket client = new java.net.Socket(java.net.InetAddress.getLoopbackAddress(), server.getLocalPort());
                java.net.Socket accepted = server.accept();
                Fiber<Integer> reader = s.spawn("reader", () -> client.getInputStream().read());
                List<Fiber<Void>> sleepers = new ArrayList<>();
                for (int i = 0; i < 3; i++) {
                    sleepers.add(s.spawn("sleeper-" + i, () -> {
                        Thread.sleep(60_000);
                        return null;
                    }));
                }
                for (Fiber<Void> w : waiters) {
                    while (w.thread().getState() != Thread.State.WAITING) {
                        Thread.sleep(1);
                    }
                }
                for (Fiber<Void> w : sleepers) {
                    while (w.thread().getState() != Thread.State.TIMED_WAITING) {
                        Thread.sleep(1);
                    }
                }
                while (reader.thread().getState() != Thread.State.WAITING) {
                    Thread.sleep(1);
                }
                Thread.sleep(300); // so the waits have lasted a while
                StringBuilder dump = new StringBuilder();
                s.dumpFibers(dump);
                System.out.println(dump);
                release.countDown();
                owner.join();
                sleepers.forEach(Fiber::cancel);
                accepted.getOutputStream().write(1);
                reader.join();
                accepted.close();
                client.close();
                server.close();
            }
        }
    }
}
