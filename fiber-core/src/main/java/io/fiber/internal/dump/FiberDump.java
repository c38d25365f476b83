package io.fiber.internal.dump;

import io.fiber.internal.carrier.Carriers;
import io.fiber.internal.carrier.FiberTask;
import io.fiber.internal.group.Group;
import io.fiber.internal.jdk.LockOwners;

import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;

/**
 * A scheduler's fibers as text, grouped as Go's goroutine profile groups them: fibers in the same
 * state, waiting on the same object, in the same group, with the same stack are one entry with a
 * count and a few names, so a million fibers parked in a handful of places fit on a page. Only the
 * distinct entries are kept while the fibers are walked (each stack is dropped once counted), and the
 * text goes to the caller's {@link Appendable} as it is made.
 *
 * <p>What a fiber waits on: the object it parked on ({@code LockSupport.getBlocker}: a lock's
 * synchronizer, a condition, a latch), with the lock's owner when it has one and owners are
 * readable ({@link LockOwners}); a socket it waits for in a carrier's reactor (the fd with each
 * name, the direction in the entry); a timer of a carrier's that wakes it (a sleep, a timed park),
 * with when it is due. Otherwise the wait shows in the stack's top frames (a join, a wait on the
 * JDK's own poller or timer without the agent). Each entry says how long its fibers have been in
 * their state ({@code FiberTask#nanosInState}, to within the watchdog's 1 to 10 ms clock). A fiber
 * running at the moment of the dump is listed with its carrier.
 */
public final class FiberDump {
    /** Frames printed per entry; deeper ones are counted. */
    static final int MAX_FRAMES = 48;
    /** Names printed per entry; the rest are counted. */
    static final int MAX_NAMES = 8;

    private FiberDump() { }

    /**
     * Socket waits and timers are collected for at most this many fibers each (a map entry per
     * fiber); past it the dump says so, so a million sleeping fibers cost no more than that.
     */
    static final int MAX_WAITS_COLLECTED = 200_000;

    private record Key(Thread.State state, String waitsOn, String group, List<StackTraceElement> frames) { }

    /** A fiber waiting in a carrier's reactor. */
    private record SocketWait(String carrier, int fd, boolean forWrite) { }

    /** A fiber's pending timer: the carrier that fires it, and when ({@link System#nanoTime} scale). */
    private record TimerWait(String carrier, long deadline) { }

    private static final class Entry {
        long count;
        final List<String> names = new ArrayList<>();
        long minAge = Long.MAX_VALUE;
        long maxAge = -1;
        long minDue = Long.MAX_VALUE;
        long maxDue = Long.MIN_VALUE;

        void age(long nanos) {
            if (nanos >= 0) {
                minAge = Math.min(minAge, nanos);
                maxAge = Math.max(maxAge, nanos);
            }
        }

        void due(long nanos) {
            minDue = Math.min(minDue, nanos);
            maxDue = Math.max(maxDue, nanos);
        }
    }

    /** One walk over the live fibers: the carriers, the distinct entries, how many fibers were seen. */
    private record Walk(List<String> carrierLines, List<CarrierState> carrierStates, Map<Key, Entry> entries, long fibers,
                        boolean truncated) { }

