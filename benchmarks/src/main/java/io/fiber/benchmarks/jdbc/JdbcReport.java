package io.fiber.benchmarks.jdbc;

import io.fiber.benchmarks.runner.Medians;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns the {@code result} lines of a JDBC benchmark run ({@code benchmarks/scripts/jdbc-bench.sh}, one
 * {@link JdbcWorkload} JVM per mode and repeat) into markdown tables: each run's figures, then the
 * ratios of fibers against JDK virtual threads and against the platform thread pool, per repeat and
 * their median. Rates: higher is better for fibers. CPU per query: lower is better for fibers.
 * The "other load"
 * column is the machine's busy CPU that was neither the client's nor the server's, in cores: on a
 * shared machine, what other processes took during the run.
 *
 * <p>usage: {@code JdbcReport RESULTS_FILE}, whose lines look like
 * {@code repeat=1 result mode=fiber queries=150000 seconds=7.5 client_cpu=9.1 server_cpu=6.0 machine_cpu=15.9 wrong=0}.
 */
public final class JdbcReport {
    private static final List<String> MODES = List.of("fiber", "vthread", "platform");

    private record Run(int repeat, String mode, long queries, double seconds, double clientCpu, double serverCpu, double machineCpu,
                       long clientSwitches, long serverSwitches) {
        double rate() {
            return queries / seconds;
        }

        double micros(double cpuSeconds) {
            return cpuSeconds * 1e6 / queries;
        }

        /** Busy CPU of the machine that was neither the client nor the server, in cores: other processes. */
        double otherCores() {
            return (machineCpu - clientCpu - serverCpu) / seconds;
        }
    }

    public static void main(String[] args) throws IOException {
        List<Run> runs = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of(args[0]))) {
            if (!line.contains(" result ")) {
                continue;
            }
            Map<String, String> f = new HashMap<>();
            for (String word : line.split(" ")) {
                int eq = word.indexOf('=');
                if (eq > 0) {
                    f.put(word.substring(0, eq), word.substring(eq + 1));
                }
            }
            runs.add(new Run(Integer.parseInt(f.get("repeat")), f.get("mode"), Long.parseLong(f.get("queries")),
                    Double.parseDouble(f.get("seconds")), Double.parseDouble(f.get("client_cpu")),
                    Double.parseDouble(f.get("server_cpu")), Double.parseDouble(f.get("machine_cpu")),
                    Long.parseLong(f.getOrDefault("client_switches", "-1")), Long.parseLong(f.getOrDefault("server_switches", "-1"))));
        }
        System.out.println("| repeat | mode | queries/s | client CPU us/query | server CPU us/query | machine CPU us/query | other load, cores | client switches/query | server switches/query |");
        System.out.println("|---|---|--:|--:|--:|--:|--:|--:|--:|");
        for (Run r : runs) {
            System.out.printf("| %d | %s | %,.0f | %.1f | %.1f | %.1f | %.2f | %.2f | %.2f |%n", r.repeat, r.mode, r.rate(),
                    r.micros(r.clientCpu), r.micros(r.serverCpu), r.micros(r.machineCpu), r.otherCores(),
                    (double) r.clientSwitches / r.queries, (double) r.serverSwitches / r.queries);
        }
        Map<Integer, Map<String, Run>> byRepeat = new LinkedHashMap<>();
        for (Run r : runs) {
            byRepeat.computeIfAbsent(r.repeat, k -> new HashMap<>()).put(r.mode, r);
        }
        System.out.println();
        System.out.println("| repeat | rate fiber/vthread | rate fiber/platform | client CPU per query fiber/vthread | client CPU per query fiber/platform |");
        System.out.println("|---|--:|--:|--:|--:|");
        List<double[]> ratios = new ArrayList<>();
        for (var e : byRepeat.entrySet()) {
            Map<String, Run> m = e.getValue();
            if (!m.keySet().containsAll(MODES)) {
                System.out.printf("| %d | (a mode is missing: %s) | | | |%n", e.getKey(), m.keySet());
                continue;
            }
            Run a = m.get("fiber"), b = m.get("vthread"), c = m.get("platform");
            double[] r = {a.rate() / b.rate(), a.rate() / c.rate(), a.micros(a.clientCpu) / b.micros(b.clientCpu),
                    a.micros(a.clientCpu) / c.micros(c.clientCpu)};
            ratios.add(r);
            System.out.printf("| %d | %.3f | %.3f | %.3f | %.3f |%n", e.getKey(), r[0], r[1], r[2], r[3]);
        }
        if (!ratios.isEmpty()) {
            System.out.printf("| median | **%.3f** | **%.3f** | %.3f | %.3f |%n",
                    median(ratios, 0), median(ratios, 1), median(ratios, 2), median(ratios, 3));
        }
    }

    private static double median(List<double[]> rows, int column) {
        return Medians.median(rows.stream().mapToDouble(r -> r[column]).toArray());
    }
}
