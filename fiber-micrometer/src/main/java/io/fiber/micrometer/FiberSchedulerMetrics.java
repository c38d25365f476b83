package io.fiber.micrometer;

import io.fiber.CarrierStats;
import io.fiber.DelayHistogram;
import io.fiber.FiberGroupStats;
import io.fiber.FiberScheduler;
import io.fiber.SchedulerStats;
import io.fiber.detector.BlockingCallDetector;
import io.fiber.detector.BlockingCategory;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.FunctionTimer;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.MeterBinder;

import java.math.BigDecimal;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.Objects;
import java.util.function.ToDoubleFunction;

/**
 * A scheduler's figures as Micrometer meters, so the dashboards that read a program's metrics
 * (Prometheus, Datadog, OTLP, JMX: whatever registry the program has) show its fibers and carriers.
 * <pre>{@code
 * new FiberSchedulerMetrics(scheduler).bindTo(registry);   // or new FiberSchedulerMetrics() for the default scheduler
 * }</pre>
 *
 * <p>Every meter is tagged {@code scheduler=<name>}; a carrier's also {@code carrier=<index>} (its
 * place, which a handoff keeps: the counts carry over to the new thread), a group's
 * {@code group=<name>}. Counters only grow; gauges are read when the registry publishes. Nothing is
 * recorded on the scheduler's own paths: each meter reads {@link FiberScheduler#stats()} (one snapshot
 * serves every meter read within {@value #SNAPSHOT_MILLIS} ms, so a scrape takes one or a few), and
 * binding costs the carriers nothing between scrapes.
 *
 * <table>
 *   <caption>Meters</caption>
 *   <tr><th>name</th><th>type</th><th>what</th></tr>
 *   <tr><td>{@code fiber.scheduler.fibers.spawned}</td><td>counter</td><td>fibers spawned</td></tr>
 *   <tr><td>{@code fiber.scheduler.fibers.alive}</td><td>gauge</td><td>fibers spawned and not finished</td></tr>
 *   <tr><td>{@code fiber.scheduler.parks}</td><td>counter</td><td>resumptions after a park or yield</td></tr>
 *   <tr><td>{@code fiber.scheduler.inject.queue.depth}</td><td>gauge</td><td>continuations in the global queue</td></tr>
 *   <tr><td>{@code fiber.scheduler.offload.calls}</td><td>counter</td><td>calls run on the offload pool</td></tr>
 *   <tr><td>{@code fiber.scheduler.offload.threads}</td><td>gauge</td><td>the offload pool's threads</td></tr>
 *   <tr><td>{@code fiber.scheduler.offload.queued}</td><td>gauge</td><td>calls waiting for an offload pool thread</td></tr>
 *   <tr><td>{@code fiber.scheduling.delay}</td><td>function timer, seconds</td><td>time from runnable to running, sampled
 *       ({@link io.fiber.DelayHistogram}): count and sum, so a dashboard's rate gives the mean</td></tr>
 *   <tr><td>{@code fiber.scheduling.delay.buckets}</td><td>counter, tagged {@code le}</td><td>the same delays at or below each
 *       bucket's bound in seconds, cumulative as Prometheus histograms are ({@code le="+Inf"} is the count), so
 *       {@code histogram_quantile(0.99, rate(fiber_scheduling_delay_buckets_total[1m]))} is the p99 of the last minute</td></tr>
 *   <tr><td>{@code fiber.scheduling.delay.max}</td><td>gauge, seconds</td><td>the largest delay timed since the start</td></tr>
 *   <tr><td>{@code fiber.carrier.runs}</td><td>counter</td><td>continuations a carrier ran</td></tr>
 *   <tr><td>{@code fiber.carrier.steals}</td><td>counter</td><td>continuations it took from other carriers</td></tr>
 *   <tr><td>{@code fiber.carrier.sleeps}</td><td>counter</td><td>times it slept for lack of work</td></tr>
 *   <tr><td>{@code fiber.carrier.io.waits}</td><td>counter</td><td>socket waits its reactor took</td></tr>
 *   <tr><td>{@code fiber.carrier.reads.skipped}</td><td>counter</td><td>socket reads its reactor skipped</td></tr>
 *   <tr><td>{@code fiber.carrier.timers.fired}</td><td>counter</td><td>timers it fired</td></tr>
 *   <tr><td>{@code fiber.carrier.handoffs}</td><td>counter</td><td>times a held carrier thread was replaced</td></tr>
 *   <tr><td>{@code fiber.carrier.yield.requests}</td><td>counter</td><td>times a run holding it was asked to yield</td></tr>
 *   <tr><td>{@code fiber.carrier.busy.time}, {@code .idle.time}</td><td>counter, seconds</td><td>awake, and asleep for lack of work</td></tr>
 *   <tr><td>{@code fiber.carrier.queue.depth}</td><td>gauge</td><td>continuations in its queue</td></tr>
 *   <tr><td>{@code fiber.carrier.wakeups}</td><td>counter</td><td>times another thread woke it from its sleep</td></tr>
 *   <tr><td>{@code fiber.carrier.timers.pending}</td><td>gauge</td><td>timers waiting to fire on it</td></tr>
 *   <tr><td>{@code fiber.detector.calls}</td><td>counter</td><td>calls the blocking-call detector flagged, tagged
 *       {@code category} ({@code file_io}, {@code socket}, {@code long_run}...) and not {@code scheduler}: the detector is the JVM's</td></tr>
 *   <tr><td>{@code fiber.group.fibers.spawned}, {@code .finished}</td><td>counter</td><td>a group's fibers</td></tr>
 *   <tr><td>{@code fiber.group.fibers.running}, {@code .waiting}</td><td>gauge</td><td>started, or waiting for a slot</td></tr>
 *   <tr><td>{@code fiber.group.runs}</td><td>counter</td><td>continuations of its fibers run</td></tr>
 *   <tr><td>{@code fiber.group.run.time}</td><td>counter, seconds</td><td>carrier time its fibers ran</td></tr>
 *   <tr><td>{@code fiber.group.queue.depth}</td><td>gauge</td><td>continuations waiting in its queue</td></tr>
 * </table>
 * Groups are bound as they are when {@link #bindTo} runs; a group built later is bound by calling
 * {@code bindTo} again (meters already registered are kept as they are).
 */
