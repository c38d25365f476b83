package io.fiber.internal.group;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@link Admission} on real threads: entrants join the line from several threads while others
 * leave (the admitted members are handed to leaver threads, as fibers end on other carriers than
 * the ones that spawned them). Checked: every member is admitted exactly once, never more than the
 * bound hold a slot at once, none is stranded (the test ends only when all were admitted), and each
 * entrant's members are admitted in the order it entered them (with a bound of 1: a serial lane's
 * submission order).
 */
class AdmissionStressTest {
    private static final int ENTRANTS = 3;
    private static final int PER_ENTRANT = 100_000;
    private static final int LEAVERS = 2;

    private record Member(int entrant, int seq, Probe probe) implements Admission.Member {
        @Override
        public void admitted() {
            probe.admitted(this);
        }
    }

    /** What the members report to; one per run. */
    private static final class Probe {
        final int bound;
        final AtomicInteger holding = new AtomicInteger();
        final AtomicInteger most = new AtomicInteger();
        final AtomicIntegerArray admissions = new AtomicIntegerArray(ENTRANTS * PER_ENTRANT);
        final AtomicInteger admitted = new AtomicInteger();
        final ConcurrentLinkedQueue<Member> toLeave = new ConcurrentLinkedQueue<>();
        /** Per entrant, the last seq admitted; written only while holding a slot with a bound of 1. */
        final int[] lastSeq = new int[ENTRANTS];
        final List<String> failures = Collections.synchronizedList(new ArrayList<>());

        Probe(int bound) {
            this.bound = bound;
            java.util.Arrays.fill(lastSeq, -1);
        }

        void admitted(Member m) {
            most.accumulateAndGet(holding.incrementAndGet(), Math::max);
            if (admissions.incrementAndGet(m.entrant * PER_ENTRANT + m.seq) != 1) {
                failures.add("admitted twice: " + m);
            }
            if (bound == 1) {
                if (m.seq != lastSeq[m.entrant] + 1) {
                    failures.add("entrant " + m.entrant + ": " + m.seq + " admitted after " + lastSeq[m.entrant]);
                }
                lastSeq[m.entrant] = m.seq;
            }
            admitted.incrementAndGet();
            toLeave.offer(m);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 3})
    void everyMemberIsAdmittedOnceWithinTheBoundInLineOrder(int bound) throws Exception {
        Admission admission = new Admission(bound);
        Probe probe = new Probe(bound);
        int total = ENTRANTS * PER_ENTRANT;
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        for (int e = 0; e < ENTRANTS; e++) {
            int entrant = e;
            threads.add(Thread.ofPlatform().start(() -> {
                awaitStart(start);
                for (int i = 0; i < PER_ENTRANT; i++) {
                    admission.enter(new Member(entrant, i, probe));
                }
            }));
        }
        AtomicInteger left = new AtomicInteger();
        for (int l = 0; l < LEAVERS; l++) {
            threads.add(Thread.ofPlatform().start(() -> {
                awaitStart(start);
                while (left.get() < total) {
                    Member m = probe.toLeave.poll();
                    if (m == null) {
                        Thread.onSpinWait();
                        continue;
                    }
                    probe.holding.decrementAndGet();
                    left.incrementAndGet();
                    admission.leave();
                }
            }));
        }
        start.countDown();
        for (Thread t : threads) {
            t.join(TimeUnit.SECONDS.toMillis(60));
            assertFalse(t.isAlive(), "stranded: " + probe.admitted.get() + " of " + total + " admitted, "
                    + admission.waiting() + " in line, " + admission.holders() + " holding");
        }
        assertEquals(List.of(), probe.failures);
        assertEquals(total, probe.admitted.get());
        assertTrue(probe.most.get() <= bound, "held at once: " + probe.most.get() + ", bound " + bound);
        assertEquals(0, admission.holders());
        assertEquals(0, admission.waiting());
    }

    private static void awaitStart(CountDownLatch start) {
        try {
            start.await();
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }
}
