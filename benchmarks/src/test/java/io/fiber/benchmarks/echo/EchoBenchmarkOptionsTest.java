package io.fiber.benchmarks.echo;

import io.fiber.benchmarks.echo.EchoBenchmark.Measurement;
import io.fiber.benchmarks.echo.EchoBenchmark.Options;
import io.fiber.benchmarks.echo.EchoBenchmark.Scenario;
import io.fiber.benchmarks.echo.EchoBenchmark.Server;
import io.fiber.benchmarks.echo.EchoLoadDriver.Result;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The echo runner's command line and report for the detector's overhead: server (a-off), the agent
 * with {@code detector=off}, is selectable next to (a), which names its report mode, and the report
 * gives the (a) / (a-off) ratio with its bound and verdict.
 */
class EchoBenchmarkOptionsTest {
    private static final Path AGENT = Path.of("fiber-agent/target/fiber-agent.jar");

    @Test
    void serversAAndAOffAreSelectableAndRunInTableOrder() {
        Options options = Options.parse(new String[] {"--scenarios", "conn-1000,ping-pong", "--servers", "a-off,a", "--duration", "30"});
        assertEquals(List.of(Server.FIBER_AGENT, Server.FIBER_AGENT_DETECTOR_OFF), options.servers());
        assertEquals(List.of(Scenario.PING_PONG, Scenario.CONNECTIONS_1000), options.scenarios());
        assertEquals(30, options.duration().toSeconds());
        assertEquals(EchoBenchmark.DEFAULT_WARMUP, options.warmup());
    }

    @Test
    void theCDriverAndTheOneKibibyteBufferAreTheDefaults() {
        Options defaults = Options.parse(new String[0]);
        assertEquals(EchoBenchmark.Driver.C, defaults.driver());
        assertEquals(EchoBenchmarkServer.READ_BUFFER_SIZE, defaults.readBuffer());
        Options java = Options.parse(new String[] {"--driver", "java", "--read-buffer", "16384"});
        assertEquals(EchoBenchmark.Driver.JAVA, java.driver());
        assertEquals(16384, java.readBuffer());
        assertThrows(IllegalArgumentException.class, () -> Options.parse(new String[] {"--driver", "rust"}));
        assertThrows(IllegalArgumentException.class, () -> Options.parse(new String[] {"--driver", "c,java"}));
        assertThrows(IllegalArgumentException.class, () -> Options.parse(new String[] {"--read-buffer", "0"}));
    }

    @Test
    void byDefaultEveryServerRunsIncludingAOff() {
        assertEquals(Arrays.stream(Server.values()).filter(s -> s != Server.FIBER_METRICS).toList(), Options.parse(new String[0]).servers(),
                "all but (b-metrics), which only the metrics' overhead needs");
        assertEquals(List.of(Server.FIBER, Server.FIBER_METRICS), Options.parse(new String[] {"--servers", "b,b-metrics"}).servers());
        assertTrue(Options.parse(new String[0]).servers().contains(Server.FIBER_AGENT_DETECTOR_OFF));
    }

    @Test
    void aRunsTheDetectorInReportModeAndAOffTurnsItOff() {
        assertEquals(List.of("-javaagent:" + AGENT + "=detector=report"), Server.FIBER_AGENT.jvmOptions(AGENT));
        assertEquals(List.of("-javaagent:" + AGENT + "=detector=off"), Server.FIBER_AGENT_DETECTOR_OFF.jvmOptions(AGENT));
        assertEquals("(a-off) fibers + agent, detector=off", Server.FIBER_AGENT_DETECTOR_OFF.label());
        assertTrue(Server.FIBER_AGENT.usesAgent() && Server.FIBER_AGENT_DETECTOR_OFF.usesAgent());
        assertFalse(Server.FIBER.usesAgent());
    }

