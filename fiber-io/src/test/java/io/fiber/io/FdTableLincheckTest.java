package io.fiber.io;

import org.jetbrains.lincheck.Lincheck;
import org.jetbrains.lincheck.datastructures.IntGen;
import org.jetbrains.lincheck.datastructures.ModelCheckingOptions;
import org.jetbrains.lincheck.datastructures.Operation;
import org.jetbrains.lincheck.datastructures.Param;
import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

import static io.fiber.io.FdTable.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * {@link FdTable} under Lincheck's model checker, which runs each scenario in many interleavings,
 * switching threads at every shared access (sequentially consistent memory).
 *
 * <p>Linearizability, per word: a slot's waiters, its state bits and its trust are three
 * independent words, each changed only by single atomic steps, so each must behave as if its
 * operations ran one at a time ({@link WaiterSlots}, {@link StateBits}, {@link Trust}). The
 * operations that span words (an event takes the waiter, then updates the bits; a recheck ends a
 * trust, drops the bits, then takes the waiters; {@code endWait} ends a trust, then releases) are
 * sequences of those steps, as they were before the table was one, and are not atomic as a whole:
 * the reactor's poll lock orders the ones that must be (an event and a waiter's consumption of the
 * readiness it left). In each check the words an operation does not report on stay unobserved.
 *
 * <p>The wait protocol as the reactor runs it ({@link #aClaimedWaiterIsWokenOnceOrReleasesItself}):
 * waiters claim, trust and give up while an event and a stopPoll take them; every claim
 * ends once, and a waiter whose release fails is always woken (a lost wakeup is a hang, which the
 * model checker reports with its interleaving); and two races named in {@link FdTable}'s comments,
 * each in every interleaving: a short read against an input event, a late release against the next
 * claim. {@link FdTableStressTest} runs the protocol on real threads at length.
 *
 * <p>Lincheck rather than jcstress: Lincheck runs in surefire as an ordinary JUnit test, within a
 * budget of scenarios, and explores interleavings systematically instead of hoping for them in a
 * tight loop on two cores; jcstress needs its own harness and forks its own JVMs. Lincheck 3.7
 * runs on JDK 25 here (it instruments the classes through its own agent, attached at run time).
 * All the checks together take well under a minute.
 */
class FdTableLincheckTest {
    /** One fd, on the table's second page: the first operations race to create that page. */
    static final int FD = PAGE_SIZE + 4;
    private static final Thread[] TOKENS = {new Thread(() -> { }, "w0"), new Thread(() -> { }, "w1")};

    private static int token(Thread waiter) {
        return waiter == null ? -1 : waiter == TOKENS[0] ? 0 : 1;
    }

    private static ModelCheckingOptions options() {
        // Many short scenarios rather than a few long ones: a race needs two or three particular operations in parallel.
        return new ModelCheckingOptions().iterations(40).invocationsPerIteration(200)
                .threads(2).actorsPerThread(3).actorsBefore(2).actorsAfter(1);
    }

    @Test
    void waiterSlotsAreLinearizable() {
        options().check(WaiterSlots.class);
    }

    @Test
    void stateBitsAreLinearizable() {
        options().check(StateBits.class);
    }

    @Test
    void trustIsLinearizable() {
        // A recheck scans a page's 1,024 slots: a loop Lincheck would take for a livelock at its default bound.
        options().iterations(4).invocationsPerIteration(300).loopBound(2 * PAGE_SIZE).check(Trust.class);
    }

    /** Claims, takes and releases of one fd's two waiter slots; two waiter tokens (threads that never run: the table only stores them). */
    @Param(name = "direction", gen = IntGen.class, conf = "0:1")
    @Param(name = "waiter", gen = IntGen.class, conf = "0:1")
    public static class WaiterSlots {
        private final FdTable table = new FdTable();

        @Operation
        public boolean claim(@Param(name = "direction") int direction, @Param(name = "waiter") int waiter) {
            return table.claim(FD, direction, TOKENS[waiter]);
        }

        @Operation
        public int take(@Param(name = "direction") int direction) {
            return token(table.take(FD, direction));
        }

        @Operation
        public boolean release(@Param(name = "direction") int direction, @Param(name = "waiter") int waiter) {
            return table.release(FD, direction, TOKENS[waiter]);
        }

        @Operation
        public int waiter(@Param(name = "direction") int direction) {
            return token(table.waiter(FD, direction));
        }

        @Operation
        public int inputEvent() {
            return token(table.inputEvent(FD));
        }

        @Operation
        public int outputEvent() {
            return token(table.outputEvent(FD));
        }
    }

    /** One fd's state bits: registration, readiness, the drained-read race, forget, recheck and stopPoll clears. */
    @Param(name = "direction", gen = IntGen.class, conf = "0:1")
    @Param(name = "flag", gen = IntGen.class, conf = "0:1")
    @Param(name = "clear", gen = IntGen.class, conf = "0:3")
    public static class StateBits {
        private static final int[] CLEARS = {READY_IN, READY_OUT, UNTRUSTED, CLOSED | READY_IN | READY_OUT};
        private final FdTable table = new FdTable();

        /** What the reactor's register leaves in the bits. */
        @Operation
        public void register(@Param(name = "direction") int direction) {
            table.set(FD, registered(direction) | ADDED);
        }

        /** A wait consuming readiness, a recheck, a forget. */
        @Operation
        public int clear(@Param(name = "clear") int which) {
            return table.clear(FD, CLEARS[which]);
        }

        @Operation
        public int bits() {
            return table.bits(FD);
        }

        @Operation
        public boolean beginRead() {
            return table.beginRead(FD);
        }

        @Operation
        public void endRead(@Param(name = "flag") int drained) {
            table.endRead(FD, drained == 1);
        }

        @Operation
        public void inputEvent() {
            table.inputEvent(FD);
        }

        @Operation
        public void outputEvent() {
            table.outputEvent(FD);
        }
    }

    /** One fd's trust: stamps, their ends by the waiter, and a recheck's. */
    @Param(name = "epoch", gen = IntGen.class, conf = "1:2")
    public static class Trust {
        private final FdTable table = new FdTable();

        @Operation
        public void trustedSince(@Param(name = "epoch") int epoch) {
            table.trustedSince(FD, epoch);
        }

        /** A waiter's end, with no claim in the table: only its trust ends. */
        @Operation
        public void endWait(@Param(name = "epoch") int since) {
            table.endWait(FD, READ, TOKENS[0], since);
        }

        @Operation
        public long trusted() {
            return table.trustedSince(FD);
        }

        /** A recheck of the waits begun by {@code last}: ends this fd's trust if it began by then. */
        @Operation
        public void untrust(@Param(name = "epoch") int last) {
            table.untrustWaitsBegunBy(last, t -> { });
        }
    }

    /**
     * Two waiters of one fd's read slot, each claiming, trusting and then giving up (a timeout),
     * against an input event and a stopPoll that take whoever waits. Per waiter: woken at most once,
     * and woken exactly when its own release failed. (A recheck takes waiters too, but its scan of a
     * page's 1,024 slots is a loop this runner takes for a livelock; {@link Trust} and
     * {@link FdTableStressTest} cover it.)
     */
    @Test
    void aClaimedWaiterIsWokenOnceOrReleasesItself() {
        Lincheck.runConcurrentTest(3000, () -> {
            FdTable table = new FdTable();
            Waiter[] waiters = {new Waiter(table), new Waiter(table)};
            Consumer<Thread> wake = t -> {
                for (Waiter w : waiters) {
                    if (w.thread == t) {
                        w.wakes.incrementAndGet();
                    }
                }
                LockSupport.unpark(t);
            };
            Thread dispatcher = new Thread(() -> {
                Thread t = table.inputEvent(FD);
                if (t != null) {
                    wake.accept(t);
                }
            });
            Thread stopper = new Thread(() -> {
                Thread t = table.take(FD, READ); // a stopPoll
                if (t != null) {
                    wake.accept(t);
                }
            });
            for (Waiter w : waiters) {
                w.thread.start();
            }
            dispatcher.start();
            stopper.start();
            for (Waiter w : waiters) {
                join(w.thread);
            }
            join(dispatcher);
            join(stopper);
            for (Waiter w : waiters) {
                assertEquals(w.claimed.get() && !w.released.get() ? 1 : 0, w.wakes.get(), "woken once exactly when its claim was taken");
            }
            assertNull(table.waiter(FD, READ), "no claim outlives its waiter");
        });
    }

    /**
     * The drained-read race of the class comment: data arrives (an input event) while a read that
     * will come back short runs. Whichever lands first, the next read must not be skipped.
     */
    @Test
    void anInputEventDuringAShortReadKeepsTheNextRead() {
        Lincheck.runConcurrentTest(2000, () -> {
            FdTable table = new FdTable();
            table.set(FD, REGISTERED_IN | ADDED);
            assertFalse(table.beginRead(FD), "the read begins: armed");
            Thread reader = new Thread(() -> table.endRead(FD, true));
            Thread dispatcher = new Thread(() -> table.inputEvent(FD));
            reader.start();
            dispatcher.start();
            join(reader);
            join(dispatcher);
            assertFalse(table.beginRead(FD), "the data that came during the read must be read");
        });
    }

    /** A waiter gives up while its claim is taken and the slot claimed again: the late release must leave the new claim. */
    @Test
    void aLateReleaseNeverClearsTheNextClaim() {
        Lincheck.runConcurrentTest(2000, () -> {
            FdTable table = new FdTable();
            assertTrue(table.claim(FD, READ, TOKENS[0]));
            AtomicBoolean reclaimed = new AtomicBoolean();
            Thread first = new Thread(() -> table.release(FD, READ, TOKENS[0]));
            Thread next = new Thread(() -> {
                if (table.take(FD, READ) != null) {
                    reclaimed.set(table.claim(FD, READ, TOKENS[1]));
                }
            });
            first.start();
            next.start();
            join(first);
            join(next);
            assertSame(reclaimed.get() ? TOKENS[1] : null, table.waiter(FD, READ));
        });
    }

    private static final class Waiter {
        final AtomicInteger wakes = new AtomicInteger();
        final AtomicBoolean claimed = new AtomicBoolean();
        final AtomicBoolean released = new AtomicBoolean();
        final Thread thread;

        Waiter(FdTable table) {
            thread = new Thread(() -> {
                Thread me = Thread.currentThread();
                if (!table.claim(FD, READ, me)) {
                    return; // the other waiter holds the slot
                }
                claimed.set(true);
                table.trustedSince(FD, 1);
                if (table.endWait(FD, READ, me, 1)) {
                    released.set(true);
                    return;
                }
                while (wakes.get() == 0) { // taken: the wake is on its way
                    LockSupport.park();
                }
            });
        }
    }

    private static void join(Thread t) {
        try {
            t.join();
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }
}
