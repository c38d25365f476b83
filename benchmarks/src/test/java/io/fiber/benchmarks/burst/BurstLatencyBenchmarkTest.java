package io.fiber.benchmarks.burst;

import io.fiber.benchmarks.burst.BurstLatencyBenchmark.Figure;
import io.fiber.benchmarks.burst.BurstLatencyBenchmark.Options;
import io.fiber.benchmarks.burst.BurstRun.Span;
import io.fiber.benchmarks.burst.BurstRun.Spawner;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The burst benchmark's command line, how a run's samples become its figures, the result line
 * between a run and the runner, and a tiny real run of every runtime and spawner whose report must
 * hold every figure (its values are not checked: they are timings).
 */
class BurstLatencyBenchmarkTest {
    private static final String NUMBER = "[0-9][0-9,]*\\.?[0-9]*";
    private static final long MS = 1_000_000;

    private static Span ms(long from, long to) {
        return new Span(from * MS, to * MS);
    }

    @Test
    void optionsHaveTheirDefaults() {
        Options options = Options.parse(new String[0]);
        assertEquals(5, options.rounds());
        assertEquals(1_000_000, options.fibers());
        assertEquals(3, options.bursts());
        assertEquals(Duration.ofMillis(25), options.scopeEvery());
        assertEquals(List.of(Spawner.PLATFORM, Spawner.FIBER), options.spawners());
        assertEquals(List.of(), options.jvmOptions());
    }

    @Test
    void optionsAreReadAndPassedToEachRun() {
        Options options = Options.parse(new String[] {"--rounds", "5", "--fibers", "20000", "--bursts", "2", "--scope-every", "4",
                "--spawners", "fiber", "--jvm-options", "-Xlog:gc  -XX:+UseZGC"});
        assertEquals(List.of(Spawner.FIBER), options.spawners());
        assertEquals(List.of("-Xlog:gc", "-XX:+UseZGC"), options.jvmOptions());
        String command = String.join(" ", options.command("jdk", Spawner.FIBER));
        assertTrue(command.contains(" --add-opens=java.base/java.lang=ALL-UNNAMED -Xms2g -Xmx2g -Xlog:gc -XX:+UseZGC -cp "), command);
        assertTrue(command.endsWith(" io.fiber.benchmarks.burst.BurstRun --runtime jdk --spawner fiber --fibers 20000 --bursts 2 --scope-every 4"),
                command);
    }

