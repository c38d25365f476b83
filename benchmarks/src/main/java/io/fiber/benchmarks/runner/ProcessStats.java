package io.fiber.benchmarks.runner;

import io.fiber.load.ProcessPeaks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What the benchmark runners read from Linux's {@code /proc}: a child process's CPU time so far
 * (user + system, all threads) and resident memory, and the CPU time of the whole machine.
 *
 * <ul>
 *   <li>CPU: fields 14 and 15 ({@code utime}, {@code stime}) of {@code /proc/PID/stat}, in clock
 *       ticks, divided by {@code CLK_TCK} as {@code getconf CLK_TCK} reports it (100 on Linux x86_64,
 *       so a 10 ms resolution: a measured period of several seconds keeps the error under 1%);</li>
 *   <li>memory: {@code VmRSS} of {@code /proc/PID/status}, in KiB.</li>
 * </ul>
 */
public final class ProcessStats {
    private static final int UTIME_AFTER_COMMAND = 11;   // fields counted from the state, field 3
    private static final int STIME_AFTER_COMMAND = 12;

    private final double ticksPerSecond;

    private ProcessStats(double ticksPerSecond) {
        this.ticksPerSecond = ticksPerSecond;
    }

    /** Asks {@code getconf CLK_TCK} once for the tick rate of the CPU times. */
    public static ProcessStats create() throws IOException, InterruptedException {
        Process getconf = new ProcessBuilder("getconf", "CLK_TCK").redirectErrorStream(true).start();
        String out = new String(getconf.getInputStream().readAllBytes()).trim();
        if (getconf.waitFor() != 0 || !out.matches("[0-9]+")) {
            throw new IOException("getconf CLK_TCK failed: " + out);
        }
        return new ProcessStats(Double.parseDouble(out));
    }

    public double ticksPerSecond() {
        return ticksPerSecond;
    }

    /** A process's CPU time, in seconds: in user space, and in the kernel on its behalf (system calls, and loopback networking done in them). */
    public record CpuTime(double user, double system) {
        public double total() {
            return user + system;
        }

        public CpuTime minus(CpuTime earlier) {
            return new CpuTime(user - earlier.user, system - earlier.system);
        }
    }

    /** The process's user + system CPU time so far, in seconds. */
    public double cpuSeconds(long pid) throws IOException {
        return cpuTime(pid).total();
    }

    /** The process's CPU time so far, user and system apart. */
    public CpuTime cpuTime(long pid) throws IOException {
        String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
        // The command name (field 2) is in parentheses and may hold spaces: count fields after its ')'.
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return new CpuTime(Long.parseLong(fields[UTIME_AFTER_COMMAND]) / ticksPerSecond,
                Long.parseLong(fields[STIME_AFTER_COMMAND]) / ticksPerSecond);
    }

    /**
     * CPU time used so far on the whole machine, summed over every core, in seconds: the user, nice,
     * system and steal fields of {@code /proc/stat}'s first line. Interrupt and softirq time are left
     * out, since loopback networking is accounted there and belongs to the measured pair. Minus the
     * server's and the driver's own CPU time, this is the load that other processes (and the
     * hypervisor) put on the machine during a run.
     */
    public double machineBusySeconds() throws IOException {
        String total = Files.readAllLines(Path.of("/proc/stat")).getFirst();
        String[] fields = total.trim().split(" +");   // cpu user nice system idle iowait irq softirq steal ...
        long ticks = Long.parseLong(fields[1]) + Long.parseLong(fields[2]) + Long.parseLong(fields[3]) + Long.parseLong(fields[8]);
        return ticks / ticksPerSecond;
    }

    /** The process's resident set size ({@code VmRSS}), in KiB. */
    public static long residentKib(long pid) throws IOException {
        return ProcessPeaks.status(pid).residentKib();
    }
}
