package io.fiber.benchmarks;

import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.util.Statistics;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.CommandLineOptionException;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.function.BiFunction;

/**
 * {@code ./run bench detector [JMH options]}: runs {@link DetectorCheckBenchmark} (every method in
 * its three JVM configurations, as its annotations say unless JMH options override them), then
 * prints a markdown table with the per-check cost: each configuration's ns/op, and the differences
 * between configurations. The JMH options are the usual ones ({@code -f 1 -wi 3 -i 3}); a JMH
 * regexp narrows the run to some of the benchmark's methods.
 *
 * <p>The error of a difference combines the two scores' 99.9% confidence half-widths in quadrature,
 * {@code sqrt(e1^2 + e2^2)}: an approximation, good enough to say whether a difference is above noise.
 */
public final class DetectorCheckMain {
    /** A configuration's JVM, in the order of the table's columns. */
    enum Config {
        NONE("agentNone", "no agent"),
        OFF("agentOff", "agent, detector=off"),
        REPORT("agentReport", "agent, detector=report");

        final String suffix;
        final String title;

        Config(String suffix, String title) {
            this.suffix = suffix;
            this.title = title;
        }
    }

    /**
     * One benchmark method's score: {@code call} is the method name before {@code _}, e.g.
     * {@code parkNanos0}; the mean with its 99.9% error, and the median and the minimum of the
     * iterations, all in ns per call.
     */
    record Score(String call, Config config, double nanos, double error, double median, double min) {
        /** From a method name such as {@code parkNanos0_agentReport}; empty for names of another form. */
        static Optional<Score> of(String method, double nanos, double error, double median, double min) {
            int underscore = method.lastIndexOf('_');
            if (underscore < 0) {
                return Optional.empty();
            }
            String suffix = method.substring(underscore + 1);
            for (Config config : Config.values()) {
                if (config.suffix.equals(suffix)) {
                    return Optional.of(new Score(method.substring(0, underscore), config, nanos, error, median, min));
                }
            }
            return Optional.empty();
        }
    }

    private DetectorCheckMain() { }

    public static void main(String[] args) throws RunnerException {
        CommandLineOptions cli;
        try {
            cli = new CommandLineOptions(args);
        } catch (CommandLineOptionException e) {
            System.err.println("detector benchmark: " + e.getMessage());
            System.exit(2);
            return;
        }
        if (cli.shouldHelp()) {
            System.out.println("usage: ./run bench detector [JMH options, e.g. -f 1 -wi 3 -i 3] [regexp of DetectorCheckBenchmark methods]");
            return;
        }
        if (!Files.isRegularFile(Path.of(DetectorCheckBenchmark.AGENT_JAR))) {
            System.err.println("detector benchmark: no agent jar at " + DetectorCheckBenchmark.AGENT_JAR + " under the working directory "
                    + Path.of("").toAbsolutePath() + "; run it from the repository root with ./run bench detector, which builds the jar");
            System.exit(2);
            return;
        }
        OptionsBuilder builder = new OptionsBuilder();
        builder.parent(cli);
        if (cli.getIncludes().isEmpty()) {
            builder.include(DetectorCheckBenchmark.class.getName() + "\\.");
        }
        Options options = builder.build();
        Collection<RunResult> results = new Runner(options).run();
        List<Score> scores = new ArrayList<>();
        for (RunResult r : results) {
            String benchmark = r.getParams().getBenchmark();
            Result<?> primary = r.getPrimaryResult();
            Statistics iterations = primary.getStatistics();
            Score.of(benchmark.substring(benchmark.lastIndexOf('.') + 1), primary.getScore(), primary.getScoreError(),
                    iterations.getPercentile(50), iterations.getMin()).ifPresent(scores::add);
        }
        System.out.println();
        System.out.println(table(scores));
    }

    /**
     * Two markdown tables, a row per call. First the means: each configuration's ns/op (score ±
     * 99.9% error), then off − none, report − none and report − off. Then the medians of the
     * iterations (with the fastest iteration), which an iteration slowed down by other processes
     * moves less than the mean, and the differences of the medians. A configuration that did not run
     * shows n/a.
     */
    static String table(List<Score> scores) {
        Set<String> calls = new LinkedHashSet<>();
        scores.forEach(s -> calls.add(s.call()));
        StringBuilder out = new StringBuilder();
        out.append("Means (score ± 99.9% error), ns per call:\n\n");
        header(out);
        for (String call : calls) {
            Score[] byConfig = byConfig(scores, call);
            out.append("| ").append(call).append(" | ");
            for (Score s : byConfig) {
                out.append(s == null ? "n/a" : format(s.nanos(), s.error())).append(" | ");
            }
            differences(out, byConfig, (a, b) -> format(a.nanos() - b.nanos(), Math.hypot(a.error(), b.error())));
        }
        out.append("\nMedians of the iterations (fastest iteration in brackets), ns per call; differences of the medians:\n\n");
        header(out);
        for (String call : calls) {
            Score[] byConfig = byConfig(scores, call);
            out.append("| ").append(call).append(" | ");
            for (Score s : byConfig) {
                out.append(s == null ? "n/a" : String.format(Locale.ROOT, "%.2f (%.2f)", s.median(), s.min())).append(" | ");
            }
            differences(out, byConfig, (a, b) -> String.format(Locale.ROOT, "%.2f", a.median() - b.median()));
        }
        out.append("\nA difference of means carries the two half-widths combined in quadrature, an approximation.\n");
        return out.toString();
    }

    private static void header(StringBuilder out) {
        out.append("| call | ");
        for (Config config : Config.values()) {
            out.append(config.title).append(" | ");
        }
        out.append("off - none | report - none | report - off |\n");
        out.append("|---|--:|--:|--:|--:|--:|--:|\n");
    }

    private static Score[] byConfig(List<Score> scores, String call) {
        Score[] byConfig = new Score[Config.values().length];
        for (Score s : scores) {
            if (s.call().equals(call)) {
                byConfig[s.config().ordinal()] = s;
            }
        }
        return byConfig;
    }

    private static void differences(StringBuilder out, Score[] byConfig, BiFunction<Score, Score, String> difference) {
        Score none = byConfig[Config.NONE.ordinal()];
        Score off = byConfig[Config.OFF.ordinal()];
        Score report = byConfig[Config.REPORT.ordinal()];
        out.append(off == null || none == null ? "n/a" : difference.apply(off, none)).append(" | ");
        out.append(report == null || none == null ? "n/a" : difference.apply(report, none)).append(" | ");
        out.append(report == null || off == null ? "n/a" : difference.apply(report, off)).append(" |\n");
    }

    private static String format(double value, double error) {
        if (Double.isNaN(error)) {
            return String.format(Locale.ROOT, "%.2f", value);
        }
        return String.format(Locale.ROOT, "%.2f ± %.2f", value, error);
    }
}
