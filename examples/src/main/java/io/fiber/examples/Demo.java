package io.fiber.examples;

import io.fiber.Fiber;
import io.fiber.FiberConsole;
import io.fiber.FiberPool;
import io.fiber.FiberScheduler;
import io.fiber.FiberScope;
import io.fiber.FiberTimeoutException;
import io.fiber.Fibers;
import io.fiber.channel.Channel;
import io.fiber.channel.ChannelClosedException;
import io.fiber.channel.Select;

import java.io.IOException;
import java.io.PrintStream;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;

/**
 * The demo, the README's first command ({@code ./run demo}): spawns many fibers (200,000 by default)
 * on a scheduler with one carrier loop per core, doing a mix of what fibers are for, all at once:
 *
 * <ul>
 *   <li>sleepers: {@link Fibers#sleep} for a few ms;</li>
 *   <li>pipelines: three producers feed bounded channels, a consumer merges them with a {@link Select};</li>
 *   <li>CPU bits: a hash loop that {@link Fibers#yield}s every few hundred steps;</li>
 *   <li>a {@link FiberPool} that bounds how many tasks of a sub-workload run at once;</li>
 *   <li>a {@link FiberScope} whose deadline cancels its slow fibers (the fast ones finish);</li>
 *   <li>ping-pong pairs handing a turn back and forth with park/unpark.</li>
 * </ul>
 *
 * Then it checks its own results (every count must add up, or it says what is off and exits 1) and
 * prints a short summary with the scheduler's per-carrier statistics.
 *
 * <p>Second, a load run ({@link ServerLoad}): the {@link EchoServerExample} and the
 * {@link HttpServerExample}, on fibers, under a few seconds of load each from client threads of this
 * JVM, with throughput, latency percentiles and whether the agent rerouted the servers' socket
 * waits. The HTTP load includes {@code GET /db} requests, each a query of the demo's database
 * ({@link DemoDatabase}: in-memory H2, or the database {@code --db URL} names) whose answer the
 * client checks. {@code --load-seconds 0} skips it.
 *
 * <p>Third, the same unmodified thread-per-connection server ({@link ClassicServer}) without the agent
 * and under it with {@code threads=fibers}, under a burst of connections
 * ({@link UnmodifiedServerShowcase}); {@code --unmodified-connections 0} skips it.
 *
 * <p>Last, with {@code --show-detector}: an HTTP handler that reads a file on its fiber, and the
 * blocking-call detector's report of it ({@link DetectorShowcase}).
 *
 * <p>All along, the live console ({@link FiberConsole}) serves a page on 127.0.0.1 (port
 * {@value #CONSOLE_PORT}, or a free one), whose address the demo prints first.
 *
 * <p>{@link #run} does the work and returns the exit code, so the tests can run the demo in-process.
 */
public final class Demo {
    static final int DEFAULT_FIBERS = 200_000;
    /** The live console's port, when free; docs/examples.md names it. */
    static final int CONSOLE_PORT = 8700;
    static final int MIN_FIBERS = 100;
    static final int DEFAULT_LOAD_SECONDS = 3;
    static final int MAX_LOAD_SECONDS = 600;
    static final int DEFAULT_UNMODIFIED_CONNECTIONS = 2_000;
    static final int MAX_UNMODIFIED_CONNECTIONS = 10_000;
    static final String OPTIONS = "--fibers N (default " + DEFAULT_FIBERS + ", at least " + MIN_FIBERS + "), "
            + "--carriers N (default: one per core), "
            + "--load-seconds N (measured seconds per server, default " + DEFAULT_LOAD_SECONDS + ", 0 skips the load run), "
            + DemoDatabase.Settings.OPTIONS + ", "
            + "--unmodified-connections N (connections at once to the unmodified thread-per-connection server, default "
            + DEFAULT_UNMODIFIED_CONNECTIONS + ", at most " + MAX_UNMODIFIED_CONNECTIONS + ", 0 skips it), "
            + "--show-detector (an HTTP handler reads a file on a fiber; prints the detector's report), --help";

