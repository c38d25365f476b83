package io.fiber.io;

import java.util.Arrays;

/**
 * The fd table operations of one echo round trip, timed for fiber-io's FdTable and for the two
 * tables it replaced (FdWaiters for readers and writers, FdStates for bits and trust), both in one
 * JVM and alternated. Compiled by fd-table-ops.sh beside those classes, never by Maven: the old
 * tables live only in the repository's history.
 *
 * <p>The setting of the echo benchmark's idle scenario: 10,000 idle fds whose readers wait
 * (registered, untrusted) and 100 active ones, taken in turn. One round trip of an active fd is
 * what a fiber and its reactor do in a trusted steady state: the read after the wait (begin, end
 * short), the skipped read, the wait (claim, consume readiness, stamp trust), the input event
 * that takes the reader, and the end of the wait. Every 12,000 round trips (100 ms at 120,000
 * round trips a second) a recheck scans the whole table, as the watchdog's does.
 */
public final class FdTableOps {
    static final int IDLE = 10_000;
    static final int ACTIVE = 100;
    static final int FIRST_FD = 10;
    static final int ROUND_TRIPS_PER_RECHECK = 12_000;
    static final Thread[] THREADS = new Thread[IDLE + ACTIVE];

    interface Tables {
        String name();

        /** Runs {@code n} round trips; returns the readers taken (each round trip takes one). */
        long roundTrips(int n);
    }

    /** The two tables of main before the merge, used as the reactor used them. */
    static final class TwoTables implements Tables {
        final FdWaiters readers = new FdWaiters();
        final FdWaiters writers = new FdWaiters();
        final FdStates states = new FdStates();
        long epoch = 1;

        TwoTables() {
            for (int i = 0; i < IDLE + ACTIVE; i++) {
                states.set(FIRST_FD + i, FdStates.REGISTERED_IN | FdStates.ADDED);
                if (i >= ACTIVE) {
                    readers.claim(FIRST_FD + i, THREADS[i]);
                }
            }
        }

        public String name() {
            return "two tables";
        }

        public long roundTrips(int n) {
            long taken = 0;
            for (int k = 0; k < n; k++) {
                int i = k % ACTIVE;
                int fd = FIRST_FD + i;
                Thread self = THREADS[i];
                states.beginRead(fd);
                states.endRead(fd, true);
                if (states.beginRead(fd)) {
                    readers.claim(fd, self);
                    if ((states.clear(fd, FdStates.READY_IN) & FdStates.READY_IN) != 0) {
                        readers.release(fd, self);
                        continue;
                    }
                    if ((states.get(fd) & FdStates.REGISTERED_IN) == 0) {
                        throw new AssertionError("untrusted");
                    }
                    long since = epoch;
                    states.trustedSince(fd, since);
                    Thread reader = readers.take(fd);
                    states.inputEvent(fd, reader == null);
                    taken += reader == null ? 0 : 1;
                    states.endTrust(fd, since);
                    readers.release(fd, self);
                }
                if (k % ROUND_TRIPS_PER_RECHECK == 0) {
                    long last = epoch++ - 1;
                    states.takeTrustsBegunBy(last, f -> {
                        states.clear(f, FdStates.UNTRUSTED);
                        readers.take(f);
                        writers.take(f);
                    });
                }
            }
            return taken;
        }
    }

    /** FdTable, used as EpollReactor uses it. */
    static final class OneTable implements Tables {
        final FdTable table = new FdTable();
        long epoch = 1;

        OneTable() {
            for (int i = 0; i < IDLE + ACTIVE; i++) {
                table.set(FIRST_FD + i, FdTable.REGISTERED_IN | FdTable.ADDED);
                if (i >= ACTIVE) {
                    table.claim(FIRST_FD + i, FdTable.READ, THREADS[i]);
                }
            }
        }

        public String name() {
            return "FdTable";
        }

        public long roundTrips(int n) {
            long taken = 0;
            for (int k = 0; k < n; k++) {
                int i = k % ACTIVE;
                int fd = FIRST_FD + i;
                Thread self = THREADS[i];
                table.beginRead(fd);
                table.endRead(fd, true);
                if (table.beginRead(fd)) {
                    table.claim(fd, FdTable.READ, self);
                    int before = table.clear(fd, FdTable.READY_IN);
                    if ((before & FdTable.READY_IN) != 0) {
                        table.release(fd, FdTable.READ, self);
                        continue;
                    }
                    if ((before & FdTable.REGISTERED_IN) == 0) {
                        throw new AssertionError("untrusted");
                    }
                    long since = epoch;
                    table.trustedSince(fd, since);
                    Thread reader = table.inputEvent(fd);
                    taken += reader == null ? 0 : 1;
                    table.endWait(fd, FdTable.READ, self, since);
                }
                if (k % ROUND_TRIPS_PER_RECHECK == 0) {
                    table.untrustWaitsBegunBy(epoch++ - 1, t -> { });
                }
            }
            return taken;
        }
    }

    public static void main(String[] args) {
        int iterations = args.length > 0 ? Integer.parseInt(args[0]) : 30;
        int n = 2_000_000;
        for (int i = 0; i < THREADS.length; i++) {
            THREADS[i] = Thread.ofVirtual().unstarted(() -> { });
        }
        Tables[] all = {new TwoTables(), new OneTable()};
        double[][] nanos = new double[all.length][iterations];
        for (int it = 0; it < iterations; it++) {
            for (int t = 0; t < all.length; t++) {
                Tables tables = all[(t + it) % all.length]; // alternate which goes first
                long start = System.nanoTime();
                long taken = tables.roundTrips(n);
                nanos[(t + it) % all.length][it] = (System.nanoTime() - start) / (double) n;
                if (taken != n) {
                    throw new AssertionError(tables.name() + ": " + taken + " readers taken in " + n + " round trips");
                }
            }
        }
        int warm = iterations / 3; // the first third warms up the JIT
        for (int t = 0; t < all.length; t++) {
            double[] measured = Arrays.copyOfRange(nanos[t], warm, iterations);
            Arrays.sort(measured);
            System.out.printf("%-10s median %5.1f ns per round trip (min %.1f, max %.1f; %d iterations of %,d after %d warm-up)%n",
                    all[t].name(), measured[measured.length / 2], measured[0], measured[measured.length - 1], measured.length, n, warm);
        }
    }
}