    @Test
    void anUnknownOptionIsNamedWithTheKnownOnes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Options.parse(new String[] {"--tasks", "5"}));
        assertEquals("unknown option '--tasks'; the options are [--bursts, --fibers, --jvm-options, --rounds, --scope-every, --spawners]"
                + " (each with a value) and []", e.getMessage());
    }

    @Test
    void badValuesAreRefusedByName() {
        assertEquals("option --rounds needs 1 or more, not 0",
                assertThrows(IllegalArgumentException.class, () -> Options.parse(new String[] {"--rounds", "0"})).getMessage());
        assertEquals("option --fibers needs a whole number, not '1e6'",
                assertThrows(IllegalArgumentException.class, () -> Options.parse(new String[] {"--fibers", "1e6"})).getMessage());
        assertEquals("unknown spawner 'thread': choose platform or fiber",
                assertThrows(IllegalArgumentException.class, () -> Options.parse(new String[] {"--spawners", "platform,thread"})).getMessage());
    }

    @Test
    void onlySamplesThatOverlapABurstCountAndGcPausesAreSetApart() {
        List<Span> bursts = List.of(ms(1_000, 2_000), ms(5_000, 6_000));
        List<Span> ticks = List.of(
                ms(900, 1_100),     // due before burst 1, done in it: 200 ms late
                ms(1_500, 1_501),   // in burst 1: 1 ms late
                ms(2_500, 2_600),   // between the bursts: left out
                ms(4_000, 5_000));  // waited into burst 2, under a GC pause: 1,000 ms late
        List<Span> scopes = List.of(ms(1_200, 1_300), ms(5_500, 5_800), ms(3_000, 3_100));
        List<Span> pauses = List.of(ms(4_990, 5_050), ms(7_000, 7_100));

        BurstFigures f = BurstFigures.of(10, bursts, 0.5, ticks, scopes, pauses);

        assertEquals(2, f.bursts());
        assertEquals(MS * 2_000 / 20, f.nanosPerTask());
        assertEquals(25, f.otherLoadPercent());   // 0.5 CPU seconds in 2 s of bursts
        assertEquals(1, f.gcPauses());
        assertEquals(MS * 60, f.gcPauseTotal());
        assertEquals(MS * 60, f.gcPauseMax());
        assertEquals(3, f.ticks());
        assertEquals(MS * 200, f.tickP50(), MS * 200 / 32.0);   // the histogram's bucket: at most 1/32 high
        assertEquals(MS * 1_000, f.tickP99());
        assertEquals(MS * 1_000, f.tickMax());
        assertEquals(MS * 200, f.tickP99OutsideGc());
        assertEquals(2, f.scopes());
        assertEquals(MS * 200, f.overrunMedian());
        assertEquals(MS * 300, f.overrunMax());
        assertEquals(MS * 300, f.overrunMaxOutsideGc());
    }

    @Test
    void aSampleWithinAPauseSpansUncertaintyCountsAsOverlapped() {
        List<Span> bursts = List.of(ms(0, 100));
        // The second tick ends just before the pause as reported, within its uncertainty: it may have waited on it.
        List<Span> ticks = List.of(ms(20, 30), new Span(50 * MS, 70 * MS - GcPauses.PRECISION / 4));
        BurstFigures f = BurstFigures.of(10, bursts, 0, ticks, List.of(), List.of(ms(70, 80)));
        assertEquals(MS * 10, f.tickP99OutsideGc());
    }

    @Test
    void aProbeWithNoSampleHasNoFigureRatherThanZero() {
        BurstFigures f = BurstFigures.of(10, List.of(ms(0, 10)), 0, List.of(), List.of(ms(20, 30)), List.of());
        assertEquals(0, f.ticks());
        assertTrue(Double.isNaN(f.tickP99()) && Double.isNaN(f.overrunMax()), f.toString());
        assertEquals(0, f.gcPauseMax());
    }

    @Test
    void theResultLineCarriesEveryFigure() {
        BurstFigures f = new BurstFigures(1_000_000, 3, 3_448_059_863L, 0.25, 12, 1.582e9, 2.24e8, 1214, 118_783, 1.1e7, 2.25e8, Double.NaN,
                85, 9_269_802, 2.3e8, 9_502_554);
        assertEquals(f, BurstFigures.parse(f.toLine()));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> BurstFigures.parse(f.toLine().replace("ticks=1214", "")));
        assertTrue(e.getMessage().startsWith("a burst run's result line lacks ticks: "), e.getMessage());
    }

    /** Four child JVMs (both runtimes, both spawners) of 20,000 tasks; a scope every millisecond, so short bursts still see deadlines pass. */
    @Test
    void aTinyRunReportsEveryFigureForEveryRuntimeAndSpawner() throws Exception {
        Options options = Options.parse(new String[] {"--rounds", "1", "--fibers", "20000", "--bursts", "3", "--scope-every", "1"});
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);

        BurstLatencyBenchmark.report(out, options, BurstLatencyBenchmark.runAll(out, options));

        String report = bytes.toString(StandardCharsets.UTF_8);
        String tables = report.substring(report.indexOf("== report"));
        for (Spawner spawner : Spawner.values()) {
            assertTrue(tables.contains("spawner " + spawner.argument() + ": "), report);
        }
        for (Figure figure : Figure.values()) {
            // Every figure, once per spawner; the probes' own figures always with a value on both sides.
            boolean probe = !figure.title.contains("GC");
            String value = probe ? NUMBER : "(" + NUMBER + "|-)";
            Pattern row = Pattern.compile("\\| " + Pattern.quote(figure.title + " (" + figure.unit + ")") + " \\| " + value + " \\| " + value + " \\| ");
            assertEquals(2, row.matcher(tables).results().count(), figure + " in\n" + report);
        }
        assertEquals(4, Pattern.compile("\\| <= (10|20) ms and <= 1.00x \\| (met|NOT met: .+) \\|").matcher(tables).results().count(), report);
    }
}
