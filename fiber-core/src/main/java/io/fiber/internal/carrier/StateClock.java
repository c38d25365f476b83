package io.fiber.internal.carrier;

/**
 * The stamps a fiber's task keeps of when it last changed state ({@link FiberTask#markReady} and
 * the rest), in one {@code int} so a fiber costs no more than that field: when it became runnable,
 * began running, or left its carrier (parked, yielded, ended). They serve the fiber dump's "for how
 * long" and the scheduling-delay histogram ({@link DelayRecorder}).
 *
 * <p>Two kinds, told apart by the lowest bit:
 * <ul>
 *   <li>even: a coarse stamp, milliseconds since this class was loaded, from a clock the carrier
 *       watchdog advances at each look (every 1 to 10 ms), so stamping costs a volatile read, not a
 *       clock read. It wraps after 24 days: a fiber parked longer shows a wrong age.</li>
 *   <li>odd: a precise stamp, units of 1,024 ns from {@link System#nanoTime()}, taken for the
 *       sampled submissions only, whose delay to their run is timed. It wraps after 18 minutes: a
 *       sampled fiber that waited longer to run is recorded with a wrong (shorter) delay.</li>
 * </ul>
 */
final class StateClock {
    private static final long BASE = System.nanoTime();
    /** Milliseconds since {@link #BASE}, shifted left once: the coarse stamp of now. */
    private static volatile int coarse;

    private StateClock() { }

    /** Advances the coarse clock; by the watchdog at each look, and by readers that want it current. */
    static void tick(long nowNanos) {
        int stamp = (int) ((nowNanos - BASE) / 1_000_000) << 1;
        if (stamp != coarse) {
            coarse = stamp;
        }
    }

    /** Now, coarse: as of the watchdog's last look. */
    static int coarseStamp() {
        return coarse;
    }

    /** Now, precise (a clock read). */
    static int preciseStamp() {
        return preciseStampAt(System.nanoTime());
    }

    static int preciseStampAt(long nanos) {
        return ((int) ((nanos - BASE) >>> 10) << 1) | 1;
    }

    static boolean isPrecise(int stamp) {
        return (stamp & 1) != 0;
    }

    /** Nanoseconds from precise stamp {@code from} to precise stamp {@code to}. */
    static long nanosBetween(int from, int to) {
        assert isPrecise(from) && isPrecise(to) : "precise stamps only";
        return ((to - from) >>> 1) * 1_024L;
    }

    /** How long ago {@code stamp} (either kind) was, at {@code nowNanos}; -1 for no stamp. */
    static long ageNanos(int stamp, long nowNanos) {
        if (stamp == 0) {
            return -1; // never stamped (a fiber of the fallback mode, or one that never reached a carrier)
        }
        if (isPrecise(stamp)) {
            return nanosBetween(stamp, preciseStampAt(nowNanos));
        }
        int nowCoarse = (int) ((nowNanos - BASE) / 1_000_000) << 1;
        return Math.max(0, ((nowCoarse - stamp) >>> 1)) * 1_000_000L;
    }
}
