package io.fiber.benchmarks.burst;

import io.fiber.benchmarks.BenchRuntime;
import io.fiber.benchmarks.burst.BurstRun.Spawner;
import io.fiber.benchmarks.runner.ChildProcess;
import io.fiber.benchmarks.runner.CommandLine;
import io.fiber.benchmarks.runner.Medians;

import static io.fiber.benchmarks.burst.BurstRun.ms;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.ToDoubleFunction;

/**
 * Latency under bursts ({@code ./run bench burst}, issue 19): while a platform thread, or a fiber,
 * spawns 1,000,000 fibers, how late does a fiber sleeping 1 ms wake, and how far past its 250 ms
 * deadline does a structured scope end? Fibers on 2 carriers against the JDK's virtual threads on
 * its default scheduler (parallelism 2 on the 2-CPU benchmark machine), on the same harness.
 *
 * <p>Each round runs, for each spawner, both runtimes, each in a fresh JVM ({@link BurstRun}), the
 * first runtime alternating from round to round. The report gives each figure's median over the
 * rounds and, as fiber / jdk, the median of the rounds' ratios, then the targets for
 * fibers: ticker p99 at most 10 ms, the largest scope overrun at most 20 ms, and neither worse than
 * the JDK's in the same run.
 */
public final class BurstLatencyBenchmark {
    static final List<String> RUNTIMES = List.of("fiber", "jdk");
    static final double TICK_P99_TARGET_MS = 10;
    static final double OVERRUN_TARGET_MS = 20;
    /** Far above any healthy run: a child that takes longer is hung, and fails the benchmark. */
    private static final Duration RUN_LIMIT = Duration.ofMinutes(10);

    private BurstLatencyBenchmark() { }

    /** The runner's command line. */
    record Options(int rounds, int fibers, int bursts, Duration scopeEvery, List<Spawner> spawners, List<String> jvmOptions) {
        static final String USAGE = """
                usage: ./run bench burst [--rounds N] [--fibers N] [--bursts N] [--scope-every MS] [--spawners LIST] [--jvm-options "..."]
                  --rounds N        every runtime and spawner N times, each in a fresh JVM (default 5); figures are medians
                                    over the rounds, and a ratio the median of the rounds' fiber / jdk ratios
                  --fibers N        tasks per burst, all outstanding before the first join (default 1,000,000)
                  --bursts N        measured bursts per JVM, after one that warms it up (default 3)
                  --scope-every MS  open a 250 ms-deadline scope this often, in ms (default 25)
                  --spawners LIST   comma-separated, from platform,fiber (default both)
                  --jvm-options "..."  more options for every run's JVM, e.g. "-Xlog:gc" (each run has
                                    --add-opens=java.base/java.lang=ALL-UNNAMED -Xms2g -Xmx2g)""";

        static Options parse(String[] args) {
            CommandLine line = CommandLine.parse(args,
                    Set.of("--rounds", "--fibers", "--bursts", "--scope-every", "--spawners", "--jvm-options"), Set.of());
            List<Spawner> spawners = Arrays.stream(line.string("--spawners", "platform,fiber").split(",")).map(Spawner::named).distinct().toList();
            return new Options(BurstRun.atLeastOne(line, "--rounds", 5),
                    BurstRun.atLeastOne(line, "--fibers", BurstRun.DEFAULT_FIBERS),
                    BurstRun.atLeastOne(line, "--bursts", BurstRun.DEFAULT_BURSTS),
                    Duration.ofMillis(BurstRun.atLeastOne(line, "--scope-every", (int) BurstRun.DEFAULT_SCOPE_EVERY.toMillis())),
                    spawners,
                    Arrays.stream(line.string("--jvm-options", "").split(" ")).filter(o -> !o.isBlank()).toList());
        }

