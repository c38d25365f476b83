/**
 * Timers (docs/design.md section 4): each carrier's own heap of fibers' timed parks
 * ({@link io.fiber.internal.time.CarrierTimers}), and one deadline timer thread for
 * {@code Timeout} and scope deadlines ({@link io.fiber.internal.time.DeadlineTimer}).
 */
package io.fiber.internal.time;
