package io.fiber;

import io.fiber.detector.BlockingCall;
import io.fiber.detector.BlockingCallDetector;
import io.fiber.detector.BlockingCategory;
import io.fiber.internal.Settings;
import io.fiber.internal.console.ConsoleServer;
import io.fiber.internal.console.Json;
import io.fiber.internal.dump.FiberDump;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The live console: a small web page that shows every scheduler of this JVM as it runs (its
 * carriers with their queues and busy time, its groups, its fibers by state and grouped by stack),
 * the blocking-call detector's reports, handoffs, and plots of throughput, scheduling delay and
 * carrier load, updating by itself (docs/observability.md, "Live console").
 * <pre>{@code
 * FiberConsole console = FiberConsole.start(8700);      // http://127.0.0.1:8700/
 * }</pre>
 * Under the agent, {@code -javaagent:fiber-agent.jar=console=8700} starts one before the program
 * does; {@link #running()} finds it.
 *
 * <p>It is served by the JDK's {@code com.sun.net.httpserver} on platform daemon threads of its own,
 * never on the carriers and never as fibers, so it answers while the carriers are stuck, and never
 * keeps the JVM alive. It listens on loopback unless told otherwise; any other address needs a
 * token, which every request must then present.
 */
public final class FiberConsole implements AutoCloseable {
    /** Detector reports kept for the page, the latest ones. */
    static final int RECENT_REPORTS = 64;
    /** Frames of a report's stack the page gets. */
    static final int REPORT_FRAMES = 40;
    private static final CopyOnWriteArrayList<FiberConsole> RUNNING = new CopyOnWriteArrayList<>();

    private final ConsoleServer server;

    private FiberConsole(ConsoleServer server) {
        this.server = server;
    }

    /**
     * Serves the console on {@code port} of the loopback address (0: a free port, which
     * {@link #address()} then gives), reachable from this machine only.
     *
     * @throws IOException when it cannot listen there, such as a port another program holds
     */
    public static FiberConsole start(int port) throws IOException {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("the console's port must be from 0 (a free one) to 65535, got " + port);
        }
        return start(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), null);
    }

    /**
     * Serves the console on {@code address}. A loopback address may go without a token (null); any
     * other address needs one, of at least {@value Settings#MIN_CONSOLE_TOKEN_LENGTH} characters,
     * letters, digits and {@code - . _ ~}: a request must then present it, as
     * {@code Authorization: Bearer TOKEN} or by opening {@code /?token=TOKEN} once (the browser keeps
     * it in a cookie).
     *
     * @throws IllegalArgumentException for a non-loopback address without a token, or a bad token
     * @throws IOException when it cannot listen there
     */
    public static FiberConsole start(InetSocketAddress address, String token) throws IOException {
        if (address == null || address.isUnresolved()) {
            throw new IllegalArgumentException("the console needs a resolved address to listen on, got " + address);
        }
        if (token != null) {
            try {
                Settings.CONSOLE_TOKEN.parse(token, Settings.Source.SYSTEM_PROPERTY);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("the console's token is invalid: it must be " + Settings.CONSOLE_TOKEN.grammar());
            }
        }
        String refused = Settings.consoleNeedsToken(address, token,
                "pass one (FiberConsole.start(address, token)), or listen on a loopback address");
        if (refused != null) {
            throw new IllegalArgumentException(refused);
        }
        RecentReports.listen();
        FiberConsole console = new FiberConsole(ConsoleServer.start(address, token, new Snapshots()));
        RUNNING.add(console);
        return console;
    }

    /** The first console started in this JVM and not closed (the agent's, with {@code console=}), if any. */
    public static Optional<FiberConsole> running() {
        return RUNNING.stream().findFirst();
    }

    /** The address it listens on, with the port chosen when 0 was asked. */
    public InetSocketAddress address() {
        return server.address();
    }

    /**
     * The page's address, {@code http://HOST:PORT/}: for a console on every interface, the loopback
     * one. Without its token, which a console that has one needs ({@code ?token=}).
     */
    public URI uri() {
        return server.uri();
    }

    /** Stops serving. Idempotent. */
    @Override
    public void close() {
        RUNNING.remove(this);
        server.close();
    }

    @Override
    public String toString() {
        return "FiberConsole[" + uri() + (server.hasToken() ? ", with a token" : "") + "]";
    }

    /**
     * The detector's latest reports, for every console of the JVM: a ring written by a lock-free
     * claim of a slot, since the listener runs on the thread that made the call, often a fiber on its
     * carrier, and must not wait there. Listening starts with the first console, so the page shows
     * the reports made from then on (under the agent's {@code console=}, from start-up).
     */
    private static final class RecentReports {
        private static final AtomicReferenceArray<BlockingCall> RING = new AtomicReferenceArray<>(RECENT_REPORTS);
        private static final AtomicLong WRITTEN = new AtomicLong();
        private static volatile boolean listening;

        static void listen() {
            if (listening) {
                return;
            }
            synchronized (RecentReports.class) {
                if (!listening) {
                    BlockingCallDetector.get().addListener(call -> RING.set((int) (WRITTEN.getAndIncrement() % RECENT_REPORTS), call));
                    listening = true;
                }
            }
        }

        /** How many reports were made since listening began. */
        static long written() {
            return WRITTEN.get();
        }

        /** The latest reports, newest first. */
        static List<BlockingCall> latest() {
            long end = WRITTEN.get();
            java.util.ArrayList<BlockingCall> calls = new java.util.ArrayList<>();
            for (long i = end - 1; i >= Math.max(0, end - RECENT_REPORTS); i--) {
                BlockingCall call = RING.get((int) (i % RECENT_REPORTS));
                if (call != null) {
                    calls.add(call);
                }
            }
            calls.sort((a, b) -> b.time().compareTo(a.time()));
            return calls;
        }
    }

    /** What the page polls, from {@link FiberScheduler#all()}, their {@code stats()}, dumps, and the detector. */
    private static final class Snapshots implements ConsoleServer.Source {
        @Override
        public void snapshot(Json out) {
            out.beginObject();
            out.field("time", System.currentTimeMillis());
            out.field("nanos", System.nanoTime()); // the page's rates divide by this clock, not by its own timers
            out.field("pid", ProcessHandle.current().pid());
            out.field("java", Runtime.version().toString());
            out.field("processors", Runtime.getRuntime().availableProcessors());
            out.name("schedulers").beginArray();
            for (FiberScheduler scheduler : FiberScheduler.all()) {
                scheduler(scheduler, out);
            }
            out.endArray();
            detector(out);
            out.endObject();
        }

        private static void scheduler(FiberScheduler scheduler, Json out) {
            SchedulerStats stats = scheduler.stats();
            long runs = 0;
            long busy = 0;
            long idle = 0;
            long handoffs = 0;
            long yieldRequests = 0;
            for (CarrierStats c : stats.carriers()) {
                runs += c.runs();
                busy += c.busyNanos();
                idle += c.idleNanos();
                handoffs += c.handoffs();
                yieldRequests += c.yieldRequests();
            }
            out.beginObject();
            out.field("id", id(scheduler));
            out.field("name", stats.name());
            out.field("ownCarriers", stats.ownCarriers());
            out.field("shutdown", scheduler.isShutdown());
            out.field("fibersSpawned", stats.fibersSpawned());
            out.field("fibersAlive", stats.fibersAlive());
            out.field("fibersEnded", Math.max(0, stats.fibersSpawned() - stats.fibersAlive()));
            out.field("parks", stats.parks());
            out.field("runs", runs);
            out.field("steals", stats.steals());
            out.field("ioWaits", stats.ioWaits());
            out.field("timers", stats.timers());
            out.field("handoffs", handoffs);
            out.field("yieldRequests", yieldRequests);
            out.field("busyNanos", busy);
            out.field("idleNanos", idle);
            out.field("injectDepth", stats.injectDepth());
            out.field("offloadedCalls", stats.blockingCalls());
            out.field("offloadThreads", stats.blockingThreads());
            out.field("offloadQueued", stats.blockingQueued());
            histogram("schedulingDelay", stats.schedulingDelay(), out);
            out.name("carriers").beginArray();
            for (CarrierStats c : stats.carriers()) {
                out.beginObject().field("name", c.name()).field("queueDepth", c.queueDepth()).field("runs", c.runs())
                        .field("stolen", c.stolen()).field("sleeps", c.sleeps()).field("ioWaits", c.ioWaits())
                        .field("skippedReads", c.skippedReads()).field("timers", c.timers()).field("handoffs", c.handoffs())
                        .field("yieldRequests", c.yieldRequests()).field("busyNanos", c.busyNanos())
                        .field("idleNanos", c.idleNanos()).field("wakeups", c.wakeups()).field("pendingTimers", c.pendingTimers())
                        .field("delayP99Nanos", c.schedulingDelay().percentileNanos(99)).endObject();
            }
            out.endArray();
            out.name("groups").beginArray();
            for (FiberGroupStats g : stats.groups()) {
                out.beginObject().field("name", g.name()).field("weight", g.weight())
                        .field("maxConcurrent", g.maxConcurrent() == Integer.MAX_VALUE ? -1 : g.maxConcurrent())
                        .field("spawned", g.spawned()).field("running", g.running()).field("waiting", g.waiting())
                        .field("finished", g.finished()).field("runs", g.runs()).field("runNanos", g.runTime().toNanos())
                        .field("queueDepth", g.queueDepth()).endObject();
            }
            out.endArray();
            out.endObject();
        }

        /**
         * A scheduling-delay histogram as it is, counts since the start: the page subtracts the
         * previous snapshot's for each interval's percentiles ({@link DelayHistogram#minus}).
         */
        private static void histogram(String name, DelayHistogram h, Json out) {
            out.name(name).beginObject();
            out.field("sampleEvery", DelayHistogram.SAMPLE_EVERY);
            out.field("totalNanos", h.totalNanos()).field("maxNanos", h.maxNanos());
            out.field("p50Nanos", h.percentileNanos(50)).field("p99Nanos", h.percentileNanos(99));
            out.name("upperBoundsNanos").beginArray();
            for (long bound : DelayHistogram.upperBoundsNanos()) {
                out.value(bound);
            }
            out.endArray();
            out.name("counts").beginArray();
            for (long count : h.counts()) {
                out.value(count);
            }
            out.endArray();
            out.endObject();
        }

        private static void detector(Json out) {
            BlockingCallDetector detector = BlockingCallDetector.get();
            out.name("detector").beginObject();
            out.field("available", detector.isAvailable());
            out.field("mode", detector.mode().name());
            out.field("reports", RecentReports.written());
            out.name("counts").beginObject();
            for (BlockingCategory category : BlockingCategory.values()) {
                out.field(category.name(), detector.flaggedCount(category));
            }
            out.endObject();
            out.name("recent").beginArray();
            for (BlockingCall call : RecentReports.latest()) {
                out.beginObject().field("time", call.time().toEpochMilli()).field("method", call.method())
                        .field("category", call.category().name()).field("description", call.category().description())
                        .field("thread", call.threadName()).field("fiber", call.fiber()).field("carrier", call.carrier())
                        .field("detail", call.detail());
                out.name("stack").beginArray();
                StackTraceElement[] stack = call.stackTrace();
                for (int i = 0; i < Math.min(stack.length, REPORT_FRAMES); i++) {
                    out.value(stack[i].toString());
                }
                out.endArray();
                out.field("moreFrames", Math.max(0, stack.length - REPORT_FRAMES));
                out.endObject();
            }
            out.endArray();
            out.endObject();
        }

        /** Its name, told apart from other schedulers of the same name as its MXBean's is ({@code "name #2"}). */
        private static String id(FiberScheduler scheduler) {
            return javax.management.ObjectName.unquote(scheduler.managementName().getKeyProperty("name"));
        }

        @Override
        public boolean fibers(String wanted, int top, Json out) {
            FiberScheduler scheduler = null;
            for (FiberScheduler s : FiberScheduler.all()) {
                if (wanted == null || id(s).equals(wanted)) {
                    scheduler = s;
                    break;
                }
            }
            if (scheduler == null) {
                return false;
            }
            FiberDump.Summary dump = FiberDump.summary(scheduler.name(), scheduler.carriers(), top);
            out.beginObject();
            out.field("id", id(scheduler));
            out.field("scheduler", dump.scheduler());
            out.field("time", dump.time().toEpochMilli());
            out.field("alive", dump.alive());
            out.field("distinct", dump.distinct());
            out.field("lockOwnersKnown", dump.lockOwnersKnown());
            out.name("carriers").beginArray();
            for (FiberDump.CarrierState c : dump.carriers()) {
                out.beginObject().field("name", c.name()).field("running", c.running()).field("queued", c.queued()).endObject();
            }
            out.endArray();
            out.name("largest").beginArray();
            for (FiberDump.Alike alike : dump.largest()) {
                out.beginObject().field("count", alike.count()).field("state", String.valueOf(alike.state()))
                        .field("minAgeNanos", alike.minAgeNanos()).field("maxAgeNanos", alike.maxAgeNanos())
                        .field("waitsOn", alike.waitsOn()).field("group", alike.group());
                out.name("names").beginArray();
                for (String n : alike.names()) {
                    out.value(n);
                }
                out.endArray();
                out.name("frames").beginArray();
                for (StackTraceElement frame : alike.frames()) {
                    out.value(frame.toString());
                }
                out.endArray();
                out.endObject();
            }
            out.endArray();
            out.endObject();
            return true;
        }
    }
}
