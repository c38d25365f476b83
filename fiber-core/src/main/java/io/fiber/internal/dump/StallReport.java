package io.fiber.internal.dump;

import io.fiber.internal.carrier.Carriers;
import io.fiber.internal.carrier.FiberTask;
import io.fiber.internal.jdk.LockOwners;
import io.fiber.internal.jdk.MonitorOwners;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.locks.LockSupport;

/**
 * What a scheduler that went quiet with fibers alive is told (gevent's "this operation would block
 * forever", Go's "all goroutines are asleep - deadlock!"), as precisely as the runtime can know it.
 *
 * <p>The carriers saw no run, queue, timer or socket wait for a while ({@link Carriers.StallObserver}).
 * That alone is no stall: a fiber may sleep on the JDK's timer (without the agent), or wait for a
 * socket on the JDK's poller, or be parked with nothing to say why, and all of those wake by
 * themselves. So a report is made only when every live fiber is parked untimed on an object the
 * runtime can see (a lock's synchronizer, a condition, a latch: {@code LockSupport.getBlocker}) or
 * blocked on a monitor. Then nothing inside the scheduler can wake any of them, and only a thread
 * outside it (a platform thread holding a lock, counting a latch down) still can: the report says
 * so. Cycles of fibers each waiting for a lock or a monitor another of them holds are certain
 * deadlocks whatever other threads do, and are named as such (where owners are readable:
 * {@link LockOwners}, {@link MonitorOwners}).
 */
public final class StallReport {
    /** Above this many fibers the walk is skipped: a stall report is for a stuck program or test, and the walk takes every stack. */
    static final int MAX_FIBERS = 100_000;

    private StallReport() { }

    /** The report for a scheduler quiet for {@code quietNanos}, or null when some fiber can still wake by itself. */
    public static String of(String scheduler, Carriers carriers, long quietNanos) {
        List<Thread> fibers = new ArrayList<>();
        boolean[] tooMany = {false};
        carriers.forEachLiveFiber(task -> {
            if (fibers.size() >= MAX_FIBERS) {
                tooMany[0] = true;
            } else if (task.thread() != null) {
                fibers.add(task.thread());
            }
        });
        if (fibers.isEmpty() || tooMany[0]) {
            return null;
        }
        Map<Thread, Object> waitsFor = new IdentityHashMap<>();
        Map<Object, Thread> monitorOwners = new IdentityHashMap<>();
        boolean blockedOnMonitors = false;
        for (Thread fiber : fibers) {
            Thread.State state = fiber.getState();
            Object blocker = LockSupport.getBlocker(fiber);
            if (state == Thread.State.WAITING && blocker != null) {
                waitsFor.put(fiber, blocker);
            } else if (state == Thread.State.BLOCKED) {
                Object monitor = MonitorOwners.blockedOn(fiber);
                if (monitor != null) {
                    waitsFor.put(fiber, monitor);
                }
                blockedOnMonitors = true;
            } else {
                return null; // timed, running, ended, or parked with nothing to say on what: it may wake by itself
            }
        }
        if (blockedOnMonitors) {
            for (Thread fiber : fibers) {
                for (Object monitor : MonitorOwners.heldBy(fiber)) {
                    monitorOwners.put(monitor, fiber);
                }
            }
        }
        StringBuilder sb = new StringBuilder();
        sb.append("Scheduler '").append(scheduler).append("' looks stuck: all ").append(String.format("%,d", fibers.size()))
                .append(fibers.size() == 1 ? " fiber has" : " fibers have").append(" been waiting for ")
                .append(Duration.ofNanos(quietNanos).toMillis()).append(" ms, each parked on a lock, condition or latch or blocked"
                + " on a monitor, with nothing running, queued, timed or waiting for a socket in the scheduler. Nothing inside"
                + " it can wake them; only a thread outside it (one holding a lock they want, or counting a latch down) still can.\n");
        List<List<Thread>> cycles = cycles(waitsFor, monitorOwners);
        for (List<Thread> cycle : cycles) {
            sb.append("Deadlock: ");
            for (Thread fiber : cycle) {
                Object lock = waitsFor.get(fiber);
                sb.append(name(fiber)).append(monitorOwners.containsKey(lock) ? " waits to enter the monitor of " : " waits for ")
                        .append(lock.getClass().getName()).append('@')
                        .append(Integer.toHexString(System.identityHashCode(lock))).append(" held by ");
            }
            sb.append(name(cycle.getFirst())).append(".\n");
        }
        if (cycles.isEmpty() && !LockOwners.isAvailable()) {
            sb.append("(Lock owners are unknown, so deadlock cycles cannot be named: run with the agent, or"
                    + " --add-opens java.base/java.util.concurrent.locks=ALL-UNNAMED.)\n");
        }
        if (cycles.isEmpty() && blockedOnMonitors && !MonitorOwners.isAvailable()) {
            sb.append("(Monitor owners are unknown, so cycles over synchronized blocks cannot be named: run with the agent, or"
                    + " --add-opens java.base/jdk.internal.vm=ALL-UNNAMED.)\n");
        }
        try {
            FiberDump.write(scheduler, carriers, sb);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a StringBuilder does not throw
        }
        return sb.toString();
    }

    /**
     * Cycles of fibers each waiting for an exclusive lock or a monitor the next one holds; each fiber
     * waits for one, so one walk finds them.
     */
    private static List<List<Thread>> cycles(Map<Thread, Object> waitsFor, Map<Object, Thread> monitorOwners) {
        Map<Thread, Thread> next = new HashMap<>();
        for (Map.Entry<Thread, Object> e : waitsFor.entrySet()) {
            Thread owner = monitorOwners.containsKey(e.getValue()) ? monitorOwners.get(e.getValue()) : LockOwners.ownerOf(e.getValue());
            if (owner != null && waitsFor.containsKey(owner)) {
                next.put(e.getKey(), owner);
            }
        }
        List<List<Thread>> cycles = new ArrayList<>();
        Set<Thread> done = new HashSet<>();
        for (Thread start : next.keySet()) {
            List<Thread> path = new ArrayList<>();
            Map<Thread, Integer> at = new HashMap<>();
            Thread t = start;
            while (t != null && !done.contains(t) && !at.containsKey(t)) {
                at.put(t, path.size());
                path.add(t);
                t = next.get(t);
            }
            if (t != null && at.containsKey(t)) {
                cycles.add(List.copyOf(path.subList(at.get(t), path.size())));
            }
            done.addAll(path);
        }
        return cycles;
    }

    private static String name(Thread thread) {
        String n = thread.getName();
        return "fiber #" + thread.threadId() + (n.isEmpty() ? "" : " \"" + n + "\"");
    }
}
