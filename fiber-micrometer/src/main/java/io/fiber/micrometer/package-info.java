/**
 * Fiber schedulers in Micrometer: {@link io.fiber.micrometer.FiberSchedulerMetrics}, a
 * {@code MeterBinder}. Its own module, so that fiber-core depends on nothing but the JDK and SLF4J.
 */
package io.fiber.micrometer;
