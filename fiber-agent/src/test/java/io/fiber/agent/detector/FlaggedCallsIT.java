package io.fiber.agent.detector;

import io.fiber.detector.BlockingCall;
import io.fiber.detector.BlockingCallDetector;
import io.fiber.detector.BlockingCallDetector.Mode;
import io.fiber.detector.BlockingCategory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Each category the detector must flag, made by a fiber, in REPORT mode: the call is flagged once,
 * under the JDK method that blocks, with the caller's frame in its stack, and then goes ahead.
 */
class FlaggedCallsIT {
    @TempDir
    Path dir;

    private Path file(String content) throws Exception {
        Path f = Files.createTempFile(dir, "flagged", ".txt");
        Files.writeString(f, content);
        return f;
    }

    private static void assertCallerInStack(BlockingCall call, String methodName) {
        for (StackTraceElement frame : call.stackTrace()) {
            if (frame.getClassName().equals(FlaggedCallsIT.class.getName()) && frame.getMethodName().contains(methodName)) {
                return;
            }
        }
        fail("the stack should show the test's " + methodName + ": " + call.describe());
    }

    @Test
    void fileInputStreamRead() throws Exception {
        Path f = file("abc");
        try (Watch w = new Watch(Mode.REPORT)) {
            assertEquals('a', (int) w.inFiber(() -> {
                try (InputStream in = new FileInputStream(f.toFile())) {
                    return in.read();
                }
            }));
            w.expect(BlockingCategory.FILE_IO, "java.io.FileInputStream#open");
            BlockingCall read = w.expect(BlockingCategory.FILE_IO, "java.io.FileInputStream#read");
            assertTrue(read.fiber());
            assertEquals("java.io.FileInputStream", read.stackTrace()[0].getClassName(), "the stack starts at the JDK method");
            assertCallerInStack(read, "fileInputStreamRead");
        }
    }

    @Test
    void fileOutputStreamWrite() throws Exception {
        Path f = dir.resolve("out.txt");
        try (Watch w = new Watch(Mode.REPORT)) {
            w.inFiber(() -> {
                try (FileOutputStream out = new FileOutputStream(f.toFile())) {
                    out.write(new byte[] {1, 2, 3});
                }
                return null;
            });
            w.expect(BlockingCategory.FILE_IO, "java.io.FileOutputStream#write");
            assertEquals(3, Files.size(f), "REPORT mode lets the call proceed");
        }
    }