    private static final int SLEEP_MAX_MS = 5;
    private static final int PRODUCERS = 3;            // per pipeline, each with its own channel
    private static final int ITEMS = 20;               // per producer
    private static final int CPU_STEPS = 2_000;
    private static final int CPU_YIELD_EVERY = 500;
    private static final int POOL_SIZE = 100;
    private static final Duration SCOPE_DEADLINE = Duration.ofMillis(250);
    private static final int PING_PONG_ROUNDS = 20;
    private static final Duration HANG_LIMIT = Duration.ofSeconds(60);

    private Demo() { }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs the demo; returns the exit code: 0 all checks passed, 1 a check failed, 2 bad usage. */
    static int run(String[] args, PrintStream out, PrintStream err) {
        Options options;
        try {
            options = Options.parse(args);
        } catch (IllegalArgumentException e) {
            err.println("demo: " + e.getMessage());
            err.println("valid options: " + OPTIONS);
            return 2;
        }
        if (options.help) {
            out.println("usage: ./run demo [options]   spawns many fibers doing a mixed workload, then puts an echo"
                    + " and an HTTP server (with a database endpoint) on fibers under load, then runs an unmodified"
                    + " thread-per-connection server without and with the agent; checks and summarises each");
            out.println("options: " + OPTIONS);
            return 0;
        }
        FiberConsole console = startConsole(out);
        try {
            int exit = new Demo.Workload(options, out).runAndCheck();
            if (options.loadSeconds > 0) {
                exit = Math.max(exit, new ServerLoad(options.carriers, Duration.ofSeconds(options.loadSeconds), options.database, out)
                        .runAndCheck());
            }
            if (options.unmodifiedConnections > 0) {
                exit = Math.max(exit, UnmodifiedServerShowcase.run(options.unmodifiedConnections,
                        UnmodifiedServerShowcase.agentJarOfThisJvm(), out));
            }
            if (options.showDetector) {
                exit = Math.max(exit, DetectorShowcase.run(options.carriers, out));
            }
            return exit;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            err.println("demo: interrupted");
            return 1;
        } catch (IOException e) {
            err.println("demo: the load run could not start its servers or clients: " + e);
            return 1;
        } catch (SQLException e) {
            err.println("demo: " + e.getMessage());
            return 1;
        } finally {
            if (console != null) {
                console.close();
            }
        }
    }

    /**
     * Starts the live console on {@value #CONSOLE_PORT}, or on a free port when another program has
     * that one, and says where and what it shows; returns it to close at the end, or null when the
     * agent's {@code console=} started one already (then that one is named) or none could start.
     */
    private static FiberConsole startConsole(PrintStream out) {
        FiberConsole console = null;
        FiberConsole shown = FiberConsole.running().orElse(null);
        if (shown == null) {
            for (int port : new int[] {CONSOLE_PORT, 0}) {
                try {
                    console = FiberConsole.start(port);
                    break;
                } catch (IOException taken) {
                    // the fixed port is another program's (another demo's, say): any free one then
                }
            }
            shown = console;
        }
        if (shown == null) {
            out.println("live console: could not start (no free port on the loopback address)");
        } else {
            out.println("live console while the demo runs: " + shown.uri() + " (each scheduler's carriers with their queues"
                    + " and busy time, its fibers by state and stack, the detector's reports, live plots)");
        }
        return console;
    }

