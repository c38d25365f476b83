package io.fiber.benchmarks.burst;

import io.fiber.benchmarks.burst.BurstRun.Span;
import io.fiber.benchmarks.runner.Medians;
import io.fiber.load.LatencyHistogram;

import java.lang.reflect.RecordComponent;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;
import java.util.function.Predicate;

/**
 * A run's figures over its measured bursts, as {@link BurstRun} sends them to the runner on its
 * {@value BurstRun#RESULT} line. Times are in nanoseconds; a figure of a probe with no sample is NaN.
 * "Outside GC": over the samples that no GC pause overlapped, the delay the runtime's scheduling
 * adds without the collector's.
 *
 * @param fibers        tasks per burst
 * @param bursts        measured bursts
 * @param burstNanos    their spawn + join time, summed
 * @param otherCpuSeconds the CPU time other processes used meanwhile (the machine may be shared)
 * @param gcPauses      GC pauses that overlapped them
 * @param gcPauseTotal  those pauses' length, summed
 * @param gcPauseMax    and the longest; 0 when none
 * @param ticks         ticker samples during the bursts
 * @param tickP50       the ticker's lateness: p50, p99 and max (the percentiles at most about 3% high, {@link LatencyHistogram})
 * @param scopes        scope samples during the bursts
 * @param overrunMedian the scopes' overrun past their deadline: median and max
 */
record BurstFigures(int fibers, int bursts, long burstNanos, double otherCpuSeconds, int gcPauses, double gcPauseTotal, double gcPauseMax,
                    int ticks, double tickP50, double tickP99, double tickMax, double tickP99OutsideGc,
                    int scopes, double overrunMedian, double overrunMax, double overrunMaxOutsideGc) {

    /** The figures of {@code bursts}: each probe's samples that overlap any of them, and the GC pauses that do. */
    static BurstFigures of(int fibers, List<Span> bursts, double otherCpuSeconds, Collection<Span> ticks, Collection<Span> scopes,
                           Collection<Span> pauses) {
        Predicate<Span> during = s -> Span.overlapsAny(s, bursts);
        List<Span> widenedPauses = pauses.stream().map(p -> p.widened(GcPauses.PRECISION)).toList();
        Predicate<Span> outsideGc = s -> !Span.overlapsAny(s, widenedPauses);
        LatencyHistogram lateness = histogram(ticks.stream().filter(during).toList());
        LatencyHistogram latenessOutsideGc = histogram(ticks.stream().filter(during.and(outsideGc)).toList());
        double[] overruns = scopes.stream().filter(during).mapToDouble(Span::nanos).toArray();
        double[] gc = pauses.stream().filter(during).mapToDouble(Span::nanos).toArray();
        return new BurstFigures(fibers, bursts.size(), bursts.stream().mapToLong(Span::nanos).sum(), otherCpuSeconds,
                gc.length, Arrays.stream(gc).sum(), Arrays.stream(gc).max().orElse(0),
                (int) lateness.count(), percentile(lateness, 50), percentile(lateness, 99), percentile(lateness, 100),
                percentile(latenessOutsideGc, 99),
                overruns.length, Medians.median(overruns), Arrays.stream(overruns).max().orElse(Double.NaN),
                scopes.stream().filter(during.and(outsideGc)).mapToDouble(Span::nanos).max().orElse(Double.NaN));
    }

    private static LatencyHistogram histogram(List<Span> samples) {
        LatencyHistogram h = new LatencyHistogram();
        samples.forEach(s -> h.record(s.nanos()));
        return h;
    }

    private static double percentile(LatencyHistogram h, double percent) {
        return h.count() == 0 ? Double.NaN : percent == 100 ? h.max() : h.percentile(percent);
    }

    /** Spawn + join time per task, in nanoseconds. */
    double nanosPerTask() {
        return (double) burstNanos / ((long) fibers * bursts);
    }

    /** What other processes used during the bursts, in percent of one core. */
    double otherLoadPercent() {
        return 100 * otherCpuSeconds / (burstNanos / 1e9);
    }

    /** The figures as {@code name=value} words, one per component, for {@link #parse}. */
    String toLine() {
        StringJoiner line = new StringJoiner(" ");
        try {
            for (RecordComponent c : BurstFigures.class.getRecordComponents()) {
                line.add(c.getName() + "=" + c.getAccessor().invoke(this));
            }
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
        return line.toString();
    }

    /** The figures of a {@link #toLine} (a {@value BurstRun#RESULT} line's words after the first). */
    static BurstFigures parse(String line) {
        Map<String, String> words = new HashMap<>();
        for (String word : line.trim().split(" +")) {
            int eq = word.indexOf('=');
            if (eq > 0) {
                words.put(word.substring(0, eq), word.substring(eq + 1));
            }
        }
        RecordComponent[] components = BurstFigures.class.getRecordComponents();
        Class<?>[] types = new Class<?>[components.length];
        Object[] values = new Object[components.length];
        for (int i = 0; i < components.length; i++) {
            String name = components[i].getName();
            String value = words.get(name);
            if (value == null) {
                throw new IllegalArgumentException("a burst run's result line lacks " + name + ": " + line);
            }
            types[i] = components[i].getType();
            try {
                values[i] = number(types[i], value);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("a burst run's result line has a malformed " + name + ": " + line);
            }
        }
        try {
            return BurstFigures.class.getDeclaredConstructor(types).newInstance(values);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Object number(Class<?> type, String value) {
        if (type == int.class) {
            return Integer.parseInt(value);
        }
        if (type == long.class) {
            return Long.parseLong(value);
        }
        return Double.parseDouble(value);
    }
}
