package io.fiber.internal.group;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * A group's bound on how many of its fibers run at once: fibers beyond it wait in line, in the order
 * they entered it, and each is admitted when a slot frees (docs/design.md section 2, "Groups"). A bound
 * of 1 is a serial lane: its fibers never overlap and start in submission order.
 *
 * <p>Lock-free, for any caller: a spawner (a platform thread, a fiber), a fiber ending. Whoever
 * changes the state admits: {@link #enter} joins the line and then admits while slots are free and
 * fibers wait; {@link #leave} frees a slot and does the same. Admitting takes a slot (a CAS on
 * {@code holders} below the bound) and only then the head of the line; a slot taken with nobody left
 * to take it is given back and the loop looks again. No entry is stranded: an entering caller appends
 * before it reads {@code holders}, a leaving one decrements {@code holders} before it reads the line
 * (both volatile), so whichever comes second sees the other's write, Dekker's pattern as in
 * {@code IdleCarriers}. Admission is in line order (the head is always taken); with a bound above 1
 * two admitters may hand their fibers on in either order, so starts are in line order up to the bound.
 *
 * <p>What happens between a fiber's admission and its leaving is ordered: the leaver's decrement (a
 * release) comes before the next admission's CAS or, on the same thread, before its poll of the line,
 * so a serial lane's fibers see each other's plain writes without a lock of their own.
 */
public final class Admission {
    /** What waits for a slot: told once, from whichever thread admits it, that its turn has come. */
    public interface Member {
        void admitted();
    }

    private final int bound;
    /** Slots taken: members admitted and not yet left, plus, for a moment, a slot being filled. */
    private final AtomicInteger holders = new AtomicInteger();
    private final ConcurrentLinkedQueue<Member> line = new ConcurrentLinkedQueue<>();
    /** The line's length, kept beside it for statistics ({@code ConcurrentLinkedQueue.size} walks it). */
    private final AtomicInteger waiting = new AtomicInteger();

    public Admission(int bound) {
        if (bound < 1) {
            throw new IllegalArgumentException("an admission bound must be at least 1, got " + bound);
        }
        this.bound = bound;
    }

    public int bound() {
        return bound;
    }

    /** {@code member} joins the line; it (and whoever else's turn has come) is admitted now if a slot is free. */
    public void enter(Member member) {
        waiting.incrementAndGet();
        line.offer(member);
        admitWhileFree();
    }

    /**
     * Takes a slot without joining the line, when nobody waits in line and one is free: the fast
     * path of {@link LiveLimit}, whose spawners need no place in line below the bound. Not in line
     * order against a member entering at the same moment, which then simply waits for the next
     * slot; a slot taken here is given back with {@link #leave}.
     */
    public boolean tryTake() {
        if (!line.isEmpty()) {
            return false;
        }
        for (;;) {
            int h = holders.get();
            if (h >= bound) {
                return false;
            }
            if (holders.compareAndSet(h, h + 1)) {
                return true;
            }
        }
    }

    /** An admitted member leaves, freeing its slot for the next in line. */
    public void leave() {
        int left = holders.decrementAndGet();
        assert left >= 0 : "more members left than were admitted";
        admitWhileFree();
    }

    /** Takes {@code member} out of the line if it still waits there; false once it was admitted. */
    public boolean withdraw(Member member) {
        if (line.remove(member)) {
            waiting.decrementAndGet();
            return true;
        }
        return false;
    }

    /**
     * Takes every member still in line out of it, without a slot, and hands each to {@code action}:
     * what a shutdown does with {@link LiveLimit}'s waiting spawners. A member admitted meanwhile
     * keeps its slot.
     */
    public void withdrawAll(Consumer<Member> action) {
        for (Member m; (m = line.poll()) != null; ) {
            waiting.decrementAndGet();
            action.accept(m);
        }
    }

    private void admitWhileFree() {
        for (;;) {
            int h = holders.get();
            if (h >= bound || line.isEmpty()) {
                return;
            }
            if (!holders.compareAndSet(h, h + 1)) {
                continue;
            }
            Member next = line.poll();
            if (next == null) {
                holders.decrementAndGet(); // another admitter emptied the line: look again, since an
                continue;                  // entrant may have seen this slot taken and left it to us
            }
            waiting.decrementAndGet();
            next.admitted();
        }
    }

    /** Members admitted and not yet left; read racily, for statistics. */
    public int holders() {
        return Math.max(0, holders.get());
    }

    /** Members waiting in line; read racily, for statistics. */
    public int waiting() {
        return Math.max(0, waiting.get());
    }
}
