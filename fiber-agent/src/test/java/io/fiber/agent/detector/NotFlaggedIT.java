package io.fiber.agent.detector;

import io.fiber.Fibers;
import io.fiber.detector.BlockingCallDetector.Mode;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.channels.Selector;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

import static org.junit.jupiter.api.Assertions.*;

/**
 * What a fiber may do without being flagged, in FAIL mode (a flag would throw inside the fiber and
 * fail the test): every park here unmounts, and the rest is on the default allow-list.
 */
class NotFlaggedIT {
    @Test
    void sleepsAndParksUnmount() throws Exception {
        try (Watch w = new Watch(Mode.FAIL)) {
            w.inFiber(() -> {
                Thread.sleep(2);
                Fibers.sleep(Duration.ofMillis(2));
                TimeUnit.MILLISECONDS.sleep(1);
                LockSupport.parkNanos(1_000_000);
                Thread.yield();
                return null;
            });
            w.expectNone();
        }
    }

    @Test
    void locksQueuesLatchesAndMonitorsUnmount() throws Exception {
        try (Watch w = new Watch(Mode.FAIL)) {
            ReentrantLock lock = new ReentrantLock();
            ArrayBlockingQueue<Integer> queue = new ArrayBlockingQueue<>(1);
            CountDownLatch latch = new CountDownLatch(1);
            Object monitor = new Object();
            lock.lock();
            w.scheduler.spawn(() -> {
                Thread.sleep(5);
                queue.put(1);
                latch.countDown();
                synchronized (monitor) {
                    monitor.notifyAll();
                }
                return null;
            });
            w.inFiber(() -> {
                assertFalse(lock.tryLock(2, TimeUnit.MILLISECONDS), "held by the test thread");
                assertEquals(1, queue.take());
                latch.await();
                synchronized (monitor) {
                    monitor.wait(5); // unmounts on JDK 24+: not pinned
                }
                return CompletableFuture.supplyAsync(() -> 1).get();
            });
            lock.unlock();
            w.expectNone();
        }
    }

    @Test
    void socketsAndSelectorsYield() throws Exception {
        try (Watch w = new Watch(Mode.FAIL);
             ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            w.scheduler.spawn(() -> {
                try (Socket s = server.accept()) {
                    s.getOutputStream().write(s.getInputStream().read());
                }
                return null;
            });
            int echoed = w.inFiber(() -> {
                try (Socket s = new Socket(InetAddress.getLoopbackAddress(), server.getLocalPort());
                     Selector selector = Selector.open()) {
                    OutputStream out = s.getOutputStream();
                    InputStream in = s.getInputStream();
                    out.write(9);
                    selector.select(1);
                    return in.read();
                }
            });
            assertEquals(9, echoed);
            w.expectNone();
        }
    }

    @Test
    void waitingForAProcessUnmounts() throws Exception {
        Process sleeper = new ProcessBuilder("sleep", "0.05").start(); // the start itself is flagged: not in a fiber here
        try (Watch w = new Watch(Mode.FAIL)) {
            // JDK 25's ProcessImpl.waitFor awaits a ReentrantLock condition that the reaper thread signals
            int exit = w.inFiber(sleeper::waitFor);
            assertEquals(0, exit);
            w.expectNone();
        }
    }

    /** A class only this test loads, so its loading happens inside the fiber. */
    static final class LoadedInAFiber {
        static final String VALUE = "loaded";
    }

    /**
     * A resource bundle's first load reads its file once, and is then cached; libraries do it in class
     * initialisers (Tomcat's StringManager on a connection's first request), where a fiber is pinned
     * and nothing can move the read off its carrier.
     */
    @Test
    void loadingAResourceBundleIsAllowed() throws Exception {
        try (Watch w = new Watch(Mode.FAIL)) {
            String greeting = w.inFiber(() -> java.util.ResourceBundle.getBundle("io.fiber.agent.detector.NotFlaggedMessages").getString("greeting"));
            assertEquals("a bundle read in a fiber", greeting);
            w.expectNone();
        }
    }

    @Test
    void defaultAllowancesCoverClassLoadingRandomnessLoggingAndTheConsole() throws Exception {
        try (Watch w = new Watch(Mode.FAIL)) {
            w.inFiber(() -> {
                assertEquals("loaded", LoadedInAFiber.VALUE);
                new SecureRandom().nextLong();
                SecureRandom.getInstanceStrong();
                UUID.randomUUID();
                LoggerFactory.getLogger(NotFlaggedIT.class).info("logging from a fiber is allowed");
                System.out.println("printing from a fiber is allowed");
                return null;
            });
            w.expectNone();
        }
    }
}