        /** The command of one run's JVM. */
        List<String> command(String runtime, Spawner spawner) {
            List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    BenchRuntime.ADD_OPENS, BenchRuntime.HEAP_MIN, BenchRuntime.HEAP_MAX));
            command.addAll(jvmOptions);
            command.addAll(List.of("-cp", System.getProperty("java.class.path"), BurstRun.class.getName(),
                    "--runtime", runtime, "--spawner", spawner.argument(), "--fibers", String.valueOf(fibers),
                    "--bursts", String.valueOf(bursts), "--scope-every", String.valueOf(scopeEvery.toMillis())));
            return command;
        }
    }

    private record Key(Spawner spawner, String runtime) { }

    public static void main(String[] args) throws Exception {
        Options options;
        try {
            options = Options.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("burst benchmark: " + e.getMessage() + "\n" + Options.USAGE);
            System.exit(2);
            return;
        }
        report(System.out, options, runAll(System.out, options));
    }

    /** Every round's runs, each run's figures listed by round under its spawner and runtime. */
    static Map<Key, List<BurstFigures>> runAll(PrintStream out, Options options) throws IOException, InterruptedException {
        out.printf(Locale.ROOT, "burst benchmark: %s %s, %d processors; %d round(s) of spawners %s; %,d fibers per burst,"
                        + " %d measured burst(s) per JVM after a warm-up one; a scope every %d ms%s%n",
                System.getProperty("java.vm.name"), System.getProperty("java.runtime.version"), Runtime.getRuntime().availableProcessors(),
                options.rounds(), options.spawners().stream().map(Spawner::argument).toList(), options.fibers(), options.bursts(),
                options.scopeEvery().toMillis(), options.jvmOptions().isEmpty() ? "" : "; JVM options " + String.join(" ", options.jvmOptions()));
        Map<Key, List<BurstFigures>> figures = new LinkedHashMap<>();
        for (int round = 1; round <= options.rounds(); round++) {
            for (Spawner spawner : options.spawners()) {
                for (int i = 0; i < RUNTIMES.size(); i++) {
                    String runtime = RUNTIMES.get((i + round - 1) % RUNTIMES.size());
                    out.printf("%n== round %d: %s, spawner %s%n", round, runtime, spawner.argument());
                    BurstFigures f;
                    try (ChildProcess child = ChildProcess.start(runtime + "/" + spawner.argument(), options.command(runtime, spawner), out)) {
                        f = BurstFigures.parse(child.awaitLine(BurstRun.RESULT + " ", RUN_LIMIT).substring(BurstRun.RESULT.length()));
                    }
                    out.printf(Locale.ROOT, "== %,.0f ns per task; ticker p50 %.2f ms, p99 %.2f ms, max %.2f ms (%d ticks); scope overrun median %.2f ms,"
                                    + " max %.2f ms (%d scopes); %d GC pauses, %.0f ms in all; other processes %.0f%% of a core%n",
                            f.nanosPerTask(), ms(f.tickP50()), ms(f.tickP99()), ms(f.tickMax()), f.ticks(), ms(f.overrunMedian()),
                            ms(f.overrunMax()), f.scopes(), f.gcPauses(), ms(f.gcPauseTotal()), f.otherLoadPercent());
                    figures.computeIfAbsent(new Key(spawner, runtime), k -> new ArrayList<>()).add(f);
                }
            }
        }
        return figures;
    }

    /** One row of the report: a figure in its unit, and the target for fibers, if any. */
    enum Figure {
        TICK_P50("ticker lateness p50", "ms", f -> ms(f.tickP50()), Double.NaN),
        TICK_P99("ticker lateness p99", "ms", f -> ms(f.tickP99()), TICK_P99_TARGET_MS),
        TICK_MAX("ticker lateness max", "ms", f -> ms(f.tickMax()), Double.NaN),
        OVERRUN_MEDIAN("scope overrun median", "ms", f -> ms(f.overrunMedian()), Double.NaN),
        OVERRUN_MAX("scope overrun max", "ms", f -> ms(f.overrunMax()), OVERRUN_TARGET_MS),
        NANOS_PER_TASK("burst: spawn + join per task", "ns", BurstFigures::nanosPerTask, Double.NaN),
        GC_PER_BURST("GC pauses per burst, summed", "ms", f -> ms(f.gcPauseTotal()) / f.bursts(), Double.NaN),
        GC_MAX("longest GC pause in a burst", "ms", f -> ms(f.gcPauseMax()), Double.NaN),
        TICK_P99_OUTSIDE_GC("ticker lateness p99, ticks no GC pause overlapped", "ms", f -> ms(f.tickP99OutsideGc()), Double.NaN),
        OVERRUN_MAX_OUTSIDE_GC("scope overrun max, scopes no GC pause overlapped", "ms", f -> ms(f.overrunMaxOutsideGc()), Double.NaN),
        /** The machine's other work, not the runtimes': shown without a ratio. */
        OTHER_LOAD("other processes' CPU during the bursts", "% of a core", BurstFigures::otherLoadPercent, Double.NaN);

        final String title;
        final String unit;
        final ToDoubleFunction<BurstFigures> value;
        /** At most this many units, and no more than the JDK's; NaN: no target. */
        final double target;

        Figure(String title, String unit, ToDoubleFunction<BurstFigures> value, double target) {
            this.title = title;
            this.unit = unit;
            this.value = value;
            this.target = target;
        }

        double value(BurstFigures f) {
            return value.applyAsDouble(f);
        }
    }

    /** Per spawner, a markdown table: each figure's median over the rounds for both runtimes, their ratio and the targets. */
    static void report(PrintStream out, Options options, Map<Key, List<BurstFigures>> figures) {
        out.printf("%n== report: medians over %d round(s); fiber / jdk is the median of the rounds' ratios (each round's in brackets);"
                + " the rows \"no GC pause overlapped\" leave out the samples that a GC pause overlapped%n", options.rounds());
        for (Spawner spawner : options.spawners()) {
            List<BurstFigures> fiber = figures.getOrDefault(new Key(spawner, "fiber"), List.of());
            List<BurstFigures> jdk = figures.getOrDefault(new Key(spawner, "jdk"), List.of());
            out.printf(Locale.ROOT, "%nspawner %s: %s spawns %,d tasks, then joins them%n%n", spawner.argument(),
                    spawner == Spawner.PLATFORM ? "a platform thread" : "one fiber (a virtual thread for jdk)", options.fibers());
            out.println("| figure | fiber | jdk | fiber / jdk | target for fiber | verdict |");
            out.println("|---|--:|--:|--:|---|---|");
            for (Figure figure : Figure.values()) {
                double f = median(fiber, figure);
                double j = median(jdk, figure);
                double[] ratios = figure == Figure.OTHER_LOAD ? new double[0] : ratios(fiber, jdk, figure);
                double ratio = Medians.median(ratios);
                String target = Double.isNaN(figure.target) ? "" : String.format(Locale.ROOT, "<= %.0f %s and <= 1.00x", figure.target, figure.unit);
                out.printf(Locale.ROOT, "| %s (%s) | %s | %s | %s%s | %s | %s |%n", figure.title, figure.unit, number(f), number(j), ratio(ratio),
                        ratios.length > 1 ? " " + bracketed(ratios) : "", target, Double.isNaN(figure.target) ? "" : verdict(figure, f, ratio));
            }
        }
    }

    /** Whether fibers' median is within the figure's bound and the median ratio within 1.00x. */
    static String verdict(Figure figure, double fiber, double ratio) {
        List<String> missed = new ArrayList<>();
        if (!(fiber <= figure.target)) {
            missed.add(String.format(Locale.ROOT, "above %.0f %s", figure.target, figure.unit));
        }
        if (!(ratio <= 1.0)) {
            missed.add("above the JDK's");
        }
        return missed.isEmpty() ? "met" : "NOT met: " + String.join(", ", missed);
    }

    private static double median(List<BurstFigures> runs, Figure figure) {
        return Medians.median(runs.stream().mapToDouble(figure::value).toArray());
    }

    private static double[] ratios(List<BurstFigures> fiber, List<BurstFigures> jdk, Figure figure) {
        int n = Math.min(fiber.size(), jdk.size());
        double[] ratios = new double[n];
        for (int i = 0; i < n; i++) {
            ratios[i] = figure.value(fiber.get(i)) / figure.value(jdk.get(i));
        }
        return ratios;
    }

    private static String bracketed(double[] ratios) {
        return Arrays.stream(ratios).mapToObj(BurstLatencyBenchmark::ratio).toList().toString();
    }

    /** A ratio; "-" where it has no value: a figure with no sample, or 0 on both sides (no GC pause). */
    private static String ratio(double ratio) {
        return Double.isFinite(ratio) ? String.format(Locale.ROOT, "%.2fx", ratio) : "-";
    }

    /** A figure; "-" for none (every sample of the probe overlapped a GC pause). */
    private static String number(double value) {
        return Double.isNaN(value) ? "-" : String.format(Locale.ROOT, value >= 100 ? "%,.0f" : "%.2f", value);
    }

}
