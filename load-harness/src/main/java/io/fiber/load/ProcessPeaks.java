package io.fiber.load;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * The most OS threads, the largest resident set and the most open files a process had while it was
 * watched: its {@code /proc/PID/status} ({@code Threads}, {@code VmRSS}) read every few milliseconds,
 * and its {@code /proc/PID/fd} counted every {@value #FILES_EVERY}th time (a directory of thousands
 * of entries costs more), by a daemon platform thread of this JVM (platform, so that sampling never
 * waits behind the load it watches). Linux only. {@link #close} stops the sampling and takes a last
 * sample.
 */
public final class ProcessPeaks implements AutoCloseable {
    private static final int FILES_EVERY = 10;

    private final long pid;
    private final Thread sampler;
    private int samples;
    private volatile long openFiles;
    private volatile boolean stopped;
    private volatile int threads;
    private volatile long residentKib;

    private ProcessPeaks(long pid, long everyMillis) {
        this.pid = pid;
        sample();
        this.sampler = Thread.ofPlatform().daemon().name("process-peaks-" + pid).start(() -> {
            while (!stopped) {
                sample();
                try {
                    Thread.sleep(everyMillis);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
    }

    /** Starts watching process {@code pid}, sampling every {@code everyMillis} ms. */
    public static ProcessPeaks watch(long pid, long everyMillis) {
        if (everyMillis < 1) {
            throw new IllegalArgumentException("the sampling period must be at least 1 ms, got " + everyMillis);
        }
        return new ProcessPeaks(pid, everyMillis);
    }

    private void sample() {
        try {
            Status now = status(pid);
            threads = Math.max(threads, now.threads());
            residentKib = Math.max(residentKib, now.residentKib());
            if (samples++ % FILES_EVERY == 0) {
                openFiles = Math.max(openFiles, openFiles(pid));
            }
        } catch (IOException | RuntimeException e) {
            // the process has ended (or is ending): the peaks so far stand
        }
    }

    /** A process's OS threads and resident set size in KiB, now. */
    public record Status(int threads, long residentKib) { }

    /** Process {@code pid}'s {@code Threads} and {@code VmRSS}, from {@code /proc/PID/status}. */
    public static Status status(long pid) throws IOException {
        int threads = -1;
        long residentKib = -1;
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
            if (line.startsWith("Threads:")) {
                threads = Integer.parseInt(line.substring("Threads:".length()).trim());
            } else if (line.startsWith("VmRSS:")) {
                residentKib = Long.parseLong(line.substring("VmRSS:".length()).replace("kB", "").trim());
            }
        }
        if (threads < 0 || residentKib < 0) {
            throw new IOException("no Threads or VmRSS in /proc/" + pid + "/status (a zombie, or not Linux)");
        }
        return new Status(threads, residentKib);
    }

    /** Process {@code pid}'s open files now: the entries of {@code /proc/PID/fd}. */
    public static long openFiles(long pid) throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
            return fds.count();
        }
    }

    /** Process {@code pid}'s soft limit on open files, from {@code /proc/PID/limits}. */
    public static long openFilesLimit(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "limits"))) {
            if (line.startsWith("Max open files")) {
                return Long.parseLong(line.substring("Max open files".length()).trim().split("\\s+")[0]);
            }
        }
        throw new IOException("no open-files limit in /proc/" + pid + "/limits");
    }

    /** The most open files seen. */
    public long openFiles() {
        return openFiles;
    }

    /** The most OS threads seen. */
    public int threads() {
        return threads;
    }

    /** The largest resident set seen, in KiB. */
    public long residentKib() {
        return residentKib;
    }

    @Override
    public void close() throws InterruptedException {
        stopped = true;
        sampler.interrupt();
        sampler.join();
        sample();
    }
}