    @Test
    void anUnknownServerIsRejectedByName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Options.parse(new String[] {"--servers", "a,aoff"}));
        assertEquals("unknown server 'aoff'", e.getMessage());
    }

    @Test
    void theReportGivesTheDetectorOverheadRatioAgainstItsTarget() {
        Options options = Options.parse(new String[] {"--scenarios", "ping-pong", "--servers", "a,a-off"});
        // (a) 40,000 rt/s at 15 CPU s per 1M; (a-off) 41,000 rt/s at 14 CPU s per 1M: 0.976x and 1.07x.
        List<Measurement> runs = List.of(
                measurement(Scenario.PING_PONG, Server.FIBER_AGENT, 600_000, 9.0),
                measurement(Scenario.PING_PONG, Server.FIBER_AGENT_DETECTOR_OFF, 615_000, 8.61));
        assertEquals(40_000 / 41_000.0, EchoReport.Ratio.RATE_A_AOFF.values(runs).getFirst(), 1e-9);
        assertEquals((9.0 / 600_000) / (8.61 / 615_000), EchoReport.Ratio.CPU_A_AOFF.values(runs).getFirst(), 1e-9);

        String report = report(options, runs);
        assertTrue(report.contains("| (a-off) fibers + agent, detector=off | 41,000 |"), report);
        assertTrue(report.contains("| round trips/s, (a) / (a-off) | 0.98x | >= 0.95x | met |"), report);
        assertTrue(report.contains("| server CPU per round trip, (a) / (a-off) | 1.07x |  |  |"), report);
        assertFalse(report.contains("(a) / (c)"), "ratios against servers that did not run are left out: " + report);
    }

    @Test
    void theReportGivesTheCServersCeilingAgainstTheJdk() {
        Options options = Options.parse(new String[] {"--scenarios", "ping-pong", "--servers", "c,f"});
        List<Measurement> runs = List.of(
                measurement(Scenario.PING_PONG, Server.VTHREAD, 480_000, 14.4),
                measurement(Scenario.PING_PONG, Server.C_EPOLL, 840_000, 5.0));
        assertEquals(840_000 / 480_000.0, EchoReport.Ratio.RATE_F_C.values(runs).getFirst(), 1e-9);
        String report = report(options, runs);
        assertTrue(report.contains("| round trips/s, (f) / (c): the ceiling | 1.75x |"), report);
        assertFalse(report.contains("(a) / (f)"), "(a) did not run: " + report);
    }

    @Test
    void belowNinetyFivePercentTheOverheadTargetIsMissed() {
        Options options = Options.parse(new String[] {"--scenarios", "conn-1000", "--servers", "a,a-off"});
        List<Measurement> runs = List.of(
                measurement(Scenario.CONNECTIONS_1000, Server.FIBER_AGENT, 900_000, 9.0),
                measurement(Scenario.CONNECTIONS_1000, Server.FIBER_AGENT_DETECTOR_OFF, 1_000_000, 9.0));
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        EchoReport.print(new PrintStream(bytes, true, StandardCharsets.UTF_8), "setup", options, runs);
        assertTrue(bytes.toString(StandardCharsets.UTF_8).contains("| round trips/s, (a) / (a-off) | 0.90x | >= 0.95x | missed |"));
    }

    @Test
    void roundsRunEveryServerInTurnAndTheRatioIsTheMedianOfTheSameRoundRatios() {
        Options options = Options.parse(new String[] {"--scenarios", "conn-1000", "--servers", "a,c", "--rounds", "3"});
        assertEquals(3, options.rounds());
        // Per round, (a) / (c): 1.30x, 1.10x, 1.25x: the median, 1.25x, meets the 1.2x target; the first round alone would too,
        // the second not. A failed (c) run in a fourth round leaves that round out.
        List<Measurement> runs = List.of(
                measurement(Scenario.CONNECTIONS_1000, Server.FIBER_AGENT, 1, 1_300_000, 13),
                measurement(Scenario.CONNECTIONS_1000, Server.VTHREAD, 1, 1_000_000, 13),
                measurement(Scenario.CONNECTIONS_1000, Server.FIBER_AGENT, 2, 1_100_000, 11),
                measurement(Scenario.CONNECTIONS_1000, Server.VTHREAD, 2, 1_000_000, 12),
                measurement(Scenario.CONNECTIONS_1000, Server.FIBER_AGENT, 3, 1_500_000, 15),
                measurement(Scenario.CONNECTIONS_1000, Server.VTHREAD, 3, 1_200_000, 12),
                measurement(Scenario.CONNECTIONS_1000, Server.FIBER_AGENT, 4, 1_500_000, 15),
                Measurement.failed(Scenario.CONNECTIONS_1000, Server.VTHREAD, 4, "no port"));
        List<Double> values = EchoReport.Ratio.RATE_A_C.values(runs);
        assertEquals(3, values.size(), values.toString());
        assertEquals(1.25, EchoReport.median(values).orElseThrow(), 1e-9);
        String report = report(options, runs);
        assertTrue(report.contains("| round trips/s, (a) / (c) | 1.25x (1.30x, 1.10x, 1.25x) | >= 1.2x | met |"), report);
        assertTrue(report.contains("| (c) JDK virtual threads, round 2 | 66,667 |"), report);
        // 12 CPU s for 1,000,000 round trips, a fifth of it in user space.
        assertTrue(report.contains("| 12.00 | 2.40 | 80% |"), report);
        assertTrue(report.contains("| (c) JDK virtual threads, round 4 | failed: no port |"), report);
        assertEquals(1.0, EchoReport.median(List.of(0.5, 1.5, 0.9, 1.1)).orElseThrow(), 1e-9);
    }

    @Test
    void roundsMustBeAPositiveWholeNumber() {
        assertEquals(1, Options.parse(new String[0]).rounds());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Options.parse(new String[] {"--rounds", "0"}));
        assertEquals("option --rounds needs 1 or more, not 0", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Options.parse(new String[] {"--rounds", "two"}));
    }

    /** 15 s measured, no other load, the driver at half a core. */
    private static Measurement measurement(Scenario scenario, Server server, long roundTrips, double serverCpuSeconds) {
        return measurement(scenario, server, 1, roundTrips, serverCpuSeconds);
    }

    private static Measurement measurement(Scenario scenario, Server server, int round, long roundTrips, double serverCpuSeconds) {
        Result result = new Result(roundTrips, 15, 20_000, 30_000, 40_000, 50_000);
        return new Measurement(scenario, server, round, result, serverCpuSeconds, serverCpuSeconds / 5, 7.5, 0, 15, 100 * 1024, null);
    }

    /** The report {@link EchoReport#print} writes for {@code runs}. */
    private static String report(Options options, List<Measurement> runs) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        EchoReport.print(new PrintStream(bytes, true, StandardCharsets.UTF_8), "setup", options, runs);
        return bytes.toString(StandardCharsets.UTF_8);
    }
}
