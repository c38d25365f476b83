package io.fiber.agent;

import java.io.BufferedReader;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.zip.CRC32;

/**
 * A program that never uses fibers, run in child JVMs by {@link PlainProgramsIT} with and without
 * the agent: everything it prints must be the same either way. It references no class of the fiber
 * runtime, so under the agent nothing of the runtime ran before its first virtual thread does.
 *
 * <p>Its first act is the case that once crashed under the agent: a JDK virtual thread reading a
 * file before any other virtual thread ran. Then each workload runs on a JDK virtual thread and on a
 * platform thread, then all at once on a crowd of virtual threads. It prints one line per workload
 * and thread kind, with figures that do not depend on timing (byte counts, checksums, counts), and
 * "done" last.
 *
 * <p>With {@code attach AGENT_JAR OPTIONS} it runs every workload once, attaches the agent to itself
 * ({@code agentmain}), and runs them again: a late attach must not break what already ran either.
 */
public final class PlainProgram {
    private static final int FILE_BYTES = 256 * 1024;
    private static final int PIPE_BYTES = 1024 * 1024;
    private static final int CLIENTS = 100;
    private static final int CROWD = 200;
    /** Application classes each round loads (and initialises) for the first time, one per thread kind; from jars on the class path. */
    private static final String[][] UNLOADED_CLASSES = {
            {"org.opentest4j.AssertionFailedError", "org.opentest4j.ValueWrapper"},
            {"org.junit.jupiter.api.Assertions", "org.junit.jupiter.api.AssertionFailureBuilder"},
    };

    private PlainProgram() { }

    /** A workload: returns the line it prints, which must not depend on timing. */
    private interface Workload {
        String run(int round, int kind) throws Exception;
    }

    private record Named(String name, Workload workload) { }

    private static final List<Named> WORKLOADS = List.of(
            new Named("file streams", (round, kind) -> fileStreams()),
            new Named("Files", (round, kind) -> files()),
            new Named("FileChannel", (round, kind) -> fileChannel()),
            new Named("RandomAccessFile", (round, kind) -> randomAccessFile()),
            new Named("sockets", (round, kind) -> sockets()),
            new Named("dns", (round, kind) -> dns()),
            new Named("sleeps", (round, kind) -> sleeps()),
            new Named("locks", (round, kind) -> locks()),
            new Named("monitors and Object.wait", (round, kind) -> monitorsAndWait()),
            new Named("process and pipes", (round, kind) -> processAndPipes()),
            new Named("class loading", PlainProgram::classLoading),
            new Named("class initialisation", (round, kind) -> classInitialisation(kind)));

    public static void main(String[] args) throws Exception {
        // The case that once crashed under the agent, first, before any other virtual thread ran.
        Path first = Files.createTempFile("plain-program", ".txt");
        Files.writeString(first, "read by a virtual thread");
        String[] read = new String[1];
        Thread reader = Thread.ofVirtual().start(() -> {
            try {
                read[0] = Files.readString(first);
            } catch (IOException e) {
                read[0] = e.toString();
            }
        });
        reader.join();
        Files.delete(first);
        System.out.println("first virtual thread: " + read[0]);

        if (args.length > 0 && args[0].equals("attach")) {
            runAll(0);
            com.sun.tools.attach.VirtualMachine vm = com.sun.tools.attach.VirtualMachine.attach(Long.toString(ProcessHandle.current().pid()));
            try {
                vm.loadAgent(args[1], args.length > 2 ? args[2] : "");
            } finally {
                vm.detach();
            }
            System.out.println("attached");
            runAll(1);
        } else {
            runAll(0);
        }
        System.out.println("done");
    }

    private static void runAll(int round) throws Exception {
        for (Named w : WORKLOADS) {
            System.out.println("virtual  " + w.name() + ": " + onVirtualThread(() -> w.workload().run(round, 0)));
            System.out.println("platform " + w.name() + ": " + onPlatformThread(() -> w.workload().run(round, 1)));
        }
        System.out.println("crowd of " + CROWD + " virtual threads: " + crowd());
    }

    private static String onVirtualThread(Callable<String> work) throws Exception {
        try (ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor()) {
            return outcome(executor.submit(work));
        }
    }

    private static String onPlatformThread(Callable<String> work) throws Exception {
        try (ExecutorService executor = Executors.newSingleThreadExecutor()) {
            return outcome(executor.submit(work));
        }
    }

    /** The work's line, or its exception: a failure prints differently from success, never hangs the program. */
    private static String outcome(Future<String> f) throws InterruptedException {
        try {
            return f.get();
        } catch (java.util.concurrent.ExecutionException e) {
            return "FAILED " + e.getCause();
        }
    }