    @Test
    void randomAccessFile() throws Exception {
        Path f = file("xyz");
        try (Watch w = new Watch(Mode.REPORT)) {
            w.inFiber(() -> {
                try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
                    raf.read(new byte[3]);
                    raf.write(7);
                }
                return null;
            });
            w.expect(BlockingCategory.FILE_IO, "java.io.RandomAccessFile#readBytes");
            w.expect(BlockingCategory.FILE_IO, "java.io.RandomAccessFile#write");
        }
    }

    @Test
    void fileChannel() throws Exception {
        Path f = file("channel");
        try (Watch w = new Watch(Mode.REPORT)) {
            w.inFiber(() -> {
                try (FileChannel ch = FileChannel.open(f)) {
                    return ch.read(ByteBuffer.allocate(16));
                }
            });
            w.expect(BlockingCategory.FILE_IO, "sun.nio.fs.UnixNativeDispatcher.open");
            w.expect(BlockingCategory.FILE_IO, "sun.nio.ch.FileChannelImpl#read");
        }
    }

    @Test
    void filesHelpers() throws Exception {
        Path f = file("files");
        try (Watch w = new Watch(Mode.REPORT)) {
            assertEquals("files", w.inFiber(() -> Files.readString(f)));
            w.inFiber(() -> Files.size(f));
            w.inFiber(() -> Files.createDirectory(dir.resolve("sub")));
            w.expect(BlockingCategory.FILE_IO, "sun.nio.ch.FileChannelImpl#read");
            w.expect(BlockingCategory.FILE_IO, "sun.nio.fs.UnixNativeDispatcher.stat");
            w.expect(BlockingCategory.FILE_IO, "sun.nio.fs.UnixNativeDispatcher.mkdir");
        }
    }

    /** This suite runs with the agent option dns=off, so the lookup reaches the JDK's resolver on the carrier (DnsIT: not with the default). */
    @Test
    void dnsLookup() throws Exception {
        try (Watch w = new Watch(Mode.REPORT)) {
            // A fresh address object each time, so the JDK's name cache cannot answer.
            w.inFiber(() -> InetAddress.getByAddress(new byte[] {127, 0, 0, 1}).getCanonicalHostName());
            w.expect(BlockingCategory.DNS, "java.net.InetAddress$PlatformResolver#lookupByAddress");
        }
    }

    @Test
    void processStartAndPipe() throws Exception {
        try (Watch w = new Watch(Mode.REPORT)) {
            int echoed = w.inFiber(() -> {
                // cat runs until its input closes, so its output is still a live pipe when read
                Process p = new ProcessBuilder("cat").start();
                try (OutputStream in = p.getOutputStream(); InputStream out = p.getInputStream()) {
                    in.write('h');
                    in.flush();
                    return out.read();
                } finally {
                    p.waitFor();
                }
            });
            assertEquals('h', echoed);
            w.expect(BlockingCategory.PROCESS, "java.lang.ProcessImpl.start");
            w.expect(BlockingCategory.PROCESS, "java.io.FileOutputStream#write");
            w.expect(BlockingCategory.PROCESS, "java.io.FileInputStream#read");
        }
    }

    /** Sleeps, parks and waits in a class initialiser: the fiber is pinned there, so each holds its carrier. */
    static final class SleepsInInitializer {
        static {
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                throw new ExceptionInInitializerError(e);
            }
        }
    }

    static final class ParksInInitializer {
        static {
            LockSupport.parkNanos(5_000_000);
        }
    }

    static final class WaitsInInitializer {
        static {
            Object lock = new Object();
            synchronized (lock) {
                try {
                    lock.wait(5);
                } catch (InterruptedException e) {
                    throw new ExceptionInInitializerError(e);
                }
            }
        }
    }

    @Test
    void pinnedSleepParkAndWait() throws Exception {
        try (Watch w = new Watch(Mode.REPORT)) {
            w.inFiber(() -> new SleepsInInitializer());
            w.inFiber(() -> new ParksInInitializer());
            w.inFiber(() -> new WaitsInInitializer());
            long parks = w.calls().stream().filter(c -> c.method().equals("java.lang.VirtualThread#parkOnCarrierThread")).count();
            assertEquals(2, parks, w.describe());
            BlockingCall wait = w.expect(BlockingCategory.PARK, "java.lang.Object#wait");
            assertTrue(wait.describe().contains("WaitsInInitializer.<clinit>"), wait.describe());
        }
    }

    @Test
    void jniMethodsKnownToBlockAreWrappedAndStillWork() throws Exception {
        String url = "jdbc:sqlite:" + dir.resolve("native.db");
        try (Watch w = new Watch(Mode.REPORT)) {
            int answer = w.inFiber(() -> {
                try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement()) {
                    s.executeUpdate("create table t(x integer)");
                    s.executeUpdate("insert into t values (41)");
                    try (ResultSet r = s.executeQuery("select x + 1 from t")) {
                        return r.next() ? r.getInt(1) : -1;
                    }
                }
            });
            assertEquals(42, answer, "the wrapped natives still reach SQLite's C code");
            w.expect(BlockingCategory.NATIVE, "org.sqlite.core.NativeDB#_open_utf8");
            BlockingCall step = w.expect(BlockingCategory.NATIVE, "org.sqlite.core.NativeDB#step");
            assertCallerInStack(step, "jniMethodsKnownToBlock");
            // Marked by TestIntegration before the class loaded, as an application would.
            w.expect(BlockingCategory.NATIVE, "org.sqlite.core.NativeDB#prepare_utf8");
        }
    }

    private static long spin(long millis, boolean yielding) {
        long end = System.nanoTime() + millis * 1_000_000;
        long n = 0;
        while (System.nanoTime() < end) {
            n++;
            if (yielding && n % 1024 == 0) {
                Thread.yield();
            }
        }
        return n;
    }

    @Test
    void aFiberRunningLongWithoutYieldingIsReportedOnceWithItsStack() throws Exception {
        BlockingCallDetector detector = BlockingCallDetector.get();
        Duration before = detector.longRunThreshold();
        detector.longRunThreshold(Duration.ofMillis(50));
        try (Watch w = new Watch(Mode.FAIL)) {
            w.inFiber(() -> spin(300, true));
            assertTrue(w.calls().isEmpty(), "a fiber that yields is not a long run: " + w.describe());
            assertTrue(w.inFiber(() -> spin(300, false)) > 0, "FAIL mode does not stop a long run");
            BlockingCall run = w.calls().stream().filter(c -> c.category() == BlockingCategory.LONG_RUN).findFirst()
                    .orElseThrow(() -> new AssertionError("no long run reported: " + w.describe()));
            assertEquals(1, w.calls().size(), "reported once per run: " + w.describe());
            assertTrue(run.detail().contains("without yielding (threshold 50 ms)"), run.detail());
            assertTrue(run.describe().contains("FlaggedCallsIT.spin"), run.describe());
        } finally {
            detector.longRunThreshold(before);
        }
    }
}