    /** Command line options; {@link #parse} throws IllegalArgumentException with a message for the user. */
    record Options(int fibers, int carriers, int loadSeconds, DemoDatabase.Settings database, int unmodifiedConnections,
                   boolean showDetector, boolean help) {
        static Options parse(String[] args) {
            int fibers = DEFAULT_FIBERS;
            int carriers = Runtime.getRuntime().availableProcessors();
            int loadSeconds = DEFAULT_LOAD_SECONDS;
            int unmodifiedConnections = DEFAULT_UNMODIFIED_CONNECTIONS;
            DemoDatabase.Settings database = DemoDatabase.Settings.IN_MEMORY_H2;
            boolean help = false;
            boolean showDetector = false;
            for (int i = 0; i < args.length; i++) {
                String arg = args[i];
                String value = null;
                int eq = arg.indexOf('=');
                if (arg.startsWith("--") && eq > 0) {
                    value = arg.substring(eq + 1);
                    arg = arg.substring(0, eq);
                }
                switch (arg) {
                    case "--help", "-h" -> help = true;
                    case "--show-detector" -> showDetector = true;
                    case "--fibers", "--carriers", "--load-seconds", "--unmodified-connections" -> {
                        if (value == null) {
                            if (i + 1 == args.length) {
                                throw new IllegalArgumentException("option " + arg + " needs a number");
                            }
                            value = args[++i];
                        }
                        int n = number(arg, value);
                        switch (arg) {
                            case "--fibers" -> fibers = inRange(arg, n, MIN_FIBERS, Integer.MAX_VALUE);
                            case "--carriers" -> carriers = inRange(arg, n, 1, Integer.MAX_VALUE);
                            case "--unmodified-connections" -> unmodifiedConnections = inRange(arg, n, 0, MAX_UNMODIFIED_CONNECTIONS);
                            default -> loadSeconds = inRange(arg, n, 0, MAX_LOAD_SECONDS);
                        }
                    }
                    case "--db", "--db-user", "--db-password" -> {
                        if (value == null) {
                            if (i + 1 == args.length) {
                                throw new IllegalArgumentException("option " + arg + " needs a value");
                            }
                            value = args[++i];
                        }
                        database = database.with(arg, value);
                    }
                    default -> throw new IllegalArgumentException("unknown option '" + args[i] + "'");
                }
            }
            return new Options(fibers, carriers, loadSeconds, database.checked(), unmodifiedConnections, showDetector, help);
        }

        private static int inRange(String option, int n, int min, int max) {
            if (n < min || n > max) {
                throw new IllegalArgumentException(option + " must be at " + (n < min ? "least " + min : "most " + max) + ", got " + n);
            }
            return n;
        }

        private static int number(String option, String value) {
            try {
                return Integer.parseInt(value.replace("_", "").replace(",", ""));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("option " + option + " needs a number, got '" + value + "'");
            }
        }
    }

    /** One run: sizes the workloads from the fiber count, spawns them, waits, checks, prints. */
    private static final class Workload {
        private final Options options;
        private final PrintStream out;
        private final List<String> problems = new ArrayList<>();
        private final List<Fiber<?>> topLevel = new ArrayList<>();

        // How the fibers are shared out; the sleepers take what is left, so the total is exact.
        private final int scopeFast;
        private final int scopeSlow;
        private final int poolTasks;
        private final int pipelines;
        private final int pingPongPairs;
        private final int cpuFibers;
        private final int sleepers;

        private final LongAdder slept = new LongAdder();
        private final AtomicLong sleepLateMax = new AtomicLong();
        private final LongAdder yields = new LongAdder();
        private final LongAdder handoffs = new LongAdder();
        private final AtomicInteger poolRunning = new AtomicInteger();
        private final AtomicInteger poolPeak = new AtomicInteger();
        private final LongAdder poolDone = new LongAdder();

        Workload(Options options, PrintStream out) {
            this.options = options;
            this.out = out;
            int n = options.fibers;
            int scope = Math.min(201, Math.max(5, n / 100)); // 1 owner + fast + slow: few enough to fit a carrier's local queue
            scopeFast = (scope - 1) / 2;
            scopeSlow = scope - 1 - scopeFast;
            poolTasks = n / 10 - 1;                     // + 1 coordinator
            pipelines = n / 10 / (PRODUCERS + 1);       // a consumer + its producers
            pingPongPairs = n / 10 / 2;
            cpuFibers = n / 5;
            sleepers = n - scope - (poolTasks + 1) - pipelines * (PRODUCERS + 1) - pingPongPairs * 2 - cpuFibers;
        }

