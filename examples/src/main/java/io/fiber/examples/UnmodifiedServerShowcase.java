package io.fiber.examples;

import io.fiber.Fiber;
import io.fiber.FiberException;
import io.fiber.FiberScheduler;
import io.fiber.load.ProcessPeaks;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The demo's third part: the {@link ClassicServer}, a {@code new Thread} per connection and no
 * reference to fibers, in a child JVM without the agent and then under it with
 * {@code threads=fibers}; each time this JVM opens {@code connections} connections, waits until the
 * server's handlers hold them all at once, then sends a line on each, and checks every answer. Prints, for both, the connections served, the server's peak OS threads and
 * resident memory, and how long the burst took: the same unmodified code, on OS threads and then on
 * fibers.
 */
final class UnmodifiedServerShowcase {
    static final String AGENT_OPTIONS = "threads=fibers";
    private static final int START_SECONDS = 30;
    private static final int CALL_TIMEOUT_MILLIS = 30_000;

    private UnmodifiedServerShowcase() { }

    /** What one child did with the burst, and what it printed on standard error. */
    record Outcome(String label, int served, int connections, int peakThreads, long peakResidentKib, long millis,
                   String firstFailure, String stderr) { }

    /** The agent jar this JVM was launched with, or null. */
    static Path agentJarOfThisJvm() {
        for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (arg.startsWith("-javaagent:")) {
                String jar = arg.substring("-javaagent:".length());
                int eq = jar.indexOf('=');
                return Path.of(eq < 0 ? jar : jar.substring(0, eq));
            }
        }
        return null;
    }

    /** Runs both children; returns the exit code: 0 when both served every connection. */
    static int run(int connections, Path agentJar, PrintStream out) throws IOException, InterruptedException {
        out.println();
        out.println("== an unmodified thread-per-connection server (ClassicServer: new Thread per connection, "
                + ClassicServer.HANDLER_MILLIS + " ms per request), " + String.format(Locale.ROOT, "%,d", connections)
                + " connections at once");
        if (agentJar == null) {
            // Only the in-process tests run the demo without the agent; ./run demo always has it.
            out.println("skipped: this part starts the server under the agent jar this JVM was launched with, and it has none");
            return 0;
        }
        List<Outcome> outcomes = new ArrayList<>();
        outcomes.add(burst("without the agent", null, connections));
        outcomes.add(burst("-javaagent (" + AGENT_OPTIONS + ")", "-javaagent:" + agentJar + "=" + AGENT_OPTIONS, connections));
        int exit = 0;
        for (Outcome o : outcomes) {
            printStandardError(o, out);
        }
        out.println(String.format(Locale.ROOT, "  %-32s %12s %16s %14s %9s", "", "served", "peak OS threads", "peak RSS MB", "burst ms"));
        for (Outcome o : outcomes) {
            out.println(String.format(Locale.ROOT, "  %-32s %12s %,16d %,14d %,9d", o.label(), o.served() + "/" + o.connections(),
                    o.peakThreads(), o.peakResidentKib() / 1024, o.millis()));
            if (o.served() != o.connections()) {
                out.println("problem: " + o.label() + " served " + o.served() + " of " + o.connections() + "; first failure: " + o.firstFailure());
                exit = 1;
            }
        }
        return exit;
    }

    /** Starts the server in a child JVM (with {@code agentArg} unless null), sends the burst, stops the child. */
    static Outcome burst(String label, String agentArg, int connections) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        if (agentArg != null) {
            command.add(agentArg);
        }
        command.addAll(List.of("-Xmx256m", "-cp", System.getProperty("java.class.path"), ClassicServer.class.getName()));
        Path stderr = Files.createTempFile("classic-server-err", ".txt");
        ProcessBuilder pb = new ProcessBuilder(command).redirectError(stderr.toFile());
        pb.environment().keySet().removeAll(List.of("JDK_JAVA_OPTIONS", "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS"));
        Process child = pb.start();
        try {
            int port = awaitPort(child, label);
            try (ProcessPeaks peaks = ProcessPeaks.watch(child.pid(), 5)) {
                long start = System.nanoTime();
                List<String> failures = sendBurst(port, connections);
                long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
                peaks.close();
                stop(child);
                return new Outcome(label, connections - failures.size(), connections, peaks.threads(), peaks.residentKib(), millis,
                        failures.isEmpty() ? null : failures.getFirst(), Files.readString(stderr, StandardCharsets.UTF_8));
            }
        } finally {
            stop(child);
            Files.deleteIfExists(stderr);
        }
    }

    private static void stop(Process child) throws IOException, InterruptedException {
        child.getOutputStream().close(); // the server stops when its standard input ends
        if (!child.waitFor(15, TimeUnit.SECONDS)) {
            child.destroyForcibly().waitFor();
        }
    }

    /**
     * What the server printed on standard error, shortly: the agent's own lines (what
     * {@code threads=fibers} converts, and at exit what it did) as they are, the detector's reports
     * counted with the first one's headline, and anything else as it is.
     */
    private static void printStandardError(Outcome o, PrintStream out) {
        List<String> reports = new ArrayList<>();
        for (String line : o.stderr().lines().toList()) {
            if (line.startsWith("fiber-agent: ")) {
                out.println("  " + line);
            } else if (line.contains("Blocking call!")) {
                reports.add(line.substring(line.indexOf("Blocking call!")));
            } else if (!line.startsWith("\t") && !line.isBlank()) {
                out.println("  " + o.label() + ", standard error: " + line);
            }
        }
        if (!reports.isEmpty()) {
            out.println("  the detector (report mode) reported " + reports.size() + " call(s) in the server " + o.label()
                    + "; the first: " + reports.getFirst());
        }
    }

    private static int awaitPort(Process child, String label) throws IOException, InterruptedException {
        BufferedReader stdout = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(START_SECONDS);
        while (System.nanoTime() < deadline) {
            String line = stdout.readLine();
            if (line == null) {
                throw new IOException("the server " + label + " exited before it listened (status " + child.waitFor() + ")");
            }
            if (line.startsWith("port ")) {
                return Integer.parseInt(line.substring("port ".length()).trim());
            }
        }
        throw new IOException("the server " + label + " did not listen within " + START_SECONDS + " s");
    }

    /**
     * Opens {@code connections} connections, one fiber each, and sends on none until the server has
     * greeted every one (or it failed), so the server's handlers all hold their connection at once,
     * however fast this machine opens them; returns what went wrong, one entry per failed connection.
     */
    private static List<String> sendBurst(int port, int connections) throws InterruptedException {
        List<Fiber<String>> clients = new ArrayList<>(connections);
        CountDownLatch allGreeted = new CountDownLatch(connections);
        try (FiberScheduler scheduler = FiberScheduler.builder().name("showcase-client").build()) {
            for (int i = 0; i < connections; i++) {
                int n = i;
                clients.add(scheduler.spawn(() -> call(port, n, allGreeted)));
            }
            List<String> failures = new ArrayList<>();
            for (Fiber<String> client : clients) {
                try {
                    String failure = client.get();
                    if (failure != null) {
                        failures.add(failure);
                    }
                } catch (FiberException e) {
                    failures.add(e.getCause().toString());
                }
            }
            return failures;
        }
    }

    /**
     * One connection: opened and greeted by its handler, then, once every connection is, a line out
     * and the server's answer back; null when the answer is right, else what went wrong.
     */
    private static String call(int port, int n, CountDownLatch allGreeted) throws IOException, InterruptedException {
        boolean counted = false;
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
            socket.setSoTimeout(CALL_TIMEOUT_MILLIS);
            PrintWriter out = new PrintWriter(socket.getOutputStream(), true, StandardCharsets.UTF_8);
            BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
            String greeting = in.readLine();
            allGreeted.countDown();
            counted = true;
            if (!"ready".equals(greeting)) {
                return "connection " + n + " was greeted with " + greeting;
            }
            if (!allGreeted.await(CALL_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS)) {
                return "connection " + n + ": the other connections were not all greeted within " + CALL_TIMEOUT_MILLIS + " ms";
            }
            out.println("hello " + n);
            String answer = in.readLine();
            return ("echo hello " + n).equals(answer) ? null : "connection " + n + " got " + answer;
        } finally {
            if (!counted) {
                allGreeted.countDown(); // failed before its greeting: the others must not wait for it
            }
        }
    }
}
