package io.fiber.junit;

import io.fiber.Fiber;
import io.fiber.Fibers;
import io.fiber.detector.BlockingCallDetector;
import io.fiber.detector.BlockingCallDetector.Mode;
import io.fiber.junit.Samples.Outcome;
import io.fiber.junit.Samples.Sample;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.opentest4j.AssertionFailedError;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.platform.engine.TestExecutionResult.Status.FAILED;
import static org.junit.platform.engine.TestExecutionResult.Status.SUCCESSFUL;

/**
 * {@link BlockingCallExtension}, through sample test classes (nested below) that the Jupiter engine
 * runs in this JVM, under the agent. Each test sets the detector's mode for its sample's run and
 * restores it afterwards.
 */
class BlockingCallExtensionTest {
    private static final Pattern HEADER = Pattern.compile("^(\\d+) blocking call\\(s\\) in (fibers|fibers or watched threads) during (.+):\n\n");

    @BeforeAll
    static void underTheAgent() {
        assertTrue(BlockingCallDetector.get().isAvailable(), "these tests run under -javaagent:fiber-agent.jar (the pom's argLine)");
    }

    @ParameterizedTest
    @EnumSource(value = Mode.class, names = {"REPORT", "FAIL"})
    void aFiberReadingAFileFailsTheTestWithTheCallAndItsStack(Mode mode) {
        Outcome outcome = Samples.run(FileReadSample.class, mode);

        String message = assertInstanceOf(AssertionFailedError.class, outcome.failure(), () -> trace(outcome.failure())).getMessage();
        Matcher header = HEADER.matcher(message);
        assertTrue(header.find(), message);
        assertEquals("fibers", header.group(2), message);
        assertEquals("readsAFileInAFiber(Path)", header.group(3), message);
        assertTrue(message.contains("Blocking call! sun.nio.fs.UnixNativeDispatcher.open (file I/O) in fiber "), message);
        assertTrue(message.contains("\n\tat io.fiber.junit.BlockingCallExtensionTest$FileReadSample.lambda$readsAFileInAFiber$"), message);
        if (mode == Mode.REPORT) {
            // the open went through, so the read was flagged too; in FAIL mode the open threw
            assertTrue(message.contains("Blocking call! sun.nio.ch.FileChannelImpl#read (file I/O) in fiber "), message);
        } else {
            assertEquals("1", header.group(1), message);
        }
        assertEquals(mode, outcome.modeAfter());
    }

    @Test
    void fibersThatSleepLockAndUseSocketsPass() {
        Outcome outcome = Samples.run(QuietFibersSample.class, Mode.FAIL);
        assertEquals(SUCCESSFUL, outcome.status(), () -> trace(outcome.failure()));
    }

    @Test
    void aTestsOwnFailureComesFirstWithTheBlockingCallsSuppressed() {
        Outcome outcome = Samples.run(OwnFailureSample.class, Mode.REPORT);

        assertEquals(FAILED, outcome.status());
        Throwable own = outcome.failure();
        assertEquals("the sample's own check ==> expected: <1> but was: <2>", own.getMessage(), () -> trace(own));
        assertEquals(1, own.getSuppressed().length, () -> trace(own));
        Throwable blocking = assertInstanceOf(AssertionFailedError.class, own.getSuppressed()[0]);
        assertTrue(HEADER.matcher(blocking.getMessage()).find(), blocking.getMessage());
        assertTrue(blocking.getMessage().contains(" during failsOnItsOwn(Path):"), blocking.getMessage());
    }

    @Test
    void blockingOnPlatformThreadsDoesNotFailTheTest() {
        Outcome outcome = Samples.run(PlatformThreadSample.class, Mode.FAIL);
        assertEquals(SUCCESSFUL, outcome.status(), () -> trace(outcome.failure()));
    }

    @Test
    void aPlatformThreadTheCodeWatchesCountsToo() {
        BlockingCallDetector detector = BlockingCallDetector.get();
        detector.watchThreads(t -> t.getName().equals(PlatformThreadSample.WORKER));
        try {
            Outcome outcome = Samples.run(PlatformThreadSample.class, Mode.REPORT);

            String message = assertInstanceOf(AssertionFailedError.class, outcome.failure(), () -> trace(outcome.failure())).getMessage();
            Matcher header = HEADER.matcher(message);
            assertTrue(header.find(), message);
            assertEquals("fibers or watched threads", header.group(2), message);
            assertTrue(message.contains("(file I/O) in thread " + PlatformThreadSample.WORKER + " #"), message);
            assertFalse(message.contains(" in thread " + Thread.currentThread().getName() + " #"), "only the watched thread counts:\n" + message);
        } finally {
            detector.stopWatchingThreads();
        }
    }