        int runAndCheck() throws InterruptedException {
            FiberScheduler scheduler = FiberScheduler.builder().name("demo").carriers(options.carriers).build();
            long start = System.nanoTime();

            Fiber<ScopeResult> scope = spawn(scheduler, this::scopeWithDeadline); // first: its deadline is short
            spawn(scheduler, this::poolOfTasks);
            List<Fiber<Long>> merged = new ArrayList<>(pipelines);
            for (int p = 0; p < pipelines; p++) {
                merged.add(spawn(scheduler, this::pipeline));
            }
            List<int[]> pairs = new ArrayList<>(pingPongPairs);
            for (int p = 0; p < pingPongPairs; p++) {
                pairs.add(pingPong(scheduler));
            }
            List<Fiber<Long>> hashes = new ArrayList<>(cpuFibers);
            for (int i = 0; i < cpuFibers; i++) {
                long seed = i + 1;
                hashes.add(spawn(scheduler, () -> hash(seed, true)));
            }
            for (int i = 0; i < sleepers; i++) {
                Duration d = Duration.ofMillis(1 + i % SLEEP_MAX_MS);
                spawn(scheduler, () -> {
                    long t0 = System.nanoTime();
                    Fibers.sleep(d);
                    sleepLateMax.accumulateAndGet(System.nanoTime() - t0 - d.toNanos(), Math::max);
                    slept.increment();
                    return null;
                });
            }

            if (!awaitAll()) {
                int cancelled = scheduler.shutdownNow();
                out.println("FAILED: fibers still running after " + HANG_LIMIT.toSeconds() + " s (" + cancelled
                        + " cancelled)\n" + scheduler.stats());
                return 1;
            }
            scheduler.shutdown();
            if (!scheduler.awaitTermination(Duration.ofSeconds(10))) {
                problems.add("scheduler did not terminate after every fiber ended: " + scheduler);
            }
            double seconds = (System.nanoTime() - start) / 1e9;

            ScopeResult s = scope.isFailed() ? null : join(scope);
            check(scheduler, s, merged, pairs, hashes);
            report(scheduler, s, seconds);
            return problems.isEmpty() ? 0 : 1;
        }

        // ---- the workloads ------------------------------------------------------------------

        /**
         * Fast fibers finish, slow ones are still asleep when the deadline passes and get cancelled.
         * The fast ones compute rather than sleep: the few forks land in this carrier's local queue
         * and run at once, whereas a timer's wakeup joins the scheduler's global queue behind the
         * whole spawn burst from main and may come later than the deadline.
         */
        private ScopeResult scopeWithDeadline() {
            LongAdder fastDone = new LongAdder();
            LongAdder slowDone = new LongAdder();
            List<Fiber<Void>> fast = new ArrayList<>();
            List<Fiber<Void>> slow = new ArrayList<>();
            boolean timedOut = false;
            long start = System.nanoTime();
            try (FiberScope scope = FiberScope.open(SCOPE_DEADLINE)) {
                for (int i = 0; i < scopeFast; i++) {
                    long seed = i + 1;
                    fast.add(scope.fork(() -> {
                        hash(seed, false);
                        fastDone.increment();
                        return null;
                    }));
                }
                for (int i = 0; i < scopeSlow; i++) {
                    slow.add(scope.fork(() -> {
                        Fibers.sleep(Duration.ofSeconds(30));
                        slowDone.increment();
                        return null;
                    }));
                }
                scope.join();
            } catch (FiberTimeoutException e) {
                timedOut = true;
            } catch (InterruptedException e) {
                throw new IllegalStateException("scope owner interrupted", e);
            }
            long ms = (System.nanoTime() - start) / 1_000_000;
            return new ScopeResult(timedOut, ms, fastDone.sum(), count(fast, Fiber.State.SUCCEEDED),
                    slowDone.sum(), count(slow, Fiber.State.CANCELLED));
        }

        record ScopeResult(boolean timedOut, long ms, long fastDone, long fastSucceeded, long slowDone, long slowCancelled) { }

        /** A coordinator fiber pushes its tasks through a pool; spawn waits while the pool is full. */
        private Void poolOfTasks() throws InterruptedException {
            try (FiberPool pool = new FiberPool(POOL_SIZE)) {
                for (int i = 0; i < poolTasks; i++) {
                    pool.spawn(() -> {
                        poolPeak.accumulateAndGet(poolRunning.incrementAndGet(), Math::max);
                        Fibers.yield();
                        poolRunning.decrementAndGet();
                        poolDone.increment();
                    });
                }
            }
            return null;
        }

