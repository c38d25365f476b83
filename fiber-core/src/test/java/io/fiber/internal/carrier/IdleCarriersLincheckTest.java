package io.fiber.internal.carrier;

import org.jetbrains.lincheck.Lincheck;
import org.junit.jupiter.api.Test;

import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The sleep/wake handshake of {@link IdleCarriers} under Lincheck's model checker, which runs each
 * scenario in every order of its shared accesses it can reach within the budget. The carriers and
 * submitters here do what {@code CarrierLoop.sleep} and {@code Carriers.execute} do, on a real
 * {@link InjectQueue}: a submitter publishes its task, fences, and asks whom to wake; a carrier stops
 * searching, marks itself idle, fences and looks at the queue once more.
 *
 * <p>The model checker explores sequentially consistent interleavings, so it checks the handshake's
 * order of steps and its atomic updates, not the fences themselves (their absence would show only on
 * hardware that reorders a store with a later load; {@link IdleCarriersStressTest} runs on real threads).
 */
class IdleCarriersLincheckTest {
    private static final Runnable TASK = () -> { };

    /**
     * One searching carrier that finds nothing and goes to sleep, against two submitters. No
     * wakeup is lost (a carrier that sleeps was claimed by a submitter), at most one wakeup goes out,
     * and the searcher count ends equal to the carriers that count themselves as searching.
     */
    @Test
    void aSleepingCarrierIsAlwaysWokenForNewWork() {
        Lincheck.runConcurrentTest(3000, () -> {
            IdleCarriers idle = new IdleCarriers(1);
            InjectQueue queue = new InjectQueue();
            idle.searchers.incrementAndGet(); // the carrier is searching, and found nothing
            AtomicInteger wakes = new AtomicInteger();
            AtomicBoolean slept = new AtomicBoolean();
            AtomicBoolean searching = new AtomicBoolean();
            Thread carrier = new Thread(() -> {
                idle.stopSearching();
                idle.markIdle(0);
                VarHandle.fullFence();
                if (queue.isEmpty()) {
                    slept.set(true); // parks until a waker unparks it
                    return;
                }
                if (!idle.tryClearIdle(0)) {
                    searching.set(true); // a waker claimed it and counted it as a searcher
                }
            });
            Runnable submit = () -> {
                queue.offer(TASK);
                VarHandle.fullFence();
                int woken = idle.claimSleeperToWake();
                if (woken >= 0) {
                    assertEquals(0, woken);
                    wakes.incrementAndGet();
                }
            };
            Thread s1 = new Thread(submit);
            Thread s2 = new Thread(submit);
            carrier.start();
            s1.start();
            s2.start();
            join(carrier);
            join(s1);
            join(s2);
            if (slept.get()) {
                assertEquals(1, wakes.get(), "the carrier went to sleep with work queued: exactly one submitter must wake it");
                assertFalse(idle.tryClearIdle(0), "the waker claimed the sleeper");
                searching.set(true); // what the woken carrier concludes
            }
            assertTrue(wakes.get() <= 1, "a second wakeup while the first woken carrier still searches");
            assertEquals(searching.get() ? 1 : 0, idle.searchers.get(), "searchers counted = carriers that count themselves searching");
        });
    }

    /** Two sleeping carriers, nobody searching, two submissions at once: exactly one carrier is woken. */
    @Test
    void oneWakeupInFlightWhileNobodySearches() {
        Lincheck.runConcurrentTest(2000, () -> {
            IdleCarriers idle = new IdleCarriers(2);
            idle.markIdle(0);
            idle.markIdle(1);
            AtomicInteger claimed = new AtomicInteger();
            Runnable submit = () -> {
                VarHandle.fullFence(); // after publishing (the queue is not needed here: both carriers sleep)
                if (idle.claimSleeperToWake() >= 0) {
                    claimed.incrementAndGet();
                }
            };
            Thread s1 = new Thread(submit);
            Thread s2 = new Thread(submit);
            s1.start();
            s2.start();
            join(s1);
            join(s2);
            assertEquals(1, claimed.get(), "one wakeup: none strands the work, two wake a carrier for nothing");
            assertEquals(1, idle.searchers.get(), "the woken carrier counts as a searcher");
        });
    }

    /**
     * A carrier that clears its own idle bit (it found work on its recheck, or woke by itself) races a
     * waker that claims it: exactly one of them wins, and the loser's view matches the counts.
     */
    @Test
    void aCarrierAndItsWakerAgreeWhoClearedTheBit() {
        Lincheck.runConcurrentTest(2000, () -> {
            IdleCarriers idle = new IdleCarriers(1);
            idle.markIdle(0);
            AtomicBoolean clearedItself = new AtomicBoolean();
            AtomicInteger claimed = new AtomicInteger(-1);
            Thread carrier = new Thread(() -> clearedItself.set(idle.tryClearIdle(0)));
            Thread waker = new Thread(() -> claimed.set(idle.claimSleeperToWake()));
            carrier.start();
            waker.start();
            join(carrier);
            join(waker);
            assertNotEquals(clearedItself.get(), claimed.get() == 0, "the bit is cleared by exactly one side");
            assertEquals(claimed.get() == 0 ? 1 : 0, idle.searchers.get(), "a claim counts one searcher, a failed claim none");
            assertEquals(-1, idle.claimSleeperToWake() == -1 ? -1 : 0, "nobody is left asleep");
        });
    }

    static void join(Thread t) {
        try {
            t.join();
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }
}
