package dev.unmask.agent;

import java.util.Arrays;

/**
 * Mean and spread of repeated measurements: what {@code unmask bench} reports, because on a shared machine one
 * number hides how much the runs disagreed.
 *
 * @param mean   arithmetic mean
 * @param sd     sample standard deviation (0 for one value)
 * @param min    smallest value
 * @param max    largest value
 * @param median middle value (mean of the middle two for an even count)
 */
record Spread(double mean, double sd, double min, double max, double median) {

    static Spread of(double[] values) {
        if (values.length == 0) {
            throw new IllegalArgumentException("no values to summarize; measure at least one run, e.g. --runs 5");
        }
        double sum = 0;
        for (double v : values) {
            sum += v;
        }
        double mean = sum / values.length;
        double squares = 0;
        for (double v : values) {
            squares += (v - mean) * (v - mean);
        }
        double sd = values.length < 2 ? 0 : Math.sqrt(squares / (values.length - 1));
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        double median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
        return new Spread(mean, sd, sorted[0], sorted[n - 1], median);
    }

    /** The standard deviation as a share of the mean (0 when the mean is 0). */
    double relativeSd() {
        return mean == 0 ? 0 : sd / mean;
    }
}
