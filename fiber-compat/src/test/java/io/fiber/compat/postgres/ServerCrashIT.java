package io.fiber.compat.postgres;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.fiber.Fiber;
import io.fiber.FiberScheduler;
import io.fiber.PingFiber;
import io.fiber.junit.DetectBlockingCalls;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The database dies under the fibers: 40 fibers run {@code select pg_sleep(5)} through a HikariCP pool
 * of 20 (20 mid-query, 20 waiting for a connection) when the server is stopped with
 * {@code pg_ctl stop -m immediate}. Every fiber must end with the driver's or the pool's
 * {@link SQLException}, promptly (no fiber hangs on a dead socket or a dead pool), while a ping fiber
 * on the same 2 carriers keeps waking up. Then the server comes back on the same port and the same
 * pool serves queries again, with no restart of the application.
 */
@DetectBlockingCalls
class ServerCrashIT {
    private static final int POOL_SIZE = 20;
    private static final int FIBERS = 2 * POOL_SIZE;
    private static final Duration CONNECTION_TIMEOUT = Duration.ofSeconds(3);
    /** How long after the crash every fiber must have ended: the pool's connection timeout plus slack. */
    private static final Duration FAILURE_BOUND = Duration.ofSeconds(20);
    private static final Duration RECOVERY_BOUND = Duration.ofSeconds(30);
    private static final Duration STUCK = Duration.ofSeconds(1);

    @BeforeAll
    static void prepare() {
        BeforeFibersUseJdbc.prepare();
    }

    @Test
    void serverStoppedMidQueryFailsEveryFiberAndThePoolRecovers() throws Exception {
        ThrowawayPostgres postgres = ThrowawayPostgres.get();
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(postgres.url());
        config.setMaximumPoolSize(POOL_SIZE);
        config.setMinimumIdle(POOL_SIZE);
        config.setConnectionTimeout(CONNECTION_TIMEOUT.toMillis());
        config.setValidationTimeout(Duration.ofSeconds(1).toMillis());
        config.setPoolName("server-crash");
        try (HikariDataSource pool = new HikariDataSource(config);
             FiberScheduler scheduler = FiberScheduler.builder().carriers(2).name("crash").build()) {
            awaitFullPool(pool);
            PingFiber ping = PingFiber.start(scheduler);
            List<Fiber<SQLException>> sleepers = new ArrayList<>();
            for (int i = 0; i < FIBERS; i++) {
                sleepers.add(scheduler.spawn(() -> sleepInTheServer(pool)));
            }
            awaitSessionsInPgSleep(postgres, POOL_SIZE);

            long crashed = System.nanoTime();
            postgres.crash();
            Map<String, Integer> failures = new TreeMap<>();
            for (Fiber<SQLException> sleeper : sleepers) {
                long left = FAILURE_BOUND.toNanos() - (System.nanoTime() - crashed);
                if (!sleeper.join(Duration.ofNanos(Math.max(0, left)))) {
                    fail("a fiber was still running " + FAILURE_BOUND.toSeconds() + " s after the server stopped: " + sleeper);
                }
                SQLException failure = sleeper.get();
                assertInstanceOf(SQLException.class, failure, "a query survived the server's stop");
                failures.merge(failure.getClass().getSimpleName() + " [" + failure.getSQLState() + "] " + firstLine(failure), 1, Integer::sum);
            }
            double failedWithin = (System.nanoTime() - crashed) / 1e9;
            PingFiber.Report outage = ping.stop();
            System.out.printf("server stopped mid-query: all %d fibers got an SQLException within %.2f s of the stop:%n", FIBERS, failedWithin);
            failures.forEach((what, count) -> System.out.printf("  %2d x %s%n", count, what));
            System.out.println("  during the outage, " + outage);
            assertTrue(outage.ticks() > 0 && outage.maxNanos() < STUCK.toNanos(),
                    "the ping fiber stopped waking up while the database was down: " + outage);

            postgres.resume();
            long resumed = System.nanoTime();
            Fiber<Integer> firstQuery = scheduler.spawn(() -> queryUntilServed(pool));
            assertTrue(firstQuery.join(RECOVERY_BOUND.plusSeconds(5)), "the recovery fiber is stuck");
            int attempts = firstQuery.get();
            double recoveredAfter = (System.nanoTime() - resumed) / 1e9;
            List<Fiber<Integer>> after = new ArrayList<>();
            for (int i = 0; i < FIBERS; i++) {
                int n = i;
                after.add(scheduler.spawn(() -> twice(pool, n)));
            }
            for (int i = 0; i < FIBERS; i++) {
                assertEquals(2 * i, after.get(i).get(), "query after the restart");
            }
            System.out.printf("server started again: the pool served a query %.2f s later (%d attempt(s)), then %d fibers' queries, all correct%n",
                    recoveredAfter, attempts, FIBERS);
        }
    }