        /** Producers send 1..ITEMS each into their own bounded channel; this consumer merges them all. */
        private long pipeline() throws InterruptedException {
            List<Channel<Integer>> channels = new ArrayList<>();
            List<Fiber<Void>> producers = new ArrayList<>();
            for (int p = 0; p < PRODUCERS; p++) {
                Channel<Integer> ch = Channel.bounded(4);
                channels.add(ch);
                producers.add(Fibers.spawn(() -> {
                    try {
                        for (int k = 1; k <= ITEMS; k++) {
                            ch.send(k);
                        }
                    } catch (InterruptedException e) {
                        throw new IllegalStateException(e);
                    } finally {
                        ch.close();
                    }
                }));
            }
            long sum = 0;
            try {
                for (;;) {
                    // A receive case whose channel is closed and drained is disabled; once all are, await throws.
                    Select<Integer> select = Select.create();
                    for (Channel<Integer> ch : channels) {
                        select.onReceive(ch, v -> v);
                    }
                    sum += select.await();
                }
            } catch (ChannelClosedException allDrained) {
                // every producer is done
            }
            for (Fiber<Void> producer : producers) {
                producer.get();
            }
            return sum;
        }

        /**
         * Two fibers hand a turn back and forth with park/unpark. Each publishes its thread before it
         * first reads the turn, and the other reads that thread after writing the turn (both volatile),
         * so either the unpark finds the thread or the thread sees its turn: no wakeup is lost.
         * Returns the pair's per-side round counters.
         */
        private int[] pingPong(FiberScheduler scheduler) {
            AtomicInteger turn = new AtomicInteger();
            AtomicReferenceArray<Thread> threads = new AtomicReferenceArray<>(2);
            int[] rounds = new int[2];
            for (int side = 0; side < 2; side++) {
                int me = side;
                spawn(scheduler, () -> {
                    threads.set(me, Thread.currentThread());
                    for (int r = 0; r < PING_PONG_ROUNDS; r++) {
                        while (turn.get() != me) {
                            LockSupport.park();
                        }
                        turn.set(1 - me);
                        Thread other = threads.get(1 - me);
                        if (other != null) {
                            LockSupport.unpark(other);
                        }
                        rounds[me]++;
                        handoffs.increment();
                    }
                    return null;
                });
            }
            return rounds;
        }

        /** xorshift64 over CPU_STEPS steps; yields every CPU_YIELD_EVERY steps when in a fiber. */
        private long hash(long seed, boolean yield) {
            long h = seed;
            for (int i = 1; i <= CPU_STEPS; i++) {
                h ^= h << 13;
                h ^= h >>> 7;
                h ^= h << 17;
                if (yield && i % CPU_YIELD_EVERY == 0) {
                    Fibers.yield();
                    yields.increment();
                }
            }
            return h;
        }

        // ---- waiting, checking, reporting ---------------------------------------------------

        private <T> Fiber<T> spawn(FiberScheduler scheduler, Callable<T> task) {
            Fiber<T> f = scheduler.spawn(task);
            topLevel.add(f);
            return f;
        }

        /** Joins every fiber main spawned (their children are joined by them); false on a hang. */
        private boolean awaitAll() throws InterruptedException {
            long deadline = System.nanoTime() + HANG_LIMIT.toNanos();
            for (Fiber<?> f : topLevel) {
                long left = deadline - System.nanoTime();
                if (left <= 0 || !f.join(Duration.ofNanos(left))) {
                    return false;
                }
            }
            return true;
        }

