/**
 * What the benchmark runners share: child processes they start and read line by line
 * ({@link io.fiber.benchmarks.runner.ChildProcess}), CPU and memory from {@code /proc}
 * ({@link io.fiber.benchmarks.runner.ProcessStats}), options ({@link io.fiber.benchmarks.runner.CommandLine})
 * and the median of rounds ({@link io.fiber.benchmarks.runner.Medians}).
 */
package io.fiber.benchmarks.runner;