    /** Holds a pooled connection in {@code pg_sleep(5)}; returns the SQLException it ends with (null would be a survivor). */
    private static SQLException sleepInTheServer(HikariDataSource pool) {
        try (Connection c = pool.getConnection(); Statement s = c.createStatement()) {
            s.execute("select pg_sleep(5)");
            return null;
        } catch (SQLException e) {
            return e;
        }
    }

    /** Runs {@code select 1} through the pool until it succeeds; returns the attempts it took. */
    private static int queryUntilServed(HikariDataSource pool) throws InterruptedException {
        long deadline = System.nanoTime() + RECOVERY_BOUND.toNanos();
        for (int attempt = 1; ; attempt++) {
            try (Connection c = pool.getConnection(); Statement s = c.createStatement(); ResultSet r = s.executeQuery("select 1")) {
                r.next();
                return attempt;
            } catch (SQLException e) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("the pool did not serve a query within " + RECOVERY_BOUND.toSeconds()
                            + " s of the server's restart; last error: " + e, e);
                }
                Thread.sleep(100);
            }
        }
    }

    private static int twice(HikariDataSource pool, int n) throws SQLException {
        try (Connection c = pool.getConnection(); PreparedStatement s = c.prepareStatement("select ?::int * 2")) {
            s.setInt(1, n);
            try (ResultSet r = s.executeQuery()) {
                r.next();
                return r.getInt(1);
            }
        }
    }

    private static void awaitFullPool(HikariDataSource pool) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (pool.getHikariPoolMXBean().getIdleConnections() < POOL_SIZE) {
            if (System.nanoTime() > deadline) {
                fail("the pool did not open its " + POOL_SIZE + " connections within 15 s: " + pool.getHikariPoolMXBean().getTotalConnections());
            }
            Thread.sleep(20);
        }
    }

    /** Waits, from the test's own connection (not the pool's), until {@code sessions} backends are inside pg_sleep. */
    private static void awaitSessionsInPgSleep(ThrowawayPostgres postgres, int sessions) throws SQLException, InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        try (Connection c = DriverManager.getConnection(postgres.url());
             PreparedStatement s = c.prepareStatement(
                     "select count(*) from pg_stat_activity where state = 'active' and query = 'select pg_sleep(5)'")) {
            for (int seen = 0; seen < sessions; Thread.sleep(20)) {
                try (ResultSet r = s.executeQuery()) {
                    r.next();
                    seen = r.getInt(1);
                }
                if (System.nanoTime() > deadline) {
                    fail("only " + seen + " of " + sessions + " sessions reached pg_sleep within 15 s");
                }
            }
        }
    }

    /** The message's first line, with HikariCP's per-fiber wait time and pool counts left out, so like failures group. */
    private static String firstLine(Throwable t) {
        String message = String.valueOf(t.getMessage()).lines().findFirst().orElse("");
        return message.replaceAll("after \\d+ms", "after N ms").replaceAll("\\(total=[^)]*\\)", "(counts)");
    }
}
