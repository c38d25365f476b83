package io.fiber.benchmarks.echo;

import io.fiber.detector.BlockingCallDetector;
import io.fiber.load.EchoConnection;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The detector's echo overhead measured inside one server JVM: separate JVMs at 1,000 connections
 * move by ±20% from run to run (JIT and layout), far more than the 5% in question. This server (fibers,
 * under the agent) alternates the detector between REPORT and OFF every window while one load driver
 * runs, and sums per mode the round trips it served and the CPU it used, so both modes share the same
 * JIT state, heap and connections.
 *
 * <p>Round trips are counted without touching the echo path: every one reads one 64-byte message,
 * so the bytes this process read ({@code rchar} in {@code /proc/self/io}) divided by 64 is the count
 * (the reads that found no data read no bytes). CPU is the process's. The first {@code skip} windows
 * (the driver's warm-up) are left out.
 *
 * <pre>
 * java -javaagent:fiber-agent.jar -cp benchmarks.jar io.fiber.benchmarks.echo.DetectorAbServer WINDOW_MS WINDOWS SKIP
 * </pre>
 * It prints the {@link EchoBenchmarkServer#READY} line, then after its windows one result line per mode.
 */
public final class DetectorAbServer {
    private DetectorAbServer() { }

    public static void main(String[] args) throws Exception {
        long windowMillis = Long.parseLong(args[0]);
        int windows = Integer.parseInt(args[1]);
        int skip = Integer.parseInt(args[2]);
        BlockingCallDetector detector = BlockingCallDetector.get();
        if (!detector.isAvailable()) {
            throw new IllegalStateException("run under the agent: -javaagent:fiber-agent/target/fiber-agent.jar");
        }
        var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        try (EchoBenchmarkServer server = EchoBenchmarkServer.start(EchoBenchmarkServer.Mode.FIBER, 0)) {
            System.out.println(EchoBenchmarkServer.READY + " port=" + server.port() + " mode=fiber-ab pid=" + ProcessHandle.current().pid());
            System.out.flush();
            long[] roundTrips = new long[2];
            long[] cpuNanos = new long[2];
            long[] nanos = new long[2];
            for (int w = 0; w < windows; w++) {
                int m = w % 2; // 0: REPORT, 1: OFF
                detector.mode(m == 0 ? BlockingCallDetector.Mode.REPORT : BlockingCallDetector.Mode.OFF);
                long bytes0 = bytesRead();
                long cpu0 = os.getProcessCpuTime();
                long t0 = System.nanoTime();
                Thread.sleep(windowMillis);
                if (w >= skip) {
                    roundTrips[m] += (bytesRead() - bytes0) / EchoConnection.MESSAGE_SIZE;
                    cpuNanos[m] += os.getProcessCpuTime() - cpu0;
                    nanos[m] += System.nanoTime() - t0;
                }
            }
            for (int m = 0; m < 2; m++) {
                System.out.printf(Locale.ROOT, "result mode=%s round_trips=%d seconds=%.1f rt_per_s=%.0f cpu_s_per_1M=%.2f%n",
                        m == 0 ? "report" : "off", roundTrips[m], nanos[m] / 1e9, roundTrips[m] / (nanos[m] / 1e9),
                        cpuNanos[m] / 1e9 / (roundTrips[m] / 1e6));
            }
            System.out.printf(Locale.ROOT, "ratio report/off: rate %.3f, cpu per round trip %.3f%n",
                    (roundTrips[0] / (double) nanos[0]) / (roundTrips[1] / (double) nanos[1]),
                    (cpuNanos[0] / (double) roundTrips[0]) / (cpuNanos[1] / (double) roundTrips[1]));
        }
        System.exit(0);
    }

    /** {@code rchar} of {@code /proc/self/io}: bytes this process has read. */
    private static long bytesRead() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/io"))) {
            if (line.startsWith("rchar:")) {
                return Long.parseLong(line.substring("rchar:".length()).trim());
            }
        }
        throw new IllegalStateException("no rchar in /proc/self/io");
    }
}
