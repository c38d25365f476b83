package io.fiber;

import java.time.Duration;

/**
 * What a bound on live fibers ({@link FiberScheduler.Builder#maxLiveFibers},
 * {@link FiberGroup.Builder#maxLiveFibers}) has done: in {@link SchedulerStats#admission()} and
 * {@link FiberGroupStats#admission()}. Read without stopping anything: each figure is consistent on its
 * own, not with the others. Fibers admitted are the scheduler's (or group's) fibers spawned.
 *
 * @param maxLiveFibers the bound; {@link Integer#MAX_VALUE} when there is none (then every other figure is 0)
 * @param policy        what a spawn does at the bound; null when there is none
 * @param live          live fibers holding a slot now
 * @param waiting       spawners waiting for a slot now
 * @param waited        spawns that had to wait for a slot, since the build
 * @param waitTime      time spawners spent waiting for a slot, summed
 * @param rejected      spawns refused ({@link FiberRejectedException}): at the bound under
 *                      {@link AdmissionPolicy#REJECT}, or a wait that ran out or was interrupted
 */
public record AdmissionStats(int maxLiveFibers, AdmissionPolicy policy, int live, int waiting, long waited,
                             Duration waitTime, long rejected) {
    /** The figures of a scheduler or group without a bound. */
    static final AdmissionStats NONE = new AdmissionStats(Integer.MAX_VALUE, null, 0, 0, 0, Duration.ZERO, 0);

    /** Whether there is a bound. */
    public boolean bounded() {
        return policy != null;
    }

    /** One line, for logs; empty without a bound. */
    @Override
    public String toString() {
        if (!bounded()) {
            return "";
        }
        return String.format("at most %,d live (%s): %,d live, %,d waiting, %,d waited (%,d ms), %,d rejected",
                maxLiveFibers, policy, live, waiting, waited, waitTime.toMillis(), rejected);
    }
}
