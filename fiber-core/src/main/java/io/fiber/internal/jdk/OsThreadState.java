package io.fiber.internal.jdk;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What the OS knows of a carrier thread and the JVM does not say: whether it is blocked in the
 * kernel, and how much CPU it has used. The carrier watchdog asks before a handoff, to tell
 * a carrier that a fiber holds (blocked in a system call or a pinned park, or computing) from one
 * that is merely waiting for a CPU: on a busy core the kernel deschedules a carrier for
 * milliseconds at a time (a JIT compiler thread, a collector, another process), mid-run, and a new
 * carrier thread would only queue for the same core. Handing such a carrier off cost 50 threads a
 * second and a 100 ms tail in the 1,000-connection echo benchmark, on one core.
 *
 * <p>Linux: the state letter of {@code /proc/self/task/TID/stat} ({@code S} sleeping, {@code D}
 * in uninterruptible I/O: blocked). Elsewhere the state is unknown and a carrier is taken to be
 * blocked, as before this check. CPU time comes from {@link ThreadMXBean}, user plus system.
 */
public final class OsThreadState {
    private static final ThreadMXBean THREADS = cpuTimeBean();

    private OsThreadState() { }

    private static ThreadMXBean cpuTimeBean() {
        try {
            ThreadMXBean bean = ManagementFactory.getThreadMXBean();
            return bean.isThreadCpuTimeSupported() && bean.isThreadCpuTimeEnabled() ? bean : null;
        } catch (RuntimeException | LinkageError e) {
            return null; // no java.management in this runtime image
        }
    }

    /** The calling thread's kernel thread id, or -1 where {@code /proc/thread-self} does not exist. */
    public static int currentTid() {
        try {
            String link = Files.readSymbolicLink(Path.of("/proc/thread-self")).toString(); // "PID/task/TID"
            return Integer.parseInt(link.substring(link.lastIndexOf('/') + 1));
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** Whether thread {@code tid} of this process is blocked in the kernel; true when that cannot be told. */
    public static boolean isBlocked(int tid) {
        if (tid < 0) {
            return true;
        }
        try {
            String stat = new String(Files.readAllBytes(Path.of("/proc/self/task/" + tid + "/stat")), StandardCharsets.US_ASCII);
            int end = stat.lastIndexOf(')'); // the name in parentheses may hold spaces and parentheses
            char state = end >= 0 && end + 2 < stat.length() ? stat.charAt(end + 2) : '?';
            return state == 'S' || state == 'D' || state == '?'; // R: running or waiting for a CPU; t, T: stopped by a tracer
        } catch (IOException | RuntimeException e) {
            return true;
        }
    }

    /** CPU time {@code thread} has used, in nanoseconds, or -1 when the JVM cannot tell. */
    public static long cpuNanos(Thread thread) {
        return THREADS == null ? -1 : THREADS.getThreadCpuTime(thread.threadId());
    }
}
