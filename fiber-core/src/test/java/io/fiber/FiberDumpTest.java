package io.fiber;

import org.junit.jupiter.api.Test;

import javax.management.JMX;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantLock;

import static io.fiber.TestFibers.await;
import static io.fiber.TestFibers.awaitBlocked;
import static io.fiber.TestFibers.result;
import static io.fiber.TestFibers.scheduler;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The fiber dump: 1,000 fibers waiting for a lock another fiber holds, 300 sleeping, one spinning
 * on a carrier, and what the dump says of each kind, in a page.
 */
class FiberDumpTest {

    @Test
    void fibersAreGroupedByStateWhatTheyWaitOnAndStack() throws Exception {
        try (FiberScheduler s = scheduler("dumped")) {
            FiberGroup db = s.group("db").build();
            ReentrantLock lock = new ReentrantLock();
            CountDownLatch locked = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            Fiber<Void> holder = s.spawn("lock-holder", () -> {
                lock.lock();
                try {
                    locked.countDown();
                    release.await();
                } finally {
                    lock.unlock();
                }
                return null;
            });
            await(locked);
            List<Fiber<?>> fibers = new ArrayList<>();
            for (int i = 0; i < 1_000; i++) {
                fibers.add(db.spawn("waiter-" + i, () -> {
                    lock.lock();
                    lock.unlock();
                    return null;
                }));
            }
            for (int i = 0; i < 300; i++) {
                fibers.add(s.spawn("sleeper-" + i, () -> {
                    Thread.sleep(60_000);
                    return null;
                }));
            }
            AtomicBoolean stop = new AtomicBoolean();
            CountDownLatch spinning = new CountDownLatch(1);
            Fiber<Void> spinner = s.spawn("spinner", () -> {
                spinning.countDown();
                while (!stop.get()) {
                    Thread.onSpinWait();
                }
                return null;
            });
            await(spinning);
            for (Fiber<?> f : fibers) {
                awaitBlocked(f.thread());
            }

            StringBuilder out = new StringBuilder();
            s.dumpFibers(out);
            String dump = out.toString();
            assertTrue(dump.startsWith("Fibers of scheduler 'dumped' at "), dump);
            assertTrue(dump.contains("1,302 alive"), dump);
            assertTrue(dump.lines().count() < 200, "a page, not a line per fiber: " + dump.lines().count() + " lines\n" + dump);

            String waiters = entry(dump, "1,000 fibers WAITING");
            assertTrue(waiters.contains("parked on java.util.concurrent.locks.ReentrantLock$NonfairSync@"), waiters);
            assertTrue(waiters.matches("(?s)1,000 fibers WAITING for (<1 ms|\\d+ ms|\\d+\\.\\d s)( to (\\d+ ms|\\d+\\.\\d s))?, parked on .*"),
                    "how long they have waited: " + waiters);
            assertTrue(waiters.contains("group 'db'"), waiters);
            assertTrue(waiters.contains("\"waiter-") && waiters.contains(" more"), "a few names, then a count: " + waiters);
            assertTrue(waiters.contains("at java.base/java.util.concurrent.locks.ReentrantLock.lock("), waiters);
            assertTrue(waiters.contains("FiberDumpTest"), "the fibers' own frames: " + waiters);

            String sleepers = entry(dump, "300 fibers TIMED_WAITING");
            assertTrue(sleepers.contains("java.lang.Thread.sleep("), sleepers);

            String running = entry(dump, "1 fiber RUNNABLE");
            assertTrue(running.contains(", running on dumped-carrier-") && running.contains("\"spinner\""), running);
            assertTrue(dump.contains("runs #" + spinner.thread().threadId() + " \"spinner\""), "the carrier's line: " + dump);

            String held = entry(dump, "1 fiber WAITING");
            assertTrue(held.contains("\"lock-holder\""), held);

            // The same from outside the process, as jconsole would call it.
            var server = ManagementFactory.getPlatformMBeanServer();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!server.isRegistered(s.managementName()) && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            String remote = JMX.newMXBeanProxy(server, s.managementName(), FiberSchedulerMXBean.class).dumpFibers();
            assertTrue(remote.contains("1,000 fibers WAITING"), remote);

            stop.set(true);
            release.countDown();
            result(spinner);
            result(holder);
            s.shutdownNow();
        }
    }

    /** The dump's entry whose heading starts with {@code heading}, up to the next entry. */
    private static String entry(String dump, String heading) {
        int at = dump.indexOf("\n" + heading);
        if (at < 0) {
            fail("no entry '" + heading + "' in:\n" + dump);
        }
        int next = dump.indexOf("\n\n", at + 1);
        return dump.substring(at + 1, next < 0 ? dump.length() : next);
    }
}