public final class FiberSchedulerMetrics implements MeterBinder {
    private final FiberScheduler scheduler;

    /** The meters of the default scheduler (the one {@code Fibers.spawn} from a plain thread uses; under the agent, the program's threads). */
    public FiberSchedulerMetrics() {
        this(FiberScheduler.current());
    }

    public FiberSchedulerMetrics(FiberScheduler scheduler) {
        this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        Tags tags = Tags.of("scheduler", scheduler.name());
        counter(registry, "fiber.scheduler.fibers.spawned", "fibers spawned", tags, SchedulerStats::fibersSpawned);
        gauge(registry, "fiber.scheduler.fibers.alive", "fibers spawned and not finished", tags, SchedulerStats::fibersAlive);
        counter(registry, "fiber.scheduler.parks", "resumptions after a park or yield", tags, SchedulerStats::parks);
        gauge(registry, "fiber.scheduler.inject.queue.depth", "continuations waiting in the global inject queue", tags, SchedulerStats::injectDepth);
        counter(registry, "fiber.scheduler.offload.calls", "calls run on the offload pool", tags, SchedulerStats::blockingCalls);
        gauge(registry, "fiber.scheduler.offload.threads", "threads of the offload pool", tags, SchedulerStats::blockingThreads);
        gauge(registry, "fiber.scheduler.offload.queued", "calls waiting for an offload pool thread", tags, SchedulerStats::blockingQueued);
        FunctionTimer.builder("fiber.scheduling.delay", this, m -> m.stats().schedulingDelay().count(),
                        m -> m.stats().schedulingDelay().totalNanos(), TimeUnit.NANOSECONDS)
                .description("time from runnable to running, sampled").tags(tags).register(registry);
        long[] bounds = DelayHistogram.upperBoundsNanos();
        for (int i = 0; i <= bounds.length; i++) {
            int upTo = i;
            String le = i == bounds.length ? "+Inf" : BigDecimal.valueOf(bounds[i], 9).stripTrailingZeros().toPlainString();
            FunctionCounter.builder("fiber.scheduling.delay.buckets", this, m -> cumulative(m.stats().schedulingDelay(), upTo))
                    .description("sampled scheduling delays at or below le seconds").tags(tags.and("le", le)).register(registry);
        }
        Gauge.builder("fiber.scheduling.delay.max", this, m -> m.stats().schedulingDelay().maxNanos() / 1e9)
                .description("the largest scheduling delay timed").baseUnit("seconds").tags(tags).register(registry);

        int carriers = scheduler.stats().carriers().size();
        for (int i = 0; i < carriers; i++) {
            int index = i;
            Tags carrierTags = tags.and(Tag.of("carrier", String.valueOf(i)));
            carrierCounter(registry, "fiber.carrier.runs", "continuations the carrier ran", carrierTags, index, CarrierStats::runs);
            carrierCounter(registry, "fiber.carrier.steals", "continuations it took from other carriers", carrierTags, index, CarrierStats::stolen);
            carrierCounter(registry, "fiber.carrier.sleeps", "times it slept for lack of work", carrierTags, index, CarrierStats::sleeps);
            carrierCounter(registry, "fiber.carrier.io.waits", "socket waits its reactor took", carrierTags, index, CarrierStats::ioWaits);
            carrierCounter(registry, "fiber.carrier.reads.skipped", "socket reads its reactor skipped", carrierTags, index, CarrierStats::skippedReads);
            carrierCounter(registry, "fiber.carrier.timers.fired", "timers it fired", carrierTags, index, CarrierStats::timers);
            carrierCounter(registry, "fiber.carrier.handoffs", "times a held carrier thread was replaced", carrierTags, index, CarrierStats::handoffs);
            carrierCounter(registry, "fiber.carrier.yield.requests", "times the watchdog asked a run holding the carrier to yield",
                    carrierTags, index, CarrierStats::yieldRequests);
            FunctionCounter.builder("fiber.carrier.busy.time", this, m -> m.carrier(index).busyNanos() / 1e9)
                    .description("time the carrier was awake, running fibers or looking for them").baseUnit("seconds")
                    .tags(carrierTags).register(registry);
            FunctionCounter.builder("fiber.carrier.idle.time", this, m -> m.carrier(index).idleNanos() / 1e9)
                    .description("time the carrier slept for lack of work").baseUnit("seconds").tags(carrierTags).register(registry);
            Gauge.builder("fiber.carrier.queue.depth", this, m -> m.carrier(index).queueDepth())
                    .description("continuations waiting in its queue and run-next slot").tags(carrierTags).register(registry);
            carrierCounter(registry, "fiber.carrier.wakeups", "times another thread woke it from its sleep", carrierTags, index, CarrierStats::wakeups);
            Gauge.builder("fiber.carrier.timers.pending", this, m -> m.carrier(index).pendingTimers())
                    .description("timers waiting to fire on it").tags(carrierTags).register(registry);
        }

        BlockingCallDetector detector = BlockingCallDetector.get();
        for (BlockingCategory category : BlockingCategory.values()) {
            FunctionCounter.builder("fiber.detector.calls", detector, d -> d.flaggedCount(category))
                    .description("calls the blocking-call detector flagged (the whole JVM's, not one scheduler's)")
                    .tags("category", category.name().toLowerCase(Locale.ROOT)).register(registry);
        }

        for (FiberGroupStats group : scheduler.stats().groups()) {
            String name = group.name();
            Tags groupTags = tags.and(Tag.of("group", name));
            groupCounter(registry, "fiber.group.fibers.spawned", "fibers spawned into the group", groupTags, name, FiberGroupStats::spawned);
            groupCounter(registry, "fiber.group.fibers.finished", "its fibers that finished", groupTags, name, FiberGroupStats::finished);
            groupGauge(registry, "fiber.group.fibers.running", "its fibers started and not finished", groupTags, name, FiberGroupStats::running);
            groupGauge(registry, "fiber.group.fibers.waiting", "its fibers waiting for a slot", groupTags, name, FiberGroupStats::waiting);
            groupCounter(registry, "fiber.group.runs", "continuations of its fibers run", groupTags, name, FiberGroupStats::runs);
            FunctionCounter.builder("fiber.group.run.time", this, m -> m.group(name).runTime().toNanos() / 1e9)
                    .description("carrier time its fibers ran").baseUnit("seconds").tags(groupTags).register(registry);
            groupGauge(registry, "fiber.group.queue.depth", "continuations of its fibers waiting for a carrier", groupTags, name, FiberGroupStats::queueDepth);
        }
    }

