package io.fiber.agent.detector;

import io.fiber.detector.BlockingCall;
import io.fiber.detector.BlockingCallDetector;
import io.fiber.detector.BlockingCallDetector.Mode;
import io.fiber.detector.BlockingCallError;
import io.fiber.detector.BlockingCategory;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.FileOutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.*;

/** The modes and the API: allowances, marked methods, watched threads, categories, listeners, JFR, integrations. */
class ModesAndApiIT {
    private static final BlockingCallDetector DETECTOR = BlockingCallDetector.get();

    @TempDir
    Path dir;

    @Test
    void failModeThrowsInTheFiberBeforeTheJdkMethodRuns() throws Exception {
        Path f = dir.resolve("never-created.txt");
        try (Watch w = new Watch(Mode.FAIL)) {
            BlockingCallError e = assertThrows(BlockingCallError.class, () -> w.inFiber(() -> new FileOutputStream(f.toFile())));
            assertEquals("BlockingCallError", e.getClass().getSimpleName());
            assertTrue(e.getMessage().startsWith("Blocking call! java.io.FileOutputStream#open (file I/O) in fiber #"), e.getMessage());
            assertTrue(e.getMessage().contains("on carrier detector-it-"), e.getMessage());
            assertEquals("java.io.FileOutputStream", e.getStackTrace()[0].getClassName());
            assertEquals("open", e.getStackTrace()[0].getMethodName());
            assertEquals("java.io.FileOutputStream#open", e.call().method());
            assertFalse(Files.exists(f), "the open itself must not have run");
            w.expect(BlockingCategory.FILE_IO, "java.io.FileOutputStream#open");
        }
    }

    @Test
    void offModeFlagsNothing() throws Exception {
        Path f = Files.writeString(dir.resolve("off.txt"), "off");
        try (Watch w = new Watch(Mode.OFF)) {
            assertEquals("off", w.inFiber(() -> Files.readString(f)));
            w.expectNone();
        }
    }

    @Test
    void flaggedCallsAreCountedByCategory() throws Exception {
        Path f = Files.writeString(dir.resolve("counted.txt"), "counted");
        long fileBefore = DETECTOR.flaggedCount(BlockingCategory.FILE_IO);
        long socketBefore = DETECTOR.flaggedCount(BlockingCategory.SOCKET);
        try (Watch w = new Watch(Mode.REPORT)) {
            w.inFiber(() -> Files.readString(f));
            w.inFiber(() -> Files.readString(f));
        }
        assertTrue(DETECTOR.flaggedCount(BlockingCategory.FILE_IO) - fileBefore >= 2, "two file reads, each flagged: "
                + (DETECTOR.flaggedCount(BlockingCategory.FILE_IO) - fileBefore));
        assertEquals(socketBefore, DETECTOR.flaggedCount(BlockingCategory.SOCKET), "no socket wait was flagged");
    }

    @Test
    void reportModeRecordsAJfrEvent() throws Exception {
        Path f = Files.writeString(dir.resolve("jfr.txt"), "jfr");
        Path jfr = dir.resolve("calls.jfr");
        try (Watch w = new Watch(Mode.REPORT); Recording recording = new Recording()) {
            recording.enable("io.fiber.BlockingCall");
            recording.start();
            w.inFiber(() -> Files.readString(f));
            recording.stop();
            recording.dump(jfr);
        }
        List<RecordedEvent> events = RecordingFile.readAllEvents(jfr).stream()
                .filter(e -> e.getEventType().getName().equals("io.fiber.BlockingCall")).toList();
        assertTrue(events.stream().anyMatch(e -> e.getString("method").equals("sun.nio.ch.FileChannelImpl#read")
                && e.getString("category").equals("FILE_IO") && e.getBoolean("fiber")), events.toString());
    }

    static final class Nested {
        static String outer(Path f) throws Exception {
            Files.readString(f);
            return inner(f);
        }

        static String inner(Path f) throws Exception {
            return Files.readString(f);
        }
    }