    @Test
    void offBecomesReportForTheTestAndComesBackAfter() {
        ModeSample.seen = null;
        Outcome outcome = Samples.run(ModeSample.class, Mode.OFF);

        assertEquals(Mode.REPORT, ModeSample.seen);
        assertEquals(FAILED, outcome.status(), "the fiber's read was flagged while the test ran");
        assertEquals(Mode.OFF, outcome.modeAfter());
    }

    @Test
    void aFloodOfCallsListsTheFirstOnesAndCountsTheRest() {
        Outcome outcome = Samples.run(FloodSample.class, Mode.REPORT);

        String message = assertInstanceOf(AssertionFailedError.class, outcome.failure(), () -> trace(outcome.failure())).getMessage();
        Matcher header = HEADER.matcher(message);
        assertTrue(header.find(), message);
        int count = Integer.parseInt(header.group(1));
        assertTrue(count > BlockingCallExtension.LISTED, message);
        assertEquals(BlockingCallExtension.LISTED, message.split("Blocking call! ", -1).length - 1);
        assertTrue(message.endsWith("\n\n(" + (count - BlockingCallExtension.LISTED) + " more not listed)"), message);
    }

    private static String trace(Throwable t) {
        if (t == null) {
            return "no failure";
        }
        StringWriter out = new StringWriter();
        t.printStackTrace(new PrintWriter(out));
        return out.toString();
    }

    /** Writes a small file from the calling thread (the test's, which is not watched). */
    private static Path smallFile(Path dir) throws Exception {
        return Files.writeString(dir.resolve("data.txt"), "some data");
    }

    @Sample
    @DetectBlockingCalls
    static class FileReadSample {
        @Test
        void readsAFileInAFiber(@TempDir Path dir) throws Exception {
            Path file = smallFile(dir);
            Fibers.spawn(() -> Files.readString(file)).join(); // join: a BlockingCallError (FAIL mode) stays in the fiber
        }
    }

    @Sample
    @DetectBlockingCalls
    static class QuietFibersSample {
        @Test
        void sleepsLocksAndSockets() throws Exception {
            ReentrantLock lock = new ReentrantLock();
            Fiber<Void> holder = Fibers.spawn(() -> {
                lock.lock();
                try {
                    Thread.sleep(50);
                } finally {
                    lock.unlock();
                }
                return null;
            });
            Fiber<Void> waiter = Fibers.spawn(() -> {
                Thread.sleep(10);
                lock.lock(); // held by the other fiber: this one parks
                lock.unlock();
                return null;
            });
            try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                Fiber<Void> echo = Fibers.spawn(() -> {
                    try (Socket socket = server.accept()) {
                        socket.getOutputStream().write(socket.getInputStream().read());
                    }
                    return null;
                });
                Fiber<Integer> client = Fibers.spawn(() -> {
                    try (Socket socket = new Socket(server.getInetAddress(), server.getLocalPort())) {
                        socket.getOutputStream().write(42);
                        return socket.getInputStream().read();
                    }
                });
                assertEquals(42, client.get());
                echo.get();
            }
            holder.get();
            waiter.get();
        }
    }

    @Sample
    @DetectBlockingCalls
    static class OwnFailureSample {
        @Test
        void failsOnItsOwn(@TempDir Path dir) throws Exception {
            Path file = smallFile(dir);
            Fibers.spawn(() -> Files.readString(file)).get();
            assertEquals(1, 2, "the sample's own check");
        }
    }

    @Sample
    @DetectBlockingCalls
    static class PlatformThreadSample {
        static final String WORKER = "sample-worker";

        @Test
        void readsFilesOnPlatformThreads(@TempDir Path dir) throws Exception {
            Path file = smallFile(dir);
            assertEquals("some data", Files.readString(file));
            Thread worker = Thread.ofPlatform().name(WORKER).start(() -> {
                try {
                    Files.readString(file);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
            worker.join();
        }
    }

    @Sample
    @DetectBlockingCalls
    static class ModeSample {
        static volatile Mode seen;

        @Test
        void readsAFileInAFiber(@TempDir Path dir) throws Exception {
            seen = BlockingCallDetector.get().mode();
            Path file = smallFile(dir);
            Fibers.spawn(() -> Files.readString(file)).join();
        }
    }

    @Sample
    @DetectBlockingCalls
    static class FloodSample {
        @Test
        void readsAFileManyTimesInAFiber(@TempDir Path dir) throws Exception {
            Path file = smallFile(dir);
            Fibers.spawn(() -> {
                for (int i = 0; i < BlockingCallExtension.LISTED; i++) {
                    Files.readString(file);
                }
                return null;
            }).get();
        }
    }
}