    private void counter(MeterRegistry registry, String name, String description, Tags tags, ToDoubleFunction<SchedulerStats> value) {
        FunctionCounter.builder(name, this, m -> value.applyAsDouble(m.stats())).description(description).tags(tags).register(registry);
    }

    private void gauge(MeterRegistry registry, String name, String description, Tags tags, ToDoubleFunction<SchedulerStats> value) {
        Gauge.builder(name, this, m -> value.applyAsDouble(m.stats())).description(description).tags(tags).register(registry);
    }

    private void carrierCounter(MeterRegistry registry, String name, String description, Tags tags, int index, ToDoubleFunction<CarrierStats> value) {
        FunctionCounter.builder(name, this, m -> value.applyAsDouble(m.carrier(index))).description(description).tags(tags).register(registry);
    }

    private void groupCounter(MeterRegistry registry, String name, String description, Tags tags, String group, ToDoubleFunction<FiberGroupStats> value) {
        FunctionCounter.builder(name, this, m -> value.applyAsDouble(m.group(group))).description(description).tags(tags).register(registry);
    }

    private void groupGauge(MeterRegistry registry, String name, String description, Tags tags, String group, ToDoubleFunction<FiberGroupStats> value) {
        Gauge.builder(name, this, m -> value.applyAsDouble(m.group(group))).description(description).tags(tags).register(registry);
    }

