package io.fiber.agent;

import io.fiber.FiberScheduler;
import io.fiber.detector.BlockingCallDetector;

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
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Run in child JVMs by {@link OffloadFamiliesIT} under {@code offload=...}: makes one kind of call
 * at a time in a fiber of a one-carrier scheduler, and prints, per kind, whether the call went to
 * the offload pool and under which categories the detector reported it:
 * {@code kind: reported [categories]; offloads N}. The detector (report mode) reports a call only
 * on a carrier, so a call missing from the reports of its kind ran on the pool; the count of
 * offloads also takes in calls made inside the call (class loading reads jars, a lookup may read
 * files). Whatever the call needs from another family (a process to read from, a file to read) is
 * prepared on the main thread first.
 */
public final class OffloadProbe {
    private OffloadProbe() { }

    private record Kind(String name, Callable<?> call) { }

    public static void main(String[] args) throws Exception {
        Path dir = Files.createTempDirectory("offload-probe");
        Path file = dir.resolve("data.bin");
        Files.write(file, new byte[4096]);
        FileInputStream toRead = new FileInputStream(file.toFile());
        FileOutputStream toWrite = new FileOutputStream(dir.resolve("out.bin").toFile());
        RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw");
        FileChannel channel = FileChannel.open(file, StandardOpenOption.READ);
        // A live process: an exited one's output stream is drained into memory by the JDK, not read from the pipe.
        Process echo = new ProcessBuilder("cat").start();
        echo.getOutputStream().write("from a pipe\n".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        echo.getOutputStream().flush();
        Process cat = new ProcessBuilder("cat").start();
        Process[] started = new Process[1];

        List<Kind> kinds = List.of(
                new Kind("file open", () -> { new FileInputStream(file.toFile()).close(); return null; }),
                new Kind("file stream read", () -> toRead.read(new byte[100])),
                new Kind("file stream write", () -> { toWrite.write(new byte[100]); return null; }),
                new Kind("RandomAccessFile read", () -> raf.read(new byte[100])),
                new Kind("FileChannel read", () -> channel.read(ByteBuffer.allocate(100), 0)),
                new Kind("Files stat", () -> Files.size(file)),
                new Kind("Files mkdir", () -> Files.createDirectory(dir.resolve("sub"))),
                new Kind("dns lookup by name", () -> InetAddress.getAllByName("localhost")),
                new Kind("dns lookup by address", () -> InetAddress.getByAddress(new byte[] {127, 0, 0, 1}).getCanonicalHostName()),
                new Kind("process start", () -> started[0] = new ProcessBuilder("true").start()),
                new Kind("process pipe read", () -> echo.getInputStream().read(new byte[100])),
                new Kind("process pipe write", () -> {
                    OutputStream in = cat.getOutputStream();
                    in.write(new byte[100]);
                    in.flush();
                    return null;
                }),
                new Kind("stdin read", () -> System.in.read(new byte[10])),
                new Kind("console write", () -> { System.out.println("a console line from a fiber"); return null; }));

        FiberScheduler scheduler = FiberScheduler.builder().carriers(1).name("probe").build();
        List<String> reported = new CopyOnWriteArrayList<>();
        try (AutoCloseable listener = BlockingCallDetector.get().addListener(c -> reported.add(c.category().description()))) {
            for (Kind kind : kinds) {
                reported.clear();
                long before = scheduler.stats().blockingCalls();
                scheduler.spawn(kind.call()).get();
                long offloads = scheduler.stats().blockingCalls() - before;
                Set<String> categories = new TreeSet<>(reported);
                System.out.println(kind.name() + ": reported " + categories + "; offloads " + offloads);
            }
        }
        started[0].waitFor();
        cat.getOutputStream().close();
        cat.getInputStream().readAllBytes();
        cat.waitFor();
        echo.getOutputStream().close();
        echo.getInputStream().readAllBytes();
        echo.waitFor();
        toRead.close();
        toWrite.close();
        raf.close();
        channel.close();
        scheduler.shutdownNow();
    }
}
