package io.fiber.benchmarks.echo;

import io.fiber.benchmarks.runner.Medians;

import io.fiber.benchmarks.echo.EchoBenchmark.Measurement;
import io.fiber.benchmarks.echo.EchoBenchmark.Options;
import io.fiber.benchmarks.echo.EchoBenchmark.Scenario;
import io.fiber.benchmarks.echo.EchoBenchmark.Server;
import io.fiber.benchmarks.echo.EchoBenchmark.Target;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.function.ToDoubleFunction;

/**
 * The echo benchmark's report: per scenario, a markdown table of every server's figures and a table
 * of the same-run ratios the targets are stated in, with a verdict where a target applies. Markdown so
 * it pastes into {@code benchmarks/RESULTS.md} as it is.
 *
 * <p>With several rounds ({@code --rounds}), every server ran once per round, in turn, and each ratio
 * is taken within a round, so both of its runs saw the machine at about the same time; the report
 * gives the median of those ratios, and each one, and judges a target by the median.
 *
 * <p>Server CPU per million round trips is there so that runs limited by the client still compare:
 * when the driver is saturated every server's rate is capped alike, but its CPU cost per round trip
 * is not. Rows where the driver used most of its core, or other processes ran meanwhile, are named
 * under the table, and a ratio that involves such a row carries that caveat.
 */
final class EchoReport {
    /** Above this share of its core the driver may be what limits the rate. */
    private static final double DRIVER_BUSY_PERCENT = 90;
    /** Above this share of a core, other processes may have slowed a run down. */
    private static final double OTHER_LOAD_PERCENT = 10;

    private EchoReport() { }

    /**
     * The ratios of one server's figures to another's: (a)'s, as the targets state them, and the C
     * server's (f) to the JDK's (c), the ceiling the targets were set against.
     */
    enum Ratio {
        RATE_A_C("round trips/s, (a) / (c)", Server.VTHREAD, m -> m.result().roundTripsPerSecond(), true),
        RATE_A_E("round trips/s, (a) / (e)", Server.NETTY, m -> m.result().roundTripsPerSecond(), true),
        CPU_A_C("server CPU per round trip, (a) / (c)", Server.VTHREAD, Measurement::serverCpuSecondsPerMillion, false),
        RSS_A_C("server RSS, (a) / (c)", Server.VTHREAD, m -> (double) m.serverRssKib(), false),
        /** The detector's overhead: report mode (a) against detector=off (a-off), the same server otherwise. */
        RATE_A_AOFF("round trips/s, (a) / (a-off)", Server.FIBER_AGENT_DETECTOR_OFF, m -> m.result().roundTripsPerSecond(), true),
        CPU_A_AOFF("server CPU per round trip, (a) / (a-off)", Server.FIBER_AGENT_DETECTOR_OFF,
                Measurement::serverCpuSecondsPerMillion, false),
        /** How far (a) is from the C server. */
        RATE_A_F("round trips/s, (a) / (f)", Server.C_EPOLL, m -> m.result().roundTripsPerSecond(), true),
        CPU_A_F("server CPU per round trip, (a) / (f)", Server.C_EPOLL, Measurement::serverCpuSecondsPerMillion, false),
        /** What metrics cost: (b) with Micrometer's registry scraped every second and the MXBean registered, against (b). */
        RATE_BMETRICS_B("round trips/s, (b-metrics) / (b)", Server.FIBER_METRICS, Server.FIBER, m -> m.result().roundTripsPerSecond(), true),
        CPU_BMETRICS_B("server CPU per round trip, (b-metrics) / (b)", Server.FIBER_METRICS, Server.FIBER,
                Measurement::serverCpuSecondsPerMillion, false),
        /** The ceiling: what a C epoll server reaches against the JDK's virtual threads on this machine. */
        RATE_F_C("round trips/s, (f) / (c): the ceiling", Server.C_EPOLL, Server.VTHREAD,
                m -> m.result().roundTripsPerSecond(), true);

        final String title;
        final Server of;
        final Server against;
        final ToDoubleFunction<Measurement> figure;
        /** Whether a busy driver distorts this figure: it caps rates, not the server's cost per round trip. */
        final boolean limitedByDriver;

