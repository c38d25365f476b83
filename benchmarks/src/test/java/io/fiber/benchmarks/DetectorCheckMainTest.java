package io.fiber.benchmarks;

import io.fiber.benchmarks.DetectorCheckMain.Config;
import io.fiber.benchmarks.DetectorCheckMain.Score;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Method;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link DetectorCheckMain}'s reading of method names and its table of differences. */
class DetectorCheckMainTest {
    @Test
    void methodNamesGiveTheCallAndTheConfiguration() {
        assertEquals(Optional.of(new Score("parkNanos0", Config.REPORT, 2.5, 0.1, 2.4, 2.3)), Score.of("parkNanos0_agentReport", 2.5, 0.1, 2.4, 2.3));
        assertEquals(Optional.of(new Score("unparkNull", Config.NONE, 0.5, 0.1, 0.5, 0.4)), Score.of("unparkNull_agentNone", 0.5, 0.1, 0.5, 0.4));
        assertEquals(Optional.empty(), Score.of("roundTrip", 1, 0, 1, 1));
        assertEquals(Optional.empty(), Score.of("parkNanos0_agentMaybe", 1, 0, 1, 1));
    }

    @Test
    void everyBenchmarkMethodRunsInOneOfTheThreeConfigurations() {
        List<String> methods = Arrays.stream(DetectorCheckBenchmark.class.getDeclaredMethods())
                .filter(m -> m.isAnnotationPresent(org.openjdk.jmh.annotations.Benchmark.class))
                .map(Method::getName).sorted().toList();
        assertEquals(6, methods.size(), methods.toString());
        for (String method : methods) {
            assertTrue(Score.of(method, 0, 0, 0, 0).isPresent(), method);
        }
    }

    @Test
    void theTablesGiveEachConfigurationAndTheDifferences() {
        String table = DetectorCheckMain.table(List.of(
                new Score("parkNanos0", Config.NONE, 0.50, 0.03, 0.48, 0.45),
                new Score("parkNanos0", Config.OFF, 0.70, 0.04, 0.66, 0.60),
                new Score("parkNanos0", Config.REPORT, 2.10, 0.05, 2.00, 1.90),
                new Score("unparkNull", Config.NONE, 0.60, 0.02, 0.59, 0.55)));
        List<String> lines = table.lines().toList();
        assertEquals("| call | no agent | agent, detector=off | agent, detector=report | off - none | report - none | report - off |",
                lines.get(2));
        // 0.04 and 0.03 in quadrature: 0.05; 0.05 and 0.03: 0.058; 0.05 and 0.04: 0.064.
        assertEquals("| parkNanos0 | 0.50 ± 0.03 | 0.70 ± 0.04 | 2.10 ± 0.05 | 0.20 ± 0.05 | 1.60 ± 0.06 | 1.40 ± 0.06 |", lines.get(4));
        assertEquals("| unparkNull | 0.60 ± 0.02 | n/a | n/a | n/a | n/a | n/a |", lines.get(5));
        assertTrue(lines.contains("| parkNanos0 | 0.48 (0.45) | 0.66 (0.60) | 2.00 (1.90) | 0.18 | 1.52 | 1.34 |"), table);
        assertTrue(lines.contains("| unparkNull | 0.59 (0.55) | n/a | n/a | n/a | n/a | n/a |"), table);
    }
}