    @Test
    void allowancesNestWithDisallowances() throws Exception {
        Path f = Files.writeString(dir.resolve("nested.txt"), "nested");
        DETECTOR.allowBlockingInside(Nested.class.getName(), "outer").disallowBlockingInside(Nested.class.getName(), "inner");
        try (Watch w = new Watch(Mode.REPORT)) {
            w.inFiber(() -> Nested.outer(f));
            w.expect(BlockingCategory.FILE_IO, "sun.nio.ch.FileChannelImpl#read");
            assertTrue(w.calls().stream().allMatch(c -> innermostNestedFrame(c).equals("inner")),
                    "only the calls inside inner are flagged, not those of outer: " + w.describe());
        }
    }

    private static String innermostNestedFrame(BlockingCall call) {
        for (StackTraceElement frame : call.stackTrace()) {
            if (frame.getClassName().equals(Nested.class.getName())) {
                return frame.getMethodName();
            }
        }
        return "none";
    }

    static final class SlowDao {
        int query() {
            return 42;
        }
    }

    static final class MarkedTwice {
        int query() {
            return 43;
        }
    }

    /** Marked before it is ever loaded: the patch applies when the class is defined. */
    static final class NotYetLoaded {
        static int call() {
            return 7;
        }
    }

    @Test
    void markedMethodsAreFlaggedLoadedOrNot() throws Exception {
        SlowDao dao = new SlowDao();
        DETECTOR.markAsBlocking(SlowDao.class.getName(), "query", "()I");
        DETECTOR.markAsBlocking(ModesAndApiIT.class.getName() + "$NotYetLoaded", "call", "()I");
        try (Watch w = new Watch(Mode.REPORT)) {
            assertEquals(42, w.inFiber(dao::query));
            assertEquals(7, w.inFiber(NotYetLoaded::call));
            w.expect(BlockingCategory.MARKED, SlowDao.class.getName() + "#query");
            w.expect(BlockingCategory.MARKED, NotYetLoaded.class.getName() + ".call"); // static: named as the JDK's are
        }
    }

    @Test
    void markingALoadedMethodAgainChangesNothing() throws Exception {
        MarkedTwice dao = new MarkedTwice();
        DETECTOR.markAsBlocking(MarkedTwice.class.getName(), "query", "()I");
        DETECTOR.markAsBlocking(MarkedTwice.class.getName(), "query", "()I");
        try (Watch w = new Watch(Mode.REPORT)) {
            assertEquals(43, w.inFiber(dao::query));
            assertEquals(1, w.calls().stream().filter(c -> c.method().equals(MarkedTwice.class.getName() + "#query")).count(),
                    "one report per call: " + w.calls());
        }
    }