    /** Every thread of the crowd reads a file, sleeps, takes a lock and a monitor: many virtual threads at once. */
    private static String crowd() throws Exception {
        Path file = Files.createTempFile("plain-crowd", ".bin");
        Files.write(file, bytes(4096, 7));
        ReentrantLock lock = new ReentrantLock();
        Object monitor = new Object();
        AtomicInteger bytesRead = new AtomicInteger();
        int[] counters = {0, 0}; // one under the lock, one under the monitor
        List<Future<?>> all = new ArrayList<>();
        try (ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < CROWD; i++) {
                all.add(executor.submit(() -> {
                    bytesRead.addAndGet(Files.readAllBytes(file).length);
                    Thread.sleep(1);
                    lock.lock();
                    try {
                        counters[0]++;
                    } finally {
                        lock.unlock();
                    }
                    synchronized (monitor) {
                        counters[1]++;
                    }
                    return null;
                }));
            }
        }
        int failed = 0;
        for (Future<?> f : all) {
            if (f.state() != Future.State.SUCCESS) {
                failed++;
            }
        }
        Files.delete(file);
        return String.format(Locale.ROOT, "%d bytes read, counters %d and %d, %d failed", bytesRead.get(), counters[0], counters[1], failed);
    }

    private static String fileStreams() throws IOException {
        Path file = Files.createTempFile("plain-streams", ".bin");
        byte[] data = bytes(FILE_BYTES, 1);
        try (OutputStream out = new FileOutputStream(file.toFile())) {
            out.write(data, 0, 1000);
            out.write(data, 1000, data.length - 1000);
        }
        CRC32 crc = new CRC32();
        long n = 0;
        try (InputStream in = new FileInputStream(file.toFile())) {
            byte[] buf = new byte[8192];
            for (int r; (r = in.read(buf)) >= 0; ) {
                crc.update(buf, 0, r);
                n += r;
            }
        }
        Files.delete(file);
        return n + " bytes, crc " + Long.toHexString(crc.getValue());
    }

    private static String files() throws IOException {
        Path file = Files.createTempFile("plain-files", ".txt");
        Files.writeString(file, "line one\nline two\n");
        Files.writeString(file, "line three\n", StandardOpenOption.APPEND);
        List<String> lines = Files.readAllLines(file);
        long size = Files.size(file);
        String text = Files.readString(file);
        try (BufferedReader r = Files.newBufferedReader(file)) {
            r.readLine();
        }
        Files.delete(file);
        return lines.size() + " lines, " + size + " bytes, starts '" + text.substring(0, 8) + "', exists after delete: " + Files.exists(file);
    }

    private static String fileChannel() throws IOException {
        Path file = Files.createTempFile("plain-channel", ".bin");
        CRC32 crc = new CRC32();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(bytes(FILE_BYTES, 2)));
            ch.force(true);
            ByteBuffer buf = ByteBuffer.allocate(FILE_BYTES);
            while (buf.hasRemaining() && ch.read(buf, buf.position()) > 0) {
                // positional reads until full
            }
            buf.flip();
            crc.update(buf);
        }
        Files.delete(file);
        return FILE_BYTES + " bytes, crc " + Long.toHexString(crc.getValue());
    }

    private static String randomAccessFile() throws IOException {
        Path file = Files.createTempFile("plain-raf", ".bin");
        int value;
        long length;
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.write(bytes(1000, 3));
            raf.seek(500);
            raf.writeInt(0x12345678);
            raf.seek(500);
            value = raf.readInt();
            length = raf.length();
        }
        Files.delete(file);
        return "length " + length + ", int " + Integer.toHexString(value);
    }

    /** An accept loop on a virtual thread, a virtual thread per connection, and clients of the caller's kind. */
    private static String sockets() throws Exception {
        try (ServerSocket server = new ServerSocket()) {
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            Thread acceptor = Thread.ofVirtual().start(() -> {
                while (!server.isClosed()) {
                    try {
                        Socket s = server.accept();
                        Thread.ofVirtual().start(() -> echoLines(s));
                    } catch (IOException e) {
                        return; // closed
                    }
                }
            });
            int answered = 0;
            for (int i = 0; i < CLIENTS; i++) {
                try (Socket client = new Socket(server.getInetAddress(), server.getLocalPort())) {
                    client.setSoTimeout(30_000);
                    OutputStream out = client.getOutputStream();
                    out.write(("hello " + i + "\n").getBytes(StandardCharsets.UTF_8));
                    out.flush();
                    BufferedReader in = new BufferedReader(new InputStreamReader(client.getInputStream(), StandardCharsets.UTF_8));
                    if (("hello " + i).equals(in.readLine())) {
                        answered++;
                    }
                }
            }
            server.close();
            acceptor.join();
            return answered + " of " + CLIENTS + " answered";
        }
    }

    private static void echoLines(Socket s) {
        try (s) {
            BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
            OutputStream out = s.getOutputStream();
            for (String line; (line = in.readLine()) != null; ) {
                out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
                out.flush();
            }
        } catch (IOException e) {
            // the client went away
        }
    }

    private static String dns() throws Exception {
        InetAddress localhost = InetAddress.getByName("localhost");
        InetAddress literal = InetAddress.getByName("127.0.0.1");
        String reverse = InetAddress.getByAddress(new byte[] {127, 0, 0, 1}).getHostName();
        return "localhost is loopback: " + localhost.isLoopbackAddress() + ", literal " + literal.getHostAddress()
                + ", 127.0.0.1 has a name: " + !reverse.isEmpty();
    }

    private static String sleeps() throws InterruptedException {
        long start = System.nanoTime();
        for (int i = 0; i < 5; i++) {
            Thread.sleep(2);
        }
        Thread.sleep(java.time.Duration.ofMillis(1));
        java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
        return "slept at least 11 ms: " + (System.nanoTime() - start >= 11_000_000);
    }

    private static String locks() throws Exception {
        ReentrantLock lock = new ReentrantLock();
        Condition ready = lock.newCondition();
        boolean[] flag = {false};
        int[] counter = {0};
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            threads.add(Thread.ofVirtual().start(() -> {
                for (int j = 0; j < 1000; j++) {
                    lock.lock();
                    try {
                        counter[0]++;
                    } finally {
                        lock.unlock();
                    }
                }
            }));
        }
        Thread waiter = Thread.ofPlatform().start(() -> {
            lock.lock();
            try {
                while (!flag[0]) {
                    ready.awaitUninterruptibly();
                }
            } finally {
                lock.unlock();
            }
        });
        for (Thread t : threads) {
            t.join();
        }
        lock.lock();
        try {
            flag[0] = true;
            ready.signalAll();
        } finally {
            lock.unlock();
        }
        waiter.join();
        CountDownLatch latch = new CountDownLatch(3);
        for (int i = 0; i < 3; i++) {
            Thread.ofVirtual().start(latch::countDown);
        }
        latch.await();
        return "counter " + counter[0] + ", condition signalled, latch opened";
    }

    private static String monitorsAndWait() throws Exception {
        Object monitor = new Object();
        int[] state = {0};
        Thread waiter = Thread.ofVirtual().start(() -> {
            synchronized (monitor) {
                while (state[0] == 0) {
                    try {
                        monitor.wait();
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                state[0] = 2;
                monitor.notifyAll();
            }
        });
        synchronized (monitor) {
            state[0] = 1;
            monitor.notifyAll();
            while (state[0] != 2) {
                monitor.wait(10);
            }
        }
        waiter.join();
        int[] counter = {0};
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            threads.add(Thread.ofVirtual().start(() -> {
                for (int j = 0; j < 1000; j++) {
                    synchronized (counter) {
                        counter[0]++;
                    }
                }
            }));
        }
        for (Thread t : threads) {
            t.join();
        }
        return "handshake " + state[0] + ", counter " + counter[0];
    }

    private static String processAndPipes() throws Exception {
        Process cat = new ProcessBuilder("cat").start();
        byte[] data = bytes(PIPE_BYTES, 4);
        Thread writer = Thread.ofVirtual().start(() -> {
            try (OutputStream out = cat.getOutputStream()) {
                out.write(data);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        CRC32 crc = new CRC32();
        long n = 0;
        try (InputStream in = cat.getInputStream()) {
            byte[] buf = new byte[16384];
            for (int r; (r = in.read(buf)) >= 0; ) {
                crc.update(buf, 0, r);
                n += r;
            }
        }
        writer.join();
        int exit = cat.waitFor();
        Process echo = new ProcessBuilder("echo", "from a child").redirectErrorStream(true).start();
        String line = new String(echo.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        return "cat echoed " + n + " bytes, crc " + Long.toHexString(crc.getValue()) + ", exit " + exit + "; echo said '" + line
                + "', exit " + echo.waitFor();
    }

    private static String classLoading(int round, int kind) throws Exception {
        String name = UNLOADED_CLASSES[round][kind];
        Class<?> c = Class.forName(name, true, PlainProgram.class.getClassLoader());
        return "loaded " + c.getName() + " from " + (c.getProtectionDomain().getCodeSource().getLocation().getPath().endsWith(".jar") ? "a jar" : "a folder");
    }

    private static String classInitialisation(int kind) throws Exception {
        // Each class's initialiser reads a file and sleeps: on a virtual thread, that pins it.
        return kind == 0 ? ReadsAtInitA.TEXT : ReadsAtInitB.TEXT;
    }

    private static final class ReadsAtInitA {
        static final String TEXT = readAtInit("A");
    }

    private static final class ReadsAtInitB {
        static final String TEXT = readAtInit("B");
    }

    private static String readAtInit(String which) {
        try {
            Path file = Files.createTempFile("plain-clinit", ".txt");
            Files.writeString(file, "initialised " + which + " reading a file");
            String text = Files.readString(file);
            Files.delete(file);
            Thread.sleep(1);
            return text;
        } catch (IOException | InterruptedException e) {
            return e.toString();
        }
    }

    private static byte[] bytes(int n, int seed) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (i * 31 + seed);
        }
        return b;
    }
}
