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
 * readable ({@link LockOwners}); otherwise the wait shows in the stack's top frames (a sleep, a
 * socket read, a join). A fiber running at the moment of the dump is listed with its carrier.
 */
public final class FiberDump {
    /** Frames printed per entry; deeper ones are counted. */
    static final int MAX_FRAMES = 48;
    /** Names printed per entry; the rest are counted. */
    static final int MAX_NAMES = 8;

    private FiberDump() { }

    private record Key(Thread.State state, String waitsOn, String group, List<StackTraceElement> frames) { }

    private static final class Entry {
        long count;
        final List<String> names = new ArrayList<>();
    }

    /** One walk over the live fibers: the carriers' lines, the distinct entries and how many fibers were seen. */
    private record Walk(List<String> carrierLines, List<CarrierState> carrierStates, Map<Key, Entry> entries, long fibers) { }

    private static Walk walk(Carriers carriers) {
        Map<Thread, String> runningOn = new HashMap<>();
        List<String> carrierLines = new ArrayList<>();
        List<CarrierState> carrierStates = new ArrayList<>();
        carriers.forEachLoop(loop -> {
            Thread fiber = loop.runningFiber();
            if (fiber != null) {
                runningOn.put(fiber, loop.name());
            }
            CarrierState carrier = new CarrierState(loop.name(), fiber == null ? null : name(fiber), loop.queueDepth());
            carrierStates.add(carrier);
            carrierLines.add("carrier " + carrier.name() + ": " + (fiber != null ? "runs " + carrier.running() : "no fiber running")
                    + ", " + carrier.queued() + " queued");
        });
        Map<Key, Entry> entries = new HashMap<>();
        long[] fibers = {0};
        carriers.forEachLiveFiber(task -> {
            fibers[0]++;
            Thread thread = task.thread();
            if (thread == null) {
                return; // registered, its thread not bound yet: a spawn in progress
            }
            StackTraceElement[] stack = thread.getStackTrace();
            Thread.State state = thread.getState();
            String carrier = runningOn.get(thread);
            Group group = task.group();
            Key key = new Key(state, carrier != null ? "running on " + carrier : waitsOn(thread),
                    group == null ? null : group.name(),
                    List.of(Arrays.copyOf(stack, Math.min(stack.length, MAX_FRAMES))));
            Entry entry = entries.computeIfAbsent(key, k -> new Entry());
            entry.count++;
            if (entry.names.size() < MAX_NAMES) {
                entry.names.add(name(thread));
            }
        });
        return new Walk(carrierLines, carrierStates, entries, fibers[0]);
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
     * {@value #MAX_NAMES} of their names.
     */
    public record Alike(long count, Thread.State state, String waitsOn, String group, List<String> names,
                        List<StackTraceElement> frames) { }

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
            largest.add(new Alike(e.getValue().count, k.state(), k.waitsOn(), k.group(), List.copyOf(e.getValue().names), k.frames()));
        }
        return new Summary(scheduler, Instant.now(), walk.fibers(), walk.entries().size(), List.copyOf(walk.carrierStates()),
                LockOwners.isAvailable(), List.copyOf(largest));
    }

    private static void writeEntry(Key key, Entry entry, Appendable out) throws IOException {
        out.append('\n').append(String.format("%,d", entry.count)).append(entry.count == 1 ? " fiber " : " fibers ")
                .append(String.valueOf(key.state()));
        if (key.waitsOn() != null) {
            out.append(", ").append(key.waitsOn());
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

    /** The object {@code thread} parked on, with its owner if it has one; null when it parked on none. */
    private static String waitsOn(Thread thread) {
        Object blocker = LockSupport.getBlocker(thread);
        if (blocker == null) {
            return null;
        }
        String what = "parked on " + blocker.getClass().getName() + "@" + Integer.toHexString(System.identityHashCode(blocker));
        Thread owner = LockOwners.ownerOf(blocker);
        return owner == null ? what : what + " held by " + name(owner);
    }

    private static String name(Thread thread) {
        String n = thread.getName();
        return "#" + thread.threadId() + (n.isEmpty() ? "" : " \"" + n + "\"");
    }
}
