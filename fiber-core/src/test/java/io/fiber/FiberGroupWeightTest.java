package io.fiber;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

import static io.fiber.TestFibers.result;
import static io.fiber.TestFibers.scheduler;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The weighted pick among groups (docs/design.md section 2, "Groups"), counted in runs on one
 * carrier, where every run is the same short spin and then a yield: a busy group of weight 1, and a
 * group that arrives later with 100 times its weight (or the same weight). Counting runs rather than
 * time makes the figures independent of the machine's speed; every run lasting as long as the others
 * makes a run a unit of carrier time. Runs are charged the wall time they took, so a run whose
 * carrier thread the OS preempted is charged the time it lost: on a loaded machine the light side
 * gets a few more runs than the ideal (up to 15 of the limit of 52 with two CPU hogs on two cores).
 */
class FiberGroupWeightTest {
    private static final long SPIN_MICROS = 200;
    private static final int LATE_FIBERS = 50;
    private static final int LATE_ROUNDS = 20;
    /** More than the late group's runs: had it kept its virtual runtime of 0, it would have all its runs before the busy group's next. */
    private static final int BUSY_RUNS_BEFORE = 2_000;

    /**
     * Weights 100 and 1: while the heavy group has fibers to run, the light one gets about one run in
     * a hundred. Without the weighted pick (the groups served in turns, or all fibers in one FIFO) it
     * would get one run in two, or ten in sixty.
     */
    @Test
    void aHeavyGroupsRunsGoAheadOfABusyLightGroups() throws Exception {
        long[] runs = lateGroupAgainstBusyGroup(100);
        long late = runs[0];
        long busyMeanwhile = runs[1];
        assertTrue(busyMeanwhile * 20 < late, "the light group ran " + busyMeanwhile + " times while the heavy one ran " + late);
    }

    /**
     * The same weights: each gets about half the runs while both are busy. The late group starts
     * with a virtual runtime of 0 against the busy group's {@value #BUSY_RUNS_BEFORE} runs; without
     * the placement at the floor less one slice it would bank that as credit and run alone.
     */
    @Test
    void groupsOfTheSameWeightShareTheCarrier() throws Exception {
        long[] runs = lateGroupAgainstBusyGroup(1);
        long late = runs[0];
        long busyMeanwhile = runs[1];
        assertTrue(busyMeanwhile * 3 > late && late * 3 > busyMeanwhile,
                "the busy group ran " + busyMeanwhile + " times while the late one ran " + late);
    }

    /**
     * Fibers outside any group compete as one group of the default weight: a group of 100 times that
     * weight gets its runs ahead of theirs too (the ungrouped work waits in the carrier's own queue).
     */
    @Test
    void aHeavyGroupsRunsGoAheadOfBusyUngroupedFibers() throws Exception {
        long[] runs = lateGroupAgainstBusyFibers(0, 100 * FiberGroup.DEFAULT_WEIGHT);
        long late = runs[0];
        long busyMeanwhile = runs[1];
        assertTrue(busyMeanwhile * 20 < late, "the ungrouped fibers ran " + busyMeanwhile + " times while the group ran " + late);
    }

    private static long[] lateGroupAgainstBusyGroup(int lateWeight) throws Exception {
        return lateGroupAgainstBusyFibers(1, lateWeight);
    }

    /**
     * On one carrier, 4 fibers are kept runnable, in a group of weight {@code busyWeight} (0: in no
     * group); once they ran {@value #BUSY_RUNS_BEFORE} times, {@value #LATE_FIBERS} fibers of a group
     * of weight {@code lateWeight} each run {@value #LATE_ROUNDS} times. Returns the late group's runs
     * and the busy fibers' runs meanwhile (each loop of theirs is a run: it ends with a yield).
     */
    private static long[] lateGroupAgainstBusyFibers(int busyWeight, int lateWeight) throws Exception {
        try (FiberScheduler s = scheduler("weights-" + busyWeight + "-" + lateWeight, 1)) {
            FiberGroup busy = busyWeight == 0 ? null : s.group("busy").weight(busyWeight).build();
            FiberGroup late = s.group("late").weight(lateWeight).build();
            AtomicBoolean stop = new AtomicBoolean();
            LongAdder busyRuns = new LongAdder();
            List<Fiber<Void>> busyFibers = new ArrayList<>();
            Runnable busyLoop = () -> {
                while (!stop.get()) {
                    busyRuns.increment();
                    spin();
                    Fibers.yield();
                }
            };
            for (int i = 0; i < 4; i++) {
                busyFibers.add(busy == null ? s.spawn(busyLoop) : busy.spawn(busyLoop));
            }
            while (busyRuns.sum() < BUSY_RUNS_BEFORE) {
                Thread.sleep(1);
            }
            long busyBefore = busyRuns.sum();
            // Read by the last late fiber as it ends: the test thread, woken after, would count the
            // busy fibers' runs while it waits for a core.
            AtomicInteger lateLeft = new AtomicInteger(LATE_FIBERS);
            AtomicLong busyAtEnd = new AtomicLong();
            List<Fiber<Void>> lateFibers = new ArrayList<>();
            for (int i = 0; i < LATE_FIBERS; i++) {
                lateFibers.add(late.spawn(() -> {
                    for (int r = 0; r < LATE_ROUNDS; r++) {
                        spin();
                        Fibers.yield();
                    }
                    if (lateLeft.decrementAndGet() == 0) {
                        busyAtEnd.set(busyRuns.sum());
                    }
                }));
            }
            for (Fiber<Void> f : lateFibers) {
                result(f);
            }
            long busyMeanwhile = busyAtEnd.get() - busyBefore;
            long lateRuns = late.stats().runs();
            stop.set(true);
            for (Fiber<Void> f : busyFibers) {
                result(f);
            }
            return new long[] {lateRuns, busyMeanwhile};
        }
    }

    private static void spin() {
        long end = System.nanoTime() + TimeUnit.MICROSECONDS.toNanos(SPIN_MICROS);
        while (System.nanoTime() < end) {
            Thread.onSpinWait();
        }
    }
}
