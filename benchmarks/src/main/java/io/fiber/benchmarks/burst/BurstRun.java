package io.fiber.benchmarks.burst;

import io.fiber.Fiber;
import io.fiber.FiberScope;
import io.fiber.FiberTimeoutException;
import io.fiber.benchmarks.BenchRuntime;
import io.fiber.benchmarks.runner.CommandLine;
import io.fiber.benchmarks.runner.ProcessStats;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One run of the burst benchmark, in a JVM of its own: one runtime ({@code fiber} or {@code jdk}, as
 * {@link BenchRuntime} makes them) and one {@link Spawner}. The runner,
 * {@link BurstLatencyBenchmark}, starts it as
 * <pre>
 * java --add-opens=java.base/java.lang=ALL-UNNAMED -cp benchmarks.jar io.fiber.benchmarks.burst.BurstRun \
 *     --runtime fiber|jdk --spawner platform|fiber [--fibers N] [--bursts N] [--scope-every MS]
 * </pre>
 *
 * <p>Two probes start first, on the runtime under test, and run through every burst:
 * <ul>
 *   <li>the ticker, a fiber (a virtual thread for {@code jdk}) that sleeps 1 ms in a loop; each
 *       sample is due when the sleep should end and done when the ticker runs again;</li>
 *   <li>the scopes: every {@code --scope-every} ms a new fiber opens a structured scope with a 250 ms
 *       deadline and forks two fibers that sleep 1 s, so the deadline always passes and cancels
 *       them; each sample is due at the deadline and done when the scope has closed, every fork
 *       ended ({@link #fiberScope()}, {@link #jdkScope()}).</li>
 * </ul>
 * Then the bursts: the spawner starts {@code --fibers} trivial tasks, all outstanding, then joins
 * them, and every task is checked to have run exactly once. The first burst warms the JIT up and is
 * not measured; the next {@code --bursts} are, each after {@link #QUIET} of the probes alone.
 *
 * <p>A sample belongs to a burst when its lateness, the stretch from due to done, overlaps the
 * burst's stretch from the first spawn to the last join: a tick or a deadline due during the burst,
 * or one due before it and still waiting when it began. The garbage collector's pauses are recorded
 * too ({@link GcPauses}), to tell the samples they delayed from those the scheduler alone did. The
 * run prints a table of the measured bursts (times in seconds since the JVM started, to compare
 * with {@code -Xlog:gc}), then a {@value #RESULT} line with their figures together
 * ({@link BurstFigures}); a probe with no sample in any measured burst fails it.
 */
public final class BurstRun {
    /** The first word of the line that carries a run's figures to the runner. */
    static final String RESULT = "result";
    static final int DEFAULT_FIBERS = 1_000_000;
    static final int DEFAULT_BURSTS = 3;
    /**
     * A new scope this often: a burst lasts a fraction of a second, and only deadlines that pass in
     * it (or wait into it) count, so the scopes overlap, several open at any moment.
     */
    static final Duration DEFAULT_SCOPE_EVERY = Duration.ofMillis(25);
    static final Duration TICK = Duration.ofMillis(1);
    static final Duration DEADLINE = Duration.ofMillis(250);
    static final long FORK_SLEEP_MILLIS = 1_000;
    static final Duration FORK_SLEEP = Duration.ofMillis(FORK_SLEEP_MILLIS);
    static final int FORKS = 2;
    /**
     * Before each burst the probes run undisturbed for this long, longer than a scope's deadline,
     * so every burst starts from the same steady state: scopes at every stage of their 250 ms.
     */
    static final Duration QUIET = Duration.ofMillis(500);

    /** What starts the burst's tasks. */
    enum Spawner {
        /** The JVM's main thread, a platform thread, as an accept loop or {@code main} spawns. */
        PLATFORM,
        /** One fiber (a virtual thread for {@code jdk}), as a request handler fans out. */
        FIBER;

        String argument() {
            return name().toLowerCase(Locale.ROOT);
        }

        static Spawner named(String name) {
            for (Spawner s : values()) {
                if (s.argument().equals(name)) {
                    return s;
                }
            }
            throw new IllegalArgumentException("unknown spawner '" + name + "': choose platform or fiber");
        }
    }

    /**
     * A stretch of time, {@link System#nanoTime()} from {@code start} to {@code end}: a burst, from
     * before its first spawn to after its last join; a probe's sample, from when it was due to when
     * it was done, so its length is its lateness; a GC pause.
     */
    record Span(long start, long end) {
        long nanos() {
            return end - start;
        }

        boolean overlaps(Span other) {
            return other.start <= end && other.end >= start;
        }

        Span widened(long nanos) {
            return new Span(start - nanos, end + nanos);
        }

        static boolean overlapsAny(Span span, Collection<Span> spans) {
            return spans.stream().anyMatch(span::overlaps);
        }
    }

    private final BenchRuntime rt;
    private final Spawner spawner;
    private final int fibers;
    private final int bursts;
    private final Duration scopeEvery;
    /** Written by the ticker alone, read after it ended. */
    private final List<Span> ticks = new ArrayList<>();
    private final Queue<Span> scopes = new ConcurrentLinkedQueue<>();
    private final Queue<Thread> scopeOwners = new ConcurrentLinkedQueue<>();
    private final ProcessStats stats;
    /** What other processes ran during each measured burst, in CPU seconds: the machine is shared. */
    private final List<Double> otherCpuSeconds = new ArrayList<>();
    private final AtomicReference<Throwable> probeFailure = new AtomicReference<>();
    private volatile boolean stopping;

    BurstRun(BenchRuntime rt, Spawner spawner, int fibers, int bursts, Duration scopeEvery) throws IOException, InterruptedException {
        this.rt = rt;
        this.stats = ProcessStats.create();
        this.spawner = spawner;
        this.fibers = fibers;
        this.bursts = bursts;
        this.scopeEvery = scopeEvery;
    }

    public static void main(String[] args) throws Exception {
        CommandLine line = CommandLine.parse(args, Set.of("--runtime", "--spawner", "--fibers", "--bursts", "--scope-every"), Set.of());
        String runtime = line.string("--runtime", null);
        String spawner = line.string("--spawner", null);
        if (runtime == null || spawner == null) {
            throw new IllegalArgumentException("--runtime fiber|jdk and --spawner platform|fiber are required");
        }
        try (BenchRuntime rt = BenchRuntime.create(runtime)) {
            BurstFigures figures = new BurstRun(rt, Spawner.named(spawner), atLeastOne(line, "--fibers", DEFAULT_FIBERS),
                    atLeastOne(line, "--bursts", DEFAULT_BURSTS),
                    Duration.ofMillis(atLeastOne(line, "--scope-every", (int) DEFAULT_SCOPE_EVERY.toMillis()))).run();
            System.out.println(RESULT + " " + figures.toLine());
        }
    }

    /** An option's whole number, 1 or more. */
    static int atLeastOne(CommandLine line, String option, int otherwise) {
        int value = line.integer(option, otherwise);
        if (value < 1) {
            throw new IllegalArgumentException("option " + option + " needs 1 or more, not " + value);
        }
        return value;
    }

    /** Starts the probes, runs the warm-up burst and the measured ones, stops the probes and returns the figures. */
    BurstFigures run() throws IOException, InterruptedException {
        List<Span> measured = new ArrayList<>();
        List<Span> pauses;
        try (GcPauses gc = new GcPauses()) {
            Thread ticker = rt.start(this::tick);
            Thread scopeStarter = rt.start(this::startScopes);
            try {
                Thread.sleep(QUIET);
                burst();
                for (int i = 0; i < bursts; i++) {
                    Thread.sleep(QUIET);
                    measured.add(measuredBurst());
                }
            } finally {
                stopping = true;
                ticker.join();
                scopeStarter.join();
                for (Thread owner : scopeOwners) {
                    owner.join();
                }
            }
            pauses = gc.spans();   // the last burst's are in by now: its last scopes waited out their deadline
            printTable(measured, pauses, gc);
        }
        if (probeFailure.get() != null) {
            throw new IllegalStateException("a probe failed", probeFailure.get());
        }
        BurstFigures all = BurstFigures.of(fibers, measured, otherCpuSeconds.stream().mapToDouble(Double::doubleValue).sum(), ticks, scopes, pauses);
        if (all.ticks() == 0) {
            throw new IllegalStateException("the ticker recorded no tick during the bursts: it never ran");
        }
        if (all.scopes() == 0) {
            throw new IllegalStateException("no scope's deadline passed during the bursts (" + scopes.size() + " scopes in all):"
                    + " the bursts were too short for a scope every " + scopeEvery.toMillis() + " ms; give more --fibers or a smaller --scope-every");
        }
        return all;
    }

    /** {@link #burst()}, noting what other processes ran meanwhile. */
    private Span measuredBurst() throws IOException, InterruptedException {
        long self = ProcessHandle.current().pid();
        double machineBefore = stats.machineBusySeconds();
        double selfBefore = stats.cpuSeconds(self);
        Span burst = burst();
        double other = stats.machineBusySeconds() - machineBefore - (stats.cpuSeconds(self) - selfBefore);
        otherCpuSeconds.add(Math.max(0, Math.round(other * stats.ticksPerSecond()) / stats.ticksPerSecond())); // whole clock ticks, as /proc counts
        return burst;
    }

    /** One burst from this run's spawner; returns its stretch once every task ran exactly once. */
    private Span burst() throws InterruptedException {
        int[] runs = new int[fibers];
        if (spawner == Spawner.PLATFORM) {
            return spawnAndJoin(runs);
        }
        AtomicReference<Object> outcome = new AtomicReference<>();
        rt.start(() -> {
            try {
                outcome.set(spawnAndJoin(runs));
            } catch (Throwable e) {
                outcome.set(e);
            }
        }).join();
        if (outcome.get() instanceof Span window) {
            return window;
        }
        throw new IllegalStateException("the spawning " + (rt.isFiber() ? "fiber" : "virtual thread") + " failed", (Throwable) outcome.get());
    }

    /** Starts a task per slot of {@code runs}, each adding 1 to its own, then joins them all and checks each slot is 1. */
    private Span spawnAndJoin(int[] runs) throws InterruptedException {
        Thread[] threads = new Thread[runs.length];
        long start = System.nanoTime();
        for (int i = 0; i < runs.length; i++) {
            int slot = i;
            threads[i] = rt.start(() -> runs[slot]++);
        }
        for (Thread t : threads) {
            t.join();
        }
        Span window = new Span(start, System.nanoTime());
        int wrong = 0;
        for (int r : runs) {
            if (r != 1) {
                wrong++;
            }
        }
        if (wrong > 0) {
            throw new IllegalStateException(wrong + " of " + runs.length + " tasks did not run exactly once");
        }
        return window;
    }

    private void tick() {
        try {
            while (!stopping) {
                long due = System.nanoTime() + TICK.toNanos();
                Thread.sleep(TICK);
                ticks.add(new Span(due, System.nanoTime()));
            }
        } catch (Throwable e) {
            probeFailure.compareAndSet(null, e);
        }
    }

    private void startScopes() {
        try {
            while (!stopping) {
                scopeOwners.add(rt.start(this::scope));
                Thread.sleep(scopeEvery);
            }
        } catch (Throwable e) {
            probeFailure.compareAndSet(null, e);
        }
    }

    private void scope() {
        try {
            long opened = System.nanoTime();
            if (rt.isFiber()) {
                fiberScope(opened);
            } else {
                jdkScope(opened);
            }
            scopes.add(new Span(opened + DEADLINE.toNanos(), System.nanoTime()));
        } catch (Throwable e) {
            probeFailure.compareAndSet(null, e);
        }
    }

    /**
     * A {@link FiberScope} with the deadline: when it passes, the scope cancels (interrupts) its
     * forks, and {@code join} throws {@link FiberTimeoutException} once both have ended; the
     * {@code close} at the end of the block then has nothing left to wait for. Unless both the
     * deadline and the forks' sleep passed before either was acted on (a GC pause longer than the
     * {@value #FORK_SLEEP_MILLIS} ms less the deadline): then the forks' wakeups and the deadline's
     * timer race, and the forks may end first, as they may in {@link #jdkScope}.
     */
    private void fiberScope(long opened) throws InterruptedException {
        List<Fiber<Object>> forks = new ArrayList<>();
        try (FiberScope scope = FiberScope.open(rt.scheduler(), DEADLINE)) {
            for (int i = 0; i < FORKS; i++) {
                forks.add(scope.fork(BurstRun::sleepPastTheDeadline));
            }
            scope.join();
            if (!forksSleptOut(opened)) {
                throw new IllegalStateException("a FiberScope's join returned normally, though its forks sleep past its deadline");
            }
            return;
        } catch (FiberTimeoutException expected) {
            // The deadline passed, as it must.
        }
        for (Fiber<Object> fork : forks) {
            if (!fork.isCancelled() && !forksSleptOut(opened)) {
                throw new IllegalStateException("a fork of a scope whose deadline passed ended " + fork.state() + ", not CANCELLED");
            }
        }
    }

    /**
     * The JDK's closest equivalent without preview APIs (its {@code StructuredTaskScope} is one in
     * JDK 25): an executor of a virtual thread per task, whose {@code invokeAll} with a timeout waits
     * for the forks until the deadline, then cancels (interrupts) those not done, and whose
     * {@code close} waits until every fork has ended, as the scope's join does.
     */
    private static void jdkScope(long opened) throws InterruptedException {
        try (ExecutorService scope = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Callable<Object>> forks = new ArrayList<>();
            for (int i = 0; i < FORKS; i++) {
                forks.add(BurstRun::sleepPastTheDeadline);
            }
            for (Future<Object> fork : scope.invokeAll(forks, DEADLINE.toNanos(), TimeUnit.NANOSECONDS)) {
                if (!fork.isCancelled() && !forksSleptOut(opened)) {
                    throw new IllegalStateException("a fork of a scope whose deadline passed ended " + fork.state() + ", not cancelled");
                }
            }
        }
    }

    /** Whether the forks' whole sleep has passed since the scope opened: then they may end before the deadline is acted on. */
    private static boolean forksSleptOut(long opened) {
        return System.nanoTime() - opened >= FORK_SLEEP.toNanos();
    }

    private static Object sleepPastTheDeadline() throws InterruptedException {
        Thread.sleep(FORK_SLEEP);
        return null;
    }

    /** The measured bursts, one per row, times in seconds since the JVM started. */
    private void printTable(List<Span> measured, List<Span> pauses, GcPauses gc) {
        System.out.println("| burst | from (s) | to (s) | ns/task | other load (%) | GC pauses | total (ms) | longest | ticks | tick p50 (ms) | p99 | max"
                + " | worst tick due at (s) | p99 outside GC | scopes | overrun median (ms) | max | max outside GC |");
        System.out.println("|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
        for (int i = 0; i < measured.size(); i++) {
            Span burst = measured.get(i);
            BurstFigures f = BurstFigures.of(fibers, List.of(burst), otherCpuSeconds.get(i), ticks, scopes, pauses);
            System.out.printf(Locale.ROOT, "| %d | %.3f | %.3f | %.0f | %.0f | %d | %.0f | %.0f | %d | %.2f | %.2f | %.2f | %.3f | %.2f | %d | %.2f | %.2f | %.2f |%n",
                    i + 1, gc.secondsSinceStart(burst.start()), gc.secondsSinceStart(burst.end()), f.nanosPerTask(), f.otherLoadPercent(),
                    f.gcPauses(), ms(f.gcPauseTotal()), ms(f.gcPauseMax()), f.ticks(), ms(f.tickP50()), ms(f.tickP99()),
                    ms(f.tickMax()), worstTickDue(burst, gc), ms(f.tickP99OutsideGc()), f.scopes(), ms(f.overrunMedian()),
                    ms(f.overrunMax()), ms(f.overrunMaxOutsideGc()));
        }
    }

    /** When the latest tick of {@code burst} was due, in seconds since the JVM started; NaN if it had none. */
    private double worstTickDue(Span burst, GcPauses gc) {
        Span worst = null;
        for (Span tick : ticks) {
            if (burst.overlaps(tick) && (worst == null || tick.nanos() > worst.nanos())) {
                worst = tick;
            }
        }
        return worst == null ? Double.NaN : gc.secondsSinceStart(worst.start());
    }

    static double ms(double nanos) {
        return nanos / 1e6;
    }
}
