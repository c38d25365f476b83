package io.fiber.benchmarks.echo;

import io.fiber.benchmarks.runner.ChildProcess;

import io.fiber.benchmarks.echo.EchoLoadDriver.Config;
import io.fiber.benchmarks.echo.EchoLoadDriver.Result;
import io.fiber.benchmarks.echo.EchoBenchmarkServer.Mode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The echo benchmark's server modes and load driver, end to end in this JVM over loopback: every mode
 * echoes correctly under the driver's selector clients (10 connections) and its blocking ping-pong
 * client (1 connection plus idle ones), and a client's failure fails the driver's run. The round
 * trips the driver counts are all verified ones: the harness counts a round trip only after its echo
 * matched, and its own tests (ClosedLoopLoadTest) show a corrupted echo failing the run.
 */
@Timeout(30)
class EchoBenchmarkServerAndDriverTest {
    private static final Duration WARMUP = Duration.ofMillis(200);
    private static final Duration MEASURED = Duration.ofMillis(800);

    @ParameterizedTest
    @EnumSource(Mode.class)
    void everyModeEchoesTenConnections(Mode mode) throws Exception {
        try (EchoBenchmarkServer server = EchoBenchmarkServer.start(mode, 0)) {
            ByteArrayOutputStream progress = new ByteArrayOutputStream();
            Result result = EchoLoadDriver.run(config(server.port(), 10, 0), new PrintStream(progress, true, StandardCharsets.UTF_8));
            assertTrue(result.roundTrips() > 0, mode + ": no round trip in " + result);
            assertTrue(result.p50Nanos() > 0 && result.p50Nanos() <= result.p99Nanos() && result.p99Nanos() <= result.maxNanos(),
                    mode + ": percentiles out of order in " + result);
            List<String> lines = progress.toString(StandardCharsets.UTF_8).lines().toList();
            assertEquals(List.of(EchoLoadDriver.CONNECTED, EchoLoadDriver.MEASURE_START, EchoLoadDriver.MEASURE_END, EchoLoadDriver.RESULT),
                    lines.stream().map(line -> line.split(" ")[0]).toList());
            Result printed = Result.parse(lines.getLast());
            assertEquals(result.roundTrips(), printed.roundTrips());
            assertEquals(result.p999Nanos(), printed.p999Nanos());
        }
    }

    @ParameterizedTest
    @EnumSource(value = Mode.class, names = {"FIBER", "VTHREAD"})
    void pingPongWithIdleConnections(Mode mode) throws Exception {
        try (EchoBenchmarkServer server = EchoBenchmarkServer.start(mode, 0)) {
            Result result = EchoLoadDriver.run(config(server.port(), 1, 50), new PrintStream(OutputStream.nullOutputStream()));
            assertTrue(result.roundTrips() > 0, mode + ": no round trip in " + result);
        }
    }

    /** Server (f), where the machine has a C compiler: it builds, says where it listens, and echoes. */
    @Test
    void theCServerBuildsAndEchoes() throws Exception {
        assumeTrue(hasCompiler(), "no cc on this machine");
        PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
        try (ChildProcess server = ChildProcess.start("server f", List.of(CPrograms.binary(CPrograms.SERVER, quiet).toString(), "0"), quiet)) {
            Matcher port = Pattern.compile("\\bport=(\\d+)").matcher(server.awaitLine(EchoBenchmarkServer.READY, Duration.ofSeconds(10)));
            assertTrue(port.find());
            Result result = EchoLoadDriver.run(config(Integer.parseInt(port.group(1)), 10, 5), quiet);
            assertTrue(result.roundTrips() > 0, "no round trip in " + result);
        }
    }