        Ratio(String title, Server against, ToDoubleFunction<Measurement> figure, boolean limitedByDriver) {
            this(title, Server.FIBER_AGENT, against, figure, limitedByDriver);
        }

        Ratio(String title, Server of, Server against, ToDoubleFunction<Measurement> figure, boolean limitedByDriver) {
            this.title = title;
            this.of = of;
            this.against = against;
            this.figure = figure;
            this.limitedByDriver = limitedByDriver;
        }

        /** Why this ratio may not be trusted in {@code scenarioRuns}: other load, or a saturated driver; empty if neither. */
        String caveats(List<Measurement> scenarioRuns) {
            List<Measurement> pair = runs(scenarioRuns);
            String noisy = lettersWhere(pair, m -> m.otherCpuPercent() >= OTHER_LOAD_PERCENT);
            String driverBound = limitedByDriver ? lettersWhere(pair, m -> m.driverCpuPercent() >= DRIVER_BUSY_PERCENT) : "";
            return (noisy.isEmpty() ? "" : "other load in " + noisy)
                    + (noisy.isEmpty() || driverBound.isEmpty() ? "" : "; ")
                    + (driverBound.isEmpty() ? "" : "driver-bound " + driverBound);
        }

        private List<Measurement> runs(List<Measurement> scenarioRuns) {
            return scenarioRuns.stream().filter(m -> m.server() == of || m.server() == against).toList();
        }

        /** Whether both servers of this ratio were run in the scenario, successfully or not. */
        boolean ran(List<Measurement> scenarioRuns) {
            return scenarioRuns.stream().anyMatch(m -> m.server() == of)
                    && scenarioRuns.stream().anyMatch(m -> m.server() == against);
        }

        /** The first server's figure over the other's in each round, in round order, for the rounds where both servers ran and succeeded. */
        List<Double> values(List<Measurement> scenarioRuns) {
            List<Double> values = new ArrayList<>();
            for (int round : scenarioRuns.stream().mapToInt(Measurement::round).distinct().sorted().toArray()) {
                List<Measurement> inRound = scenarioRuns.stream().filter(m -> m.round() == round).toList();
                Optional<Measurement> a = find(inRound, of);
                Optional<Measurement> other = find(inRound, against);
                if (a.isPresent() && other.isPresent()) {
                    values.add(figure.applyAsDouble(a.get()) / figure.applyAsDouble(other.get()));
                }
            }
            return values;
        }

        private static Optional<Measurement> find(List<Measurement> runs, Server server) {
            return runs.stream().filter(m -> m.server() == server && m.ok()).findFirst();
        }
    }

    static void print(PrintStream out, String setup, Options options, List<Measurement> measurements) {
        out.println();
        out.println("## Echo benchmark results");
        out.println();
        out.println(setup);
        for (Scenario scenario : options.scenarios()) {
            List<Measurement> runs = measurements.stream().filter(m -> m.scenario() == scenario).toList();
            printScenario(out, scenario, runs, options.rounds() > 1);
        }
    }

