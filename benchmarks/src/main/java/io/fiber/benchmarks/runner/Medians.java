package io.fiber.benchmarks.runner;

import java.util.Arrays;

/** The benchmarks' one summary of repeated rounds: on a machine that drifts, the median moves least. */
public final class Medians {
    private Medians() { }

    /** The middle value, or the mean of the two middle ones; NaN for none. */
    public static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n == 0 ? Double.NaN : n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}