    private static Walk walk(Carriers carriers) {
        Map<Thread, String> runningOn = new HashMap<>();
        List<String> carrierLines = new ArrayList<>();
        List<CarrierState> carrierStates = new ArrayList<>();
        Map<Thread, SocketWait> socketWaits = new HashMap<>();
        Map<Thread, TimerWait> timers = new HashMap<>();
        boolean[] truncated = {false};
        carriers.forEachLoop(loop -> {
            Thread running = loop.runningFiber();
            if (running != null) {
                runningOn.put(running, loop.name());
            }
            CarrierState state = new CarrierState(loop.name(), running == null ? null : name(running), loop.queueDepth());
            carrierStates.add(state);
            carrierLines.add("carrier " + state.name() + ": " + (running != null ? "runs " + state.running() : "no fiber running")
                    + ", " + state.queued() + " queued");
            String name = loop.name();
            loop.forEachSocketWaiter((thread, fd, forWrite) -> {
                if (socketWaits.size() < MAX_WAITS_COLLECTED) {
                    socketWaits.put(thread, new SocketWait(name, fd, forWrite));
                } else {
                    truncated[0] = true;
                }
            });
            loop.forEachPendingTimer(timer -> {
                if (timer.wakes() == null) {
                    return; // a scope's deadline, a Timeout: not what a fiber parks for
                }
                if (timers.size() < MAX_WAITS_COLLECTED) {
                    timers.merge(timer.wakes(), new TimerWait(name, timer.deadline()),
                            (a, b) -> a.deadline() - b.deadline() <= 0 ? a : b); // the earliest, should a stale one linger
                } else {
                    truncated[0] = true;
                }
            });
        });
        Map<Key, Entry> entries = new HashMap<>();
        long[] fibers = {0};
        long now = System.nanoTime();
        carriers.forEachLiveFiber(task -> {
            fibers[0]++;
            Thread thread = task.thread();
            if (thread == null) {
                return; // registered, its thread not bound yet: a spawn in progress
            }
            StackTraceElement[] stack = thread.getStackTrace();
            Thread.State state = thread.getState();
            String carrier = runningOn.get(thread);
            SocketWait socket = carrier == null ? socketWaits.get(thread) : null;
            TimerWait timer = carrier == null ? timers.get(thread) : null;
            Group group = task.group();
            Key key = new Key(state, carrier != null ? "running on " + carrier : waitsOn(thread, socket, timer),
                    group == null ? null : group.name(),
                    List.of(Arrays.copyOf(stack, Math.min(stack.length, MAX_FRAMES))));
            Entry entry = entries.computeIfAbsent(key, k -> new Entry());
            entry.count++;
            entry.age(task.nanosInState(now));
            if (timer != null) {
                entry.due(timer.deadline() - now);
            }
            if (entry.names.size() < MAX_NAMES) {
                entry.names.add(name(thread) + (socket != null ? " fd " + socket.fd() : ""));
            }
        });
        return new Walk(carrierLines, carrierStates, entries, fibers[0], truncated[0]);
    }

    private static List<Map.Entry<Key, Entry>> largestFirst(Map<Key, Entry> entries) {
        List<Map.Entry<Key, Entry>> sorted = new ArrayList<>(entries.entrySet());
        sorted.sort(Comparator.comparingLong((Map.Entry<Key, Entry> e) -> e.getValue().count).reversed());
        return sorted;
    }

    /** Writes the dump of {@code carriers}' fibers, a scheduler named {@code scheduler}, to {@code out}. */
    public static void write(String scheduler, Carriers carriers, Appendable out) throws IOException {
        Walk walk = walk(carriers);
        out.append("Fibers of scheduler '").append(scheduler).append("' at ").append(Instant.now().toString())
                .append(": ").append(String.format("%,d", walk.fibers())).append(" alive, ")
                .append(String.format("%,d", walk.entries().size())).append(" distinct\n");
        for (String line : walk.carrierLines()) {
            out.append("  ").append(line).append('\n');
        }
        if (!LockOwners.isAvailable()) {
            out.append("  (lock owners unknown: run with the agent, or --add-opens java.base/java.util.concurrent.locks=ALL-UNNAMED)\n");
        }
        if (walk.truncated()) {
            out.append(String.format("  (socket waits and timers collected for %,d fibers each; the rest show their waits in their stacks only)%n",
                    MAX_WAITS_COLLECTED));
        }
        for (Map.Entry<Key, Entry> e : largestFirst(walk.entries())) {
            writeEntry(e.getKey(), e.getValue(), out);
        }
    }

    /** A carrier at the moment of a dump: its name, the fiber it runs (null: none) and its queue's depth. */
    public record CarrierState(String name, String running, int queued) { }

    /**
     * Fibers alike in a dump: {@code count} fibers in {@code state}, waiting on {@code waitsOn} (null:
     * nothing named; "running on CARRIER" for a running one), in {@code group} (null: none), with
     * this stack (innermost first, at most {@value #MAX_FRAMES} frames) and up to
     * {@value #MAX_NAMES} of their names; in their state for {@code minAgeNanos} to
     * {@code maxAgeNanos} (-1: unknown).
     */
    public record Alike(long count, Thread.State state, String waitsOn, String group, List<String> names,
                        List<StackTraceElement> frames, long minAgeNanos, long maxAgeNanos) { }