    private static void printScenario(PrintStream out, Scenario scenario, List<Measurement> runs, boolean rounds) {
        out.printf(Locale.ROOT, "### %s (%,d active, %,d idle)%n%n", scenario.title, scenario.active, scenario.idle);
        out.println("| server | round trips/s | p50 us | p99 us | p99.9 us | server CPU s per 1M rt | of which user | server CPU"
                + " | server RSS MB | driver CPU | other load |");
        out.println("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
        for (Measurement m : runs) {
            if (!m.ok()) {
                out.printf("| %s | failed: %s | | | | | | | | | |%n", row(m, rounds), m.failure().replace('|', '/'));
                continue;
            }
            out.printf(Locale.ROOT, "| %s | %,.0f | %.1f | %.1f | %.1f | %.2f | %.2f | %.0f%% | %.1f | %.0f%% | %.0f%% |%n",
                    row(m, rounds), m.result().roundTripsPerSecond(), micros(m.result().p50Nanos()),
                    micros(m.result().p99Nanos()), micros(m.result().p999Nanos()), m.serverCpuSecondsPerMillion(),
                    m.serverUserCpuSecondsPerMillion(), m.serverCpuPercent(), m.serverRssKib() / 1024.0, m.driverCpuPercent(), m.otherCpuPercent());
        }
        String driverBound = lettersWhere(runs, m -> m.driverCpuPercent() >= DRIVER_BUSY_PERCENT);
        if (!driverBound.isEmpty()) {
            out.printf(Locale.ROOT, "%nThe driver used %.0f%% or more of its core in %s: those rates may be limited by the client;"
                    + " compare server CPU per 1M round trips.%n", DRIVER_BUSY_PERCENT, driverBound);
        }
        String noisy = lettersWhere(runs, m -> m.otherCpuPercent() >= OTHER_LOAD_PERCENT);
        if (!noisy.isEmpty()) {
            out.printf(Locale.ROOT, "%nOther processes used %.0f%% or more of a core during %s: those runs shared the machine.%n",
                    OTHER_LOAD_PERCENT, noisy);
        }
        out.println();
        out.println("| ratio | value | target | verdict | caveat |");
        out.println("|---|--:|---|---|---|");
        for (Ratio ratio : Ratio.values()) {
            if (!ratio.ran(runs)) {
                continue; // a server it compares was not selected (--servers)
            }
            List<Double> values = ratio.values(runs);
            Optional<Double> value = median(values);
            Optional<Target> target = scenario.targets.stream().filter(t -> t.ratio() == ratio).findFirst();
            String verdict = target.isEmpty() ? "" : value.isEmpty() ? "n/a" : target.get().metBy(value.get()) ? "met" : "missed";
            out.printf(Locale.ROOT, "| %s | %s | %s | %s | %s |%n", ratio.title, describe(values),
                    target.map(Target::describe).orElse(""), verdict, value.isEmpty() ? "" : ratio.caveats(runs));
        }
        out.println();
    }

    /** A run's name in the table: its server's label, and its round when there are several. */
    private static String row(Measurement m, boolean rounds) {
        return rounds ? m.server().label() + ", round " + m.round() : m.server().label();
    }

    /** The median of {@code values}: the middle one, or the mean of the middle two. */
    static Optional<Double> median(List<Double> values) {
        return values.isEmpty() ? Optional.empty() : Optional.of(Medians.median(values.stream().mapToDouble(Double::doubleValue).toArray()));
    }

    /** "1.20x" for one round; "1.20x (1.31x, 1.20x, 0.98x)", the median then each round's, for several; "n/a" for none. */
    private static String describe(List<Double> values) {
        String median = median(values).map(EchoReport::times).orElse("n/a");
        if (values.size() < 2) {
            return median;
        }
        return median + " (" + String.join(", ", values.stream().map(EchoReport::times).toList()) + ")";
    }

    private static String times(double value) {
        return String.format(Locale.ROOT, "%.2fx", value);
    }

    /** The letters of the successful runs that meet {@code condition}, e.g. "(a), (c)"; empty if none. */
    private static String lettersWhere(List<Measurement> runs, Predicate<Measurement> condition) {
        return String.join(", ", runs.stream().filter(m -> m.ok() && condition.test(m)).map(m -> "(" + m.server().letter + ")").toList());
    }

    /** One line for the progress log after each run. */
    static String summary(Measurement m) {
        return String.format(Locale.ROOT, "%,.0f rt/s, p50 %.1f us, p99 %.1f us, p99.9 %.1f us; server %.2f CPU s per 1M rt"
                        + " (%.2f user; %.0f%% of a core), RSS %.1f MB; driver %.0f%% of a core; other load %.0f%% of a core",
                m.result().roundTripsPerSecond(), micros(m.result().p50Nanos()), micros(m.result().p99Nanos()),
                micros(m.result().p999Nanos()), m.serverCpuSecondsPerMillion(), m.serverUserCpuSecondsPerMillion(), m.serverCpuPercent(),
                m.serverRssKib() / 1024.0, m.driverCpuPercent(), m.otherCpuPercent());
    }

    private static double micros(long nanos) {
        return nanos / 1000.0;
    }
}