    /**
     * The C load driver, where the machine has a C compiler: under both of its shapes (a blocking
     * ping-pong beside idle connections, and an epoll loop over 10 connections) it prints the lines
     * the runner waits for, in order, and a result line that parses, with round trips.
     */
    @ParameterizedTest
    @ValueSource(ints = {1, 10})
    void theCDriverLoadsAServer(int connections) throws Exception {
        assumeTrue(hasCompiler(), "no cc on this machine");
        try (EchoBenchmarkServer server = EchoBenchmarkServer.start(Mode.VTHREAD, 0);
             ChildProcess driver = cDriver(server.port(), connections, 5)) {
            driver.awaitLine(EchoLoadDriver.CONNECTED, Duration.ofSeconds(10));
            driver.awaitLine(EchoLoadDriver.MEASURE_START, Duration.ofSeconds(10));
            driver.awaitLine(EchoLoadDriver.MEASURE_END, Duration.ofSeconds(10));
            Result result = Result.parse(driver.awaitLine(EchoLoadDriver.RESULT, Duration.ofSeconds(10)));
            assertTrue(result.roundTrips() > 0, "no round trip in " + result);
            assertTrue(result.p50Nanos() > 0 && result.p50Nanos() <= result.p99Nanos() && result.p99Nanos() <= result.maxNanos(),
                    "percentiles out of order in " + result);
        }
    }

    /** The C driver checks every echo: a server that answers with other bytes fails its run before any result. */
    @Test
    void theCDriverFailsOnAWrongEcho() throws Exception {
        assumeTrue(hasCompiler(), "no cc on this machine");
        try (ServerSocket corrupting = new ServerSocket(0)) {
            Thread.ofVirtual().start(() -> echoWithOneByteFlipped(corrupting));
            try (ChildProcess driver = cDriver(corrupting.getLocalPort(), 2, 0)) {
                IOException failure = assertThrows(IOException.class, () -> driver.awaitLine(EchoLoadDriver.RESULT, Duration.ofSeconds(10)));
                assertTrue(failure.getMessage().contains("exited (status 1)"), failure.getMessage());
            }
        }
    }

    private static ChildProcess cDriver(int port, int connections, int idle) throws IOException, InterruptedException {
        PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
        return ChildProcess.start("driver", List.of(CPrograms.binary(CPrograms.DRIVER, quiet).toString(), "--port", Integer.toString(port),
                "--connections", Integer.toString(connections), "--idle", Integer.toString(idle), "--warmup", "0.2", "--duration", "0.8"), quiet);
    }

    private static void echoWithOneByteFlipped(ServerSocket serverSocket) {
        while (!serverSocket.isClosed()) {
            try {
                Socket connection = serverSocket.accept();
                Thread.ofVirtual().start(() -> {
                    try (connection) {
                        byte[] message = new byte[64];
                        while (connection.getInputStream().readNBytes(message, 0, 64) == 64) {
                            message[63] ^= 1;
                            connection.getOutputStream().write(message);
                        }
                    } catch (IOException e) {
                        // the driver hung up
                    }
                });
            } catch (IOException e) {
                return;
            }
        }
    }

    private static boolean hasCompiler() {
        try {
            return new ProcessBuilder("cc", "--version").redirectErrorStream(true).start().waitFor() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    /** Checking the echoes is the harness's (ClosedLoopLoadTest); here, that the driver fails the run on a client's failure. */
    @Test
    void aServerThatHangsUpFailsTheRun() throws Exception {
        try (ServerSocket hangingUp = new ServerSocket(0)) {
            Thread.ofVirtual().start(() -> acceptAndClose(hangingUp));
            IOException failure = assertThrows(IOException.class,
                    () -> EchoLoadDriver.run(config(hangingUp.getLocalPort(), 2, 0), new PrintStream(OutputStream.nullOutputStream())));
            assertEquals("a client connection failed", failure.getMessage());
            assertInstanceOf(IOException.class, failure.getCause(), "the end of the stream, or a reset");
        }
    }

    private static Config config(int port, int connections, int idle) {
        return new Config("127.0.0.1", port, connections, idle, WARMUP, MEASURED, 2, false);
    }

    private static void acceptAndClose(ServerSocket serverSocket) {
        while (!serverSocket.isClosed()) {
            try {
                serverSocket.accept().close();
            } catch (IOException e) {
                return;
            }
        }
    }
}