    /**
     * The dump as data, for the live console: {@code alive} fibers seen in {@code distinct} entries,
     * of which {@code largest} holds the largest ones (at most the {@code top} asked for).
     */
    public record Summary(String scheduler, Instant time, long alive, int distinct, List<CarrierState> carriers,
                          boolean lockOwnersKnown, List<Alike> largest) { }

    /**
     * The dump of {@code carriers}' fibers as data, its {@code top} largest entries: the same walk as
     * {@link #write}, which keeps only the distinct entries, so its memory grows with the places
     * fibers wait, not with the fibers; and only {@code top} of those are handed out.
     */
    public static Summary summary(String scheduler, Carriers carriers, int top) {
        Walk walk = walk(carriers);
        List<Alike> largest = new ArrayList<>(Math.min(top, walk.entries().size()));
        for (Map.Entry<Key, Entry> e : largestFirst(walk.entries())) {
            if (largest.size() == top) {
                break;
            }
            Key k = e.getKey();
            Entry v = e.getValue();
            largest.add(new Alike(v.count, k.state(), k.waitsOn(), k.group(), List.copyOf(v.names), k.frames(),
                    v.maxAge >= 0 ? v.minAge : -1, v.maxAge));
        }
        return new Summary(scheduler, Instant.now(), walk.fibers(), walk.entries().size(), List.copyOf(walk.carrierStates()),
                LockOwners.isAvailable(), List.copyOf(largest));
    }

    private static void writeEntry(Key key, Entry entry, Appendable out) throws IOException {
        out.append('\n').append(String.format("%,d", entry.count)).append(entry.count == 1 ? " fiber " : " fibers ")
                .append(String.valueOf(key.state()));
        if (entry.maxAge >= 0) {
            out.append(" for ").append(range(entry.minAge, entry.maxAge));
        }
        if (key.waitsOn() != null) {
            out.append(", ").append(key.waitsOn());
        }
        if (entry.maxDue != Long.MIN_VALUE) {
            out.append(entry.maxDue < 0 ? ", due " + range(-entry.maxDue, -entry.minDue) + " ago" : ", due in " + range(Math.max(0, entry.minDue), entry.maxDue));
        }
        if (key.group() != null) {
            out.append(", group '").append(key.group()).append('\'');
        }
        out.append(":\n    ").append(String.join(", ", entry.names));
        if (entry.count > entry.names.size()) {
            out.append(String.format(" and %,d more", entry.count - entry.names.size()));
        }
        out.append('\n');
        for (StackTraceElement frame : key.frames()) {
            out.append("        at ").append(frame.toString()).append('\n');
        }
    }

    /** "1.2 s", or "10 ms to 3.4 s" for a group of fibers. */
    private static String range(long min, long max) {
        String hi = duration(max);
        String lo = duration(min);
        return lo.equals(hi) ? hi : lo + " to " + hi;
    }

    private static String duration(long nanos) {
        if (nanos < 1_000_000) {
            return "<1 ms";
        }
        if (nanos < 10_000_000_000L) {
            return nanos < 1_000_000_000 ? nanos / 1_000_000 + " ms" : String.format("%.1f s", nanos / 1e9);
        }
        long s = nanos / 1_000_000_000;
        return s < 3600 ? s + " s" : String.format("%dh%02dm", s / 3600, (s % 3600) / 60);
    }

    /**
     * What {@code thread} waits for: the object it parked on, with its owner if it has one; else
     * the socket it waits for in a carrier's reactor, or the carrier whose timer wakes it; null
     * when none is known (the stack shows the wait).
     */
    private static String waitsOn(Thread thread, SocketWait socket, TimerWait timer) {
        Object blocker = LockSupport.getBlocker(thread);
        if (blocker == null) {
            if (socket != null) {
                return "waiting to " + (socket.forWrite() ? "write" : "read") + " a socket in the reactor of " + socket.carrier();
            }
            return timer == null ? null : "timer on " + timer.carrier();
        }
        String what = "parked on " + blocker.getClass().getName() + "@" + Integer.toHexString(System.identityHashCode(blocker));
        Thread owner = LockOwners.ownerOf(blocker);
        what = owner == null ? what : what + " held by " + name(owner);
        return timer == null ? what : what + ", timer on " + timer.carrier();
    }

    private static String name(Thread thread) {
        String n = thread.getName();
        return "#" + thread.threadId() + (n.isEmpty() ? "" : " \"" + n + "\"");
    }
}
