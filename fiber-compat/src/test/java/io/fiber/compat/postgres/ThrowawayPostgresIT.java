package io.fiber.compat.postgres;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The throwaway server leaves nothing behind when its owner dies without cleaning up (a test JVM or
 * benchmark killed with SIGKILL): {@code tools/throwaway-postgres.sh} started with an owner pid watches
 * it, and once it is gone stops the server and deletes its data directory. Here the owner is a
 * {@code sleep} process that the test kills. Runs on the test's own thread, no fibers involved.
 */
class ThrowawayPostgresIT {
    private static final Pattern PORT = Pattern.compile("postgres ready port=(\\d+)");
    private static final Duration WATCHER_BOUND = Duration.ofSeconds(15);

    @Test
    void aKilledOwnerLeavesNoServerBehind() throws Exception {
        ThrowawayPostgres.get();   // skips (or fails under CI) exactly when the shared server cannot start
        Path script = Path.of(System.getProperty("fiber.postgres.script"));
        Path state = Path.of(System.getProperty("fiber.postgres.state") + "-owner-test");
        Process owner = new ProcessBuilder("sleep", "600").start();
        try {
            Process start = new ProcessBuilder("bash", script.toString(), "start", state.toString(), Long.toString(owner.pid()))
                    .redirectErrorStream(true).start();
            String output = new String(start.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(start.waitFor(120, TimeUnit.SECONDS) && start.exitValue() == 0, "start failed:\n" + output);
            Matcher ready = PORT.matcher(output);
            assertTrue(ready.find(), output);
            int port = Integer.parseInt(ready.group(1));
            Path dataDirectory = Path.of(Files.readString(state.resolve("datadir")).strip());
            assertTrue(accepts(port), "the server does not accept connections on port " + port);

            owner.destroyForcibly().waitFor();
            long deadline = System.nanoTime() + WATCHER_BOUND.toNanos();
            while (accepts(port) || Files.exists(dataDirectory)) {
                if (System.nanoTime() > deadline) {
                    fail("the server on port " + port + " (" + dataDirectory + ") was still there "
                            + WATCHER_BOUND.toSeconds() + " s after its owner was killed");
                }
                Thread.sleep(100);
            }
            assertFalse(Files.exists(state.resolve("datadir")), "the state still names a cluster");
        } finally {
            owner.destroyForcibly();
            Process stop = new ProcessBuilder("bash", script.toString(), "stop", state.toString()).inheritIO().start();
            assertEquals(0, stop.waitFor(), "stop is safe to repeat");
        }
    }

    /**
     * A client socket in TIME_WAIT holds its port against any listener, and the suites that run before
     * this one leave thousands of loopback connections in TIME_WAIT: a server port drawn from the
     * kernel's ephemeral range failed to bind in CI ("Address already in use"). The script draws below it.
     */
    @Test
    void theServerListensBelowTheEphemeralRange() throws IOException {
        int port = ThrowawayPostgres.get().port();
        // readAllLines, not readString: procfs reports size 0 and readString then returns the first byte only.
        String[] range = Files.readAllLines(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).get(0).strip().split("\\s+");
        int low = Integer.parseInt(range[0]);
        assumeTrue(low > 12000, "the ephemeral range starts at " + low + ", leaving no room below it");
        assertTrue(port < low, "port " + port + " is inside the ephemeral range " + low + "-" + range[1]);
    }

    private static boolean accepts(int port) throws IOException {
        try {
            new Socket(InetAddress.getLoopbackAddress(), port).close();
            return true;
        } catch (ConnectException refused) {
            return false;
        }
    }
}
