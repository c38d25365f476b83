package io.fiber.compat.postgres;

import io.fiber.detector.BlockingCallDetector;

import java.sql.DriverManager;
import java.time.Duration;

/**
 * What every JDBC test class does once, on its own platform thread, before any fiber touches JDBC.
 *
 * <ul>
 *   <li><b>Driver discovery.</b> {@link DriverManager}'s first use in a JVM finds the drivers with a
 *       {@code ServiceLoader} over the class path, which opens and reads jar files: file I/O, flagged
 *       when it runs in a fiber. Under {@code detector=fail} it is worse than a report: DriverManager
 *       swallows the {@code BlockingCallError} thrown inside its discovery loop, registers no driver,
 *       and never tries again, so every later {@code getConnection} in the JVM fails with "No suitable
 *       driver" (seen when the first JDBC call of the test JVM was a fiber's). It happens once per JVM,
 *       like class loading, which the detector allows; it is not pgjdbc's I/O. The tests therefore
 *       load the drivers here, off the carriers, as an application would at start-up.</li>
 *   <li><b>Long runs.</b> The detector's long-run threshold goes from its default 100 ms to 1 s. The
 *       long-run watchdog measures wall time, and on 2 cores shared with PostgreSQL's backends and the
 *       JIT a carrier thread is at times descheduled that long: it once reported a fiber as having
 *       "run" 101 ms inside {@code epoll_ctl}, a call that does not wait. A carrier held for a second
 *       is still reported, and fails the test.</li>
 * </ul>
 */
final class BeforeFibersUseJdbc {
    static final Duration LONG_RUN = Duration.ofSeconds(1);

    private BeforeFibersUseJdbc() {
    }

    static void prepare() {
        if (!DriverManager.drivers().anyMatch(driver -> driver instanceof org.postgresql.Driver)) {
            throw new IllegalStateException("pgjdbc's driver is not registered with DriverManager");
        }
        BlockingCallDetector.get().longRunThreshold(LONG_RUN);
    }
}