        private void check(FiberScheduler scheduler, ScopeResult s, List<Fiber<Long>> merged,
                           List<int[]> pairs, List<Fiber<Long>> hashes) {
            long failed = topLevel.stream().filter(Fiber::isFailed).count();
            if (failed > 0) {
                Fiber<?> first = topLevel.stream().filter(Fiber::isFailed).findFirst().orElseThrow();
                problems.add(failed + " fibers failed, the first with " + first.failure());
            }
            var stats = scheduler.stats();
            expect("fibers spawned", options.fibers, stats.fibersSpawned());
            expect("fibers alive at the end", 0, stats.fibersAlive());
            expect("sleepers woken", sleepers, slept.sum());

            long expectedSum = (long) PRODUCERS * ITEMS * (ITEMS + 1) / 2;
            long wrongSums = merged.stream().filter(f -> !f.isFailed() && join(f) != expectedSum).count();
            expect("pipelines whose merged sum is wrong", 0, wrongSums);

            long wrongHashes = 0;
            for (int i = 0; i < hashes.size(); i++) {
                Fiber<Long> f = hashes.get(i);
                if (f.isFailed() || join(f) != hash(i + 1, false)) {
                    wrongHashes++;
                }
            }
            expect("CPU fibers with a wrong hash", 0, wrongHashes);
            expect("yields", (long) cpuFibers * (CPU_STEPS / CPU_YIELD_EVERY), yields.sum());

            expect("pool tasks done", poolTasks, poolDone.sum());
            if (poolPeak.get() > POOL_SIZE) {
                problems.add("pool ran " + poolPeak.get() + " tasks at once, more than its size " + POOL_SIZE);
            }

            if (s == null) {
                problems.add("the scope fiber failed: " + topLevel.getFirst().failure());
            } else {
                if (!s.timedOut) {
                    problems.add("the scope's join did not report its deadline");
                }
                expect("fast scope fibers finished", scopeFast, s.fastDone);
                expect("fast scope fibers succeeded", scopeFast, s.fastSucceeded);
                expect("slow scope fibers that finished anyway", 0, s.slowDone);
                expect("slow scope fibers cancelled", scopeSlow, s.slowCancelled);
            }

            long incomplete = pairs.stream().filter(r -> r[0] != PING_PONG_ROUNDS || r[1] != PING_PONG_ROUNDS).count();
            expect("ping-pong pairs short of rounds", 0, incomplete);
            expect("ping-pong hand-offs", 2L * PING_PONG_ROUNDS * pingPongPairs, handoffs.sum());
        }

        private void expect(String what, long expected, long actual) {
            if (expected != actual) {
                problems.add(what + ": expected " + fmt(expected) + ", got " + fmt(actual));
            }
        }

        private void report(FiberScheduler scheduler, ScopeResult s, double seconds) {
            int n = options.fibers;
            out.printf(Locale.ROOT, "fiber demo: %,d fibers on %s%n", n, scheduler.usesOwnCarriers()
                    ? scheduler.carrierCount() + " carriers; fibers run on our own carriers: yes"
                    : "the JDK's default scheduler; fibers run on our own carriers: NO (launch with"
                      + " --add-opens java.base/java.lang=ALL-UNNAMED, as ./run demo does)");
            out.printf(Locale.ROOT, "  sleepers   %,9d fibers slept 1-%d ms each, woke at most %,d ms late%n",
                    sleepers, SLEEP_MAX_MS, sleepLateMax.get() / 1_000_000);
            out.printf(Locale.ROOT, "  pipelines  %,9d consumers, each Selecting over %d producers' channels: %,d items%n",
                    pipelines, PRODUCERS, (long) pipelines * PRODUCERS * ITEMS);
            out.printf(Locale.ROOT, "  cpu        %,9d fibers hashed %,d steps each, %,d yields%n",
                    cpuFibers, CPU_STEPS, yields.sum());
            out.printf(Locale.ROOT, "  pool       %,9d tasks through a FiberPool of %d, at most %d at once%n",
                    poolTasks, POOL_SIZE, poolPeak.get());
            if (s != null) {
                out.printf(Locale.ROOT, "  scope      %,9d fibers, deadline %d ms: %,d fast ones finished, %,d slow ones cancelled (scope over after %,d ms)%n",
                        scopeFast + scopeSlow, SCOPE_DEADLINE.toMillis(), s.fastSucceeded, s.slowCancelled, s.ms);
            }
            out.printf(Locale.ROOT, "  ping-pong  %,9d pairs, %,d park/unpark hand-offs%n", pingPongPairs, handoffs.sum());
            out.printf(Locale.ROOT, "%,d fibers spawned in %.2f s: %,.0f fibers/s%n", n, seconds, n / seconds);
            out.print(scheduler.stats());
            if (problems.isEmpty()) {
                out.println("OK: every count adds up");
            } else {
                for (String p : problems) {
                    out.println("FAILED: " + p);
                }
            }
        }

        private static long count(List<Fiber<Void>> fibers, Fiber.State state) {
            return fibers.stream().filter(f -> f.state() == state).count();
        }

        private static <T> T join(Fiber<T> f) {
            try {
                return f.get();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        }

        private static String fmt(long n) {
            return String.format(Locale.ROOT, "%,d", n);
        }
    }
}
