package io.fiber.micrometer;

import io.fiber.DelayHistogram;
import io.fiber.Fiber;
import io.fiber.FiberGroup;
import io.fiber.FiberScheduler;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** The binder against Micrometer's real Prometheus registry: every meter in the scraped text, with the scheduler's figures. */
class FiberSchedulerMetricsTest {

    @Test
    void everyMeterIsScrapedWithTheSchedulersFigures() throws Exception {
        try (FiberScheduler s = FiberScheduler.builder().carriers(2).name("metrics").build()) {
            assertTrue(s.usesOwnCarriers(), "surefire passes --add-opens");
            FiberGroup batch = s.group("batch").weight(50).build();
            PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
            new FiberSchedulerMetrics(s).bindTo(registry);
            List<Fiber<?>> fibers = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                fibers.add(s.spawn(() -> {
                    Thread.sleep(1);
                    return null;
                }));
                fibers.add(batch.spawn(Thread::yield));
            }
            for (Fiber<?> f : fibers) {
                assertTrue(f.join(Duration.ofSeconds(20)), f.toString());
            }
            String text = registry.scrape();

            String sched = "scheduler=\"metrics\"";
            assertEquals(80, value(text, "fiber_scheduler_fibers_spawned_total", sched), text);
            assertEquals(0, value(text, "fiber_scheduler_fibers_alive", sched), text);
            assertTrue(value(text, "fiber_scheduler_parks_total", sched) >= 40, "each sleeper parked once at least\n" + text);
            assertEquals(0, value(text, "fiber_scheduler_inject_queue_depth", sched), text);
            value(text, "fiber_scheduler_offload_calls_total", sched);
            value(text, "fiber_scheduler_offload_threads", sched);
            assertEquals(0, value(text, "fiber_scheduler_offload_queued", sched), text);
            // The scheduling delay: a timer's count and sum, and cumulative buckets ending at +Inf = the count.
            double timed = value(text, "fiber_scheduling_delay_seconds_count", sched);
            assertTrue(timed >= 80 / DelayHistogram.SAMPLE_EVERY, "the spawns from this thread alone give " + 80 / DelayHistogram.SAMPLE_EVERY + "\n" + text);
            assertTrue(value(text, "fiber_scheduling_delay_seconds_sum", sched) > 0, text);
            assertTrue(value(text, "fiber_scheduling_delay_max_seconds", sched) > 0, text);
            double previous = 0;
            for (long bound : DelayHistogram.upperBoundsNanos()) {
                String le = "le=\"" + java.math.BigDecimal.valueOf(bound, 9).stripTrailingZeros().toPlainString() + "\"";
                double atOrBelow = value(text, "fiber_scheduling_delay_buckets_total", le);
                assertTrue(atOrBelow >= previous, "cumulative buckets: " + le + "\n" + text);
                previous = atOrBelow;
            }
            assertEquals(timed, value(text, "fiber_scheduling_delay_buckets_total", "le=\"+Inf\""), text);
            double runs = 0;
            for (String carrier : List.of("0", "1")) {
                String labels = "carrier=\"" + carrier + "\"";
                runs += value(text, "fiber_carrier_runs_total", labels);
                for (String name : List.of("fiber_carrier_steals_total", "fiber_carrier_sleeps_total", "fiber_carrier_io_waits_total",
                        "fiber_carrier_reads_skipped_total", "fiber_carrier_timers_fired_total", "fiber_carrier_handoffs_total",
                        "fiber_carrier_yield_requests_total", "fiber_carrier_queue_depth", "fiber_carrier_wakeups_total",
                        "fiber_carrier_timers_pending")) {
                    value(text, name, labels);
                }
                assertTrue(value(text, "fiber_carrier_busy_time_seconds_total", labels)
                        + value(text, "fiber_carrier_idle_time_seconds_total", labels) > 0, "time since the carrier started\n" + text);
            }
            assertTrue(runs >= 120, "80 starts and 40 resumptions at least: " + runs + "\n" + text);

            for (String category : List.of("file_io", "dns", "socket", "park", "native", "long_run")) {
                assertEquals(0, value(text, "fiber_detector_calls_total", "category=\"" + category + "\""),
                        "no detector without the agent, but the meter is there\n" + text);
            }

            String group = "group=\"batch\"";
            assertEquals(40, value(text, "fiber_group_fibers_spawned_total", group), text);
            assertEquals(40, value(text, "fiber_group_fibers_finished_total", group), text);
            assertEquals(0, value(text, "fiber_group_fibers_running", group), text);
            assertEquals(0, value(text, "fiber_group_fibers_waiting", group), text);
            assertTrue(value(text, "fiber_group_runs_total", group) >= 80, "a start and a resumption per fiber\n" + text);
            assertTrue(value(text, "fiber_group_run_time_seconds_total", group) > 0, text);
            assertEquals(0, value(text, "fiber_group_queue_depth", group), text);
        }
    }

    @Test
    void aGroupBuiltAfterBindingIsBoundByBindingAgain() throws Exception {
        try (FiberScheduler s = FiberScheduler.builder().carriers(1).name("late-group").build()) {
            PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
            FiberSchedulerMetrics metrics = new FiberSchedulerMetrics(s);
            metrics.bindTo(registry);
            FiberGroup late = s.group("late").build();
            late.spawn(() -> { }).join();
            assertTrue(!registry.scrape().contains("group=\"late\""), "not bound yet");
            metrics.bindTo(registry);
            assertEquals(1, value(registry.scrape(), "fiber_group_fibers_spawned_total", "group=\"late\""));
            assertEquals(1, value(registry.scrape(), "fiber_scheduler_fibers_spawned_total", "scheduler=\"late-group\""),
                    "binding again kept one meter per name and tags");
        }
    }

    /** The sample of {@code metric} whose labels include {@code label}; fails when there is none. */
    private static double value(String text, String metric, String label) {
        Matcher m = Pattern.compile("^" + Pattern.quote(metric) + "\\{([^}]*)\\} (\\S+)$", Pattern.MULTILINE).matcher(text);
        while (m.find()) {
            if (m.group(1).contains(label)) {
                return Double.parseDouble(m.group(2));
            }
        }
        fail("no sample of " + metric + " with " + label + " in:\n" + text);
        return 0;
    }
}