    @Test
    void markingBadMethodsFailsNamingWhatWasWrong() {
        IllegalArgumentException descriptor = assertThrows(IllegalArgumentException.class,
                () -> DETECTOR.markAsBlocking(SlowDao.class.getName(), "query", "int()"));
        assertTrue(descriptor.getMessage().contains("'int()' is not a JVM method descriptor"), descriptor.getMessage());
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> DETECTOR.markAsBlocking(SlowDao.class.getName(), "nope", "()V"));
        assertTrue(missing.getMessage().contains("has no method nope()V"), missing.getMessage());
        IllegalStateException nativeMethod = assertThrows(IllegalStateException.class,
                () -> DETECTOR.markAsBlocking("java.lang.Thread", "currentThread", "()Ljava/lang/Thread;"));
        assertTrue(nativeMethod.getMessage().contains("is native and its class is loaded"), nativeMethod.getMessage());
        IllegalStateException listed = assertThrows(IllegalStateException.class,
                () -> DETECTOR.markAsBlocking("java.io.FileInputStream", "read", "()I"));
        assertTrue(listed.getMessage().contains("java.io.FileInputStream.read()I is patched already"), listed.getMessage());
        assertThrows(IllegalArgumentException.class, () -> DETECTOR.markAsBlocking("java/lang/Thread", "run", "()V"));
        assertThrows(IllegalArgumentException.class, () -> DETECTOR.mode(null));
    }

    @Test
    void watchedPlatformThreadsAreFlaggedForParksAndSocketWaitsToo() throws Exception {
        List<BlockingCall> calls = new CopyOnWriteArrayList<>();
        Mode before = DETECTOR.mode();
        DETECTOR.mode(Mode.REPORT).watchThreads(t -> t.getName().equals("watched-event-loop"));
        try (AutoCloseable l = DETECTOR.addListener(c -> {
            if (c.threadName().startsWith("watched-event-loop") || c.threadName().startsWith("unwatched-loop")) {
                calls.add(c);
            }
        })) {
            Runnable body = () -> {
                try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                    Thread.sleep(1);
                    server.setSoTimeout(1);
                    assertThrows(SocketTimeoutException.class, server::accept);
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            };
            Thread.ofPlatform().name("watched-event-loop").start(body).join();
            Thread.ofPlatform().name("unwatched-loop").start(body).join();
        } finally {
            DETECTOR.stopWatchingThreads().mode(before);
        }
        assertTrue(calls.stream().anyMatch(c -> c.method().equals("java.lang.Thread.sleepNanos") && c.category() == BlockingCategory.PARK), calls.toString());
        assertTrue(calls.stream().anyMatch(c -> c.method().equals("sun.nio.ch.NioSocketImpl#park") && c.category() == BlockingCategory.SOCKET), calls.toString());
        assertTrue(calls.stream().allMatch(c -> c.threadName().startsWith("watched-event-loop") && !c.fiber()), calls.toString());
    }

    @Test
    void plainVirtualThreadsAreFibersSoTheyAreWatched() throws Exception {
        Path f = Files.writeString(dir.resolve("vt.txt"), "vt");
        List<BlockingCall> calls = new CopyOnWriteArrayList<>();
        Mode before = DETECTOR.mode();
        DETECTOR.mode(Mode.REPORT);
        try (AutoCloseable l = DETECTOR.addListener(c -> {
            if (c.threadName().startsWith("plain-vt")) {
                calls.add(c);
            }
        })) {
            Thread.ofVirtual().name("plain-vt").start(() -> read(f)).join();
        } finally {
            DETECTOR.mode(before);
        }
        assertFalse(calls.isEmpty(), "a plain virtual thread's file read is flagged: under the agent it is a fiber");
        assertTrue(calls.stream().allMatch(BlockingCall::fiber), calls.toString());
    }

    private static void read(Path f) {
        try {
            Files.readString(f);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void aWholeCategoryCanBeAllowed() throws Exception {
        Path f = Files.writeString(dir.resolve("cat.txt"), "cat");
        try (Watch w = new Watch(Mode.FAIL)) {
            DETECTOR.allowCategory(BlockingCategory.FILE_IO);
            try {
                assertEquals("cat", w.inFiber(() -> Files.readString(f)));
            } finally {
                DETECTOR.disallowCategory(BlockingCategory.FILE_IO);
            }
            w.expectNone();
            assertThrows(BlockingCallError.class, () -> w.inFiber(() -> Files.readString(f)), "disallowed again");
        }
    }

    @Test
    void aClosedListenerHearsNothingMore() throws Exception {
        Path f = Files.writeString(dir.resolve("listener.txt"), "l");
        List<BlockingCall> heard = new CopyOnWriteArrayList<>();
        try (Watch w = new Watch(Mode.REPORT)) {
            AutoCloseable l = DETECTOR.addListener(heard::add);
            l.close();
            w.inFiber(() -> Files.readString(f));
            assertFalse(w.calls().isEmpty());
        }
        assertTrue(heard.isEmpty(), heard.toString());
    }

    /** Allowed by {@link TestIntegration}, found through ServiceLoader when the detector started. */
    static final class AllowedByIntegration {
        static String read(Path f) throws Exception {
            return Files.readString(f);
        }
    }

    @Test
    void integrationsOnTheClassPathAreApplied() throws Exception {
        Path f = Files.writeString(dir.resolve("integration.txt"), "spi");
        try (Watch w = new Watch(Mode.FAIL)) {
            assertEquals("spi", w.inFiber(() -> AllowedByIntegration.read(f)));
            w.expectNone();
        }
    }
}
