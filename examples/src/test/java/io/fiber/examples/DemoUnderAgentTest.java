package io.fiber.examples;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The demo as {@code ./run demo} runs it: in a child JVM launched with {@code -javaagent} and the
 * packaged agent jar (its path comes from the pom: fiber-agent is built earlier in the reactor),
 * briefly. Under the agent the echo server's fibers must wait for their sockets in their carriers'
 * reactors: io waits above zero, and the demo says so; and the detector must flag no blocking call in
 * the servers' fibers, the database queries of {@code GET /db} (in-memory H2 through HikariCP)
 * included.
 */
class DemoUnderAgentTest {
    private static final Pattern ECHO_CARRIER_IO_WAITS = Pattern.compile("echo-carrier-\\d+ .* io waits +([\\d,]+) ");

    /** Runs the demo in a child JVM under the packaged agent; returns its combined output after checking it exited 0. */
    private static String demoUnderAgent(String... args) throws Exception {
        Path agentJar = Path.of(System.getProperty("fiber.agent.jar", "(fiber.agent.jar not set by the pom)"));
        assertTrue(Files.isRegularFile(agentJar), "the agent jar " + agentJar + " is missing: it is built by the fiber-agent"
                + " module, so run the full build (./run test), or build it first with"
                + " ./run mvn -B -ntp -q -pl fiber-core,fiber-io,fiber-agent -am package -DskipTests");
        Path output = Files.createTempFile("demo-under-agent", ".txt");
        try {
            List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-javaagent:" + agentJar, "-cp", System.getProperty("java.class.path"), Demo.class.getName()));
            command.addAll(List.of(args));
            Process demo = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(output.toFile()).start();
            boolean finished = demo.waitFor(60, TimeUnit.SECONDS);
            demo.destroyForcibly();
            String out = Files.readString(output, StandardCharsets.UTF_8);
            assertTrue(finished, "the demo did not finish in 60 s:\n" + out);
            assertEquals(0, demo.exitValue(), out);
            return out;
        } finally {
            Files.deleteIfExists(output);
        }
    }

    @Test
    void demoUnderTheAgentReroutesTheServersSocketWaits() throws Exception {
        String out = demoUnderAgent("--fibers", "1000", "--carriers", "2", "--load-seconds", "1", "--unmodified-connections", "0");
        assertTrue(out.contains("fibers run on our own carriers: yes"), out);
        assertTrue(out.contains("OK: every count adds up"), out);
        assertTrue(out.contains("agent rerouted the servers' socket I/O: yes, io waits > 0"), out);
        assertTrue(echoIoWaits(out) > 0, "the echo scheduler's carriers counted io waits:\n" + out);
        assertTrue(out.contains("  db    25 clients x GET /db?id=N at the same time, each answer checked (H2 in memory"), out);
        assertTrue(out.contains("detector (report mode): no blocking call flagged in the servers' fibers"), out);
        assertTrue(out.contains("OK: no errors under load, every server fiber ended"), out);
        assertFalse(out.contains("FAILED"), out);
        // The only warning allowed: a long run, which a starved CI machine can cause in any fiber.
        assertTrue(out.lines().filter(l -> l.contains("WARN")).allMatch(l -> l.contains("without yielding")), out);
    }

    @Test
    void showDetectorPrintsTheReportOfAHandlerReadingAFile() throws Exception {
        String out = demoUnderAgent("--fibers", "100", "--carriers", "2", "--load-seconds", "0", "--unmodified-connections", "0",
                "--show-detector");
        assertTrue(out.contains("response 200: served by a handler that blocks its carrier on file I/O"), out);
        assertTrue(out.contains("the detector flagged"), out);
        assertTrue(out.contains("Blocking call! sun.nio.fs.UnixNativeDispatcher.open (file I/O) in fiber"), out);
        assertTrue(out.contains("at java.base/java.nio.file.Files.readString"), out);
        assertTrue(out.contains("OK: the detector flags file I/O on a fiber"), out);
    }

    @Test
    void theUnmodifiedThreadPerConnectionServerRunsOnFibersUnderTheAgent() throws Exception {
        String out = demoUnderAgent("--fibers", "100", "--carriers", "2", "--load-seconds", "0", "--unmodified-connections", "500");
        Matcher plain = Pattern.compile("  without the agent +500/500 +([\\d,]+) +([\\d,]+) +([\\d,]+)").matcher(out);
        Matcher fibers = Pattern.compile("  -javaagent \\(threads=fibers\\) +500/500 +([\\d,]+) +([\\d,]+) +([\\d,]+)").matcher(out);
        assertTrue(plain.find() && fibers.find(), "both served every connection:\n" + out);
        int plainThreads = Integer.parseInt(plain.group(1).replace(",", ""));
        int fiberThreads = Integer.parseInt(fibers.group(1).replace(",", ""));
        // Without the agent a connection is an OS thread (most of the 500 overlap in their 100 ms); under
        // it the handlers are fibers, and the OS threads are the JVM's, the carriers and the runtime's.
        assertTrue(plainThreads >= 100, "without the agent, a thread per connection: " + plainThreads + "\n" + out);
        assertTrue(fiberThreads * 2 < plainThreads, "under the agent, far fewer OS threads: " + fiberThreads + "\n" + out);
        assertFalse(out.contains("problem:"), out);
    }

    /** The io waits of the echo scheduler's carriers, summed from its statistics table. */
    private static long echoIoWaits(String out) {
        long sum = 0;
        for (Matcher m = ECHO_CARRIER_IO_WAITS.matcher(out); m.find(); ) {
            sum += Long.parseLong(m.group(1).replace(",", ""));
        }
        return sum;
    }
}
