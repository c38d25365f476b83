package io.fiber.benchmarks.servers;

import io.fiber.benchmarks.runner.ProcessStats;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * What a server JVM's JIT has done so far, read from outside without stopping it: HotSpot's
 * performance counters ({@code jstat -snap}, which maps the JVM's {@code hsperfdata} file: no
 * attach, no safepoint) and the CPU time of its compiler threads ({@code /proc/PID/task}). Two
 * snapshots, before a load and after it, give what the JIT did during the load ({@code --jit}).
 *
 * <p>A compiler thread that HotSpot stops while the load runs (it adds and removes them with
 * demand) takes its CPU time with it, so the compiler CPU is a lower bound; the counters are not
 * affected.
 */
record JitCounters(double uptimeSeconds, long compiles, long osrCompiles, long invalidated, long bailouts, double compileSeconds,
                   long loadedClasses, double c1CpuSeconds, double c2CpuSeconds) {

    /** The server's counters now; {@code jstat} runs on this JVM's core (the load's), not the server's. */
    static JitCounters of(long pid, ProcessStats stats) throws IOException, InterruptedException {
        Path jstat = Path.of(System.getProperty("java.home"), "bin", "jstat");
        Process p = new ProcessBuilder(jstat.toString(), "-J-Djstat.showUnsupported=true", "-snap", Long.toString(pid))
                .redirectErrorStream(true).start();
        Map<String, String> counters = new HashMap<>();
        for (String line : new String(p.getInputStream().readAllBytes()).split("\n")) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                counters.put(line.substring(0, eq), line.substring(eq + 1).trim());
            }
        }
        if (p.waitFor() != 0 || !counters.containsKey("sun.ci.totalCompiles")) {
            throw new IOException("jstat -snap " + pid + " failed: " + counters);
        }
        double[] compilerCpu = compilerThreadsCpu(pid, stats);
        double uptime = (System.currentTimeMillis() - number(counters, "sun.rt.createVmBeginTime")) / 1e3;
        return new JitCounters(uptime, number(counters, "sun.ci.totalCompiles"), number(counters, "sun.ci.osrCompiles"),
                number(counters, "sun.ci.totalInvalidates"), number(counters, "sun.ci.totalBailouts"),
                number(counters, "java.ci.totalTime") / (double) number(counters, "sun.os.hrt.frequency"),
                number(counters, "java.cls.loadedClasses") + number(counters, "java.cls.sharedLoadedClasses"), compilerCpu[0], compilerCpu[1]);
    }

    JitCounters minus(JitCounters earlier) {
        return new JitCounters(uptimeSeconds - earlier.uptimeSeconds, compiles - earlier.compiles, osrCompiles - earlier.osrCompiles, invalidated - earlier.invalidated,
                bailouts - earlier.bailouts, compileSeconds - earlier.compileSeconds, loadedClasses - earlier.loadedClasses,
                c1CpuSeconds - earlier.c1CpuSeconds, c2CpuSeconds - earlier.c2CpuSeconds);
    }

    /** One line: the counts, the compilers' own time (wall, summed over compilations) and their threads' CPU. */
    String describe() {
        return String.format(Locale.ROOT, "%.2f s of uptime, %d compilations (%d OSR), %d invalidated, %d bailouts, %.2f s compiling, C1 CPU %.2f s, C2 CPU %.2f s, %d classes loaded",
                uptimeSeconds, compiles, osrCompiles, invalidated, bailouts, compileSeconds, c1CpuSeconds, c2CpuSeconds, loadedClasses);
    }

    private static long number(Map<String, String> counters, String name) {
        String value = counters.get(name);
        return value == null ? 0 : Long.parseLong(value);
    }

    /** CPU seconds of the threads named {@code C1 CompilerThre...} and {@code C2 CompilerThre...} (Linux cuts names at 15 characters). */
    private static double[] compilerThreadsCpu(long pid, ProcessStats stats) throws IOException {
        double[] cpu = new double[2];
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc", Long.toString(pid), "task"))) {
            for (Path task : tasks) {
                String stat;
                try {
                    stat = Files.readString(task.resolve("stat"));
                } catch (IOException exited) {
                    continue;
                }
                String name = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
                int which = name.startsWith("C1 Compiler") ? 0 : name.startsWith("C2 Compiler") ? 1 : -1;
                if (which >= 0) {
                    String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                    cpu[which] += (Long.parseLong(fields[11]) + Long.parseLong(fields[12])) / stats.ticksPerSecond();
                }
            }
        }
        return cpu;
    }
}