    /** How long one {@link FiberScheduler#stats()} snapshot serves the meters read after it. */
    static final long SNAPSHOT_MILLIS = 100;

    private SchedulerStats snapshot;
    private long snapshotAt;

    /** A recent snapshot: a scrape reads dozens of meters, and a snapshot walks every carrier's queue and histogram. */
    private synchronized SchedulerStats stats() {
        long now = System.nanoTime();
        if (snapshot == null || now - snapshotAt > TimeUnit.MILLISECONDS.toNanos(SNAPSHOT_MILLIS)) {
            snapshot = scheduler.stats();
            snapshotAt = now;
        }
        return snapshot;
    }

    private static double cumulative(DelayHistogram h, int upTo) {
        long[] counts = h.counts();
        long sum = 0;
        for (int i = 0; i <= upTo; i++) {
            sum += counts[i];
        }
        return sum;
    }

    private CarrierStats carrier(int index) {
        return stats().carriers().get(index);
    }

    private FiberGroupStats group(String name) {
        for (int attempt = 0; attempt < 2; attempt++) {
            for (FiberGroupStats g : stats().groups()) {
                if (g.name().equals(name)) {
                    return g;
                }
            }
            synchronized (this) {
                snapshot = null; // a group built since the snapshot (bindTo again after a new group)
            }
        }
        throw new IllegalStateException("scheduler '" + scheduler.name() + "' has no group '" + name + "'"); // groups are never removed
    }

}
