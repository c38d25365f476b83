package io.fiber.compat;

import io.fiber.Fiber;
import io.fiber.FiberScheduler;
import io.fiber.detector.BlockingCall;
import io.fiber.detector.BlockingCallDetector;
import io.fiber.detector.BlockingCallError;
import io.fiber.detector.BlockingCategory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sqlite.SQLiteDataSource;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import javax.sql.DataSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The offloading {@link DataSource} under the agent, with {@code detector=fail} (failsafe, see the
 * pom): sqlite-jdbc's natives that block (the agent wraps {@code NativeDB}'s open, exec and step)
 * throw {@link BlockingCallError} when a fiber calls them directly, and never through the wrapper,
 * which still gives the right results. Then what that is for: with one carrier, a slow query leaves
 * a fiber that sleeps 1 ms at a time running on time when it goes through the wrapper, and stalls it
 * for the whole query when it does not.
 */
class OffloadingDataSourceIT {
    private static final AtomicInteger IDS = new AtomicInteger();
    /** Rows the slow query's recursive CTE counts: a few hundred milliseconds of SQLite's C code. */
    private static final long SLOW_QUERY_ROWS = 2_000_000;
    private static final String SLOW_QUERY = "with recursive c(x) as (select 1 union all select x + 1 from c where x < "
            + SLOW_QUERY_ROWS + ") select count(*) from c";

    private String schedulerName;
    private FiberScheduler scheduler;
    private SQLiteDataSource sqlite;
    private final List<BlockingCall> flagged = new CopyOnWriteArrayList<>();
    private AutoCloseable listener;

    @BeforeEach
    void open(@TempDir Path dir) throws SQLException {
        BlockingCallDetector detector = BlockingCallDetector.get();
        assertTrue(detector.isAvailable(), "runs under the agent (failsafe's argLine)");
        assertEquals(BlockingCallDetector.Mode.FAIL, detector.mode(), "the pom passes detector=fail");
        schedulerName = "compat-it-" + IDS.incrementAndGet();
        scheduler = FiberScheduler.builder().name(schedulerName).carriers(1).build();
        listener = detector.addListener(call -> {
            if (call.carrier() != null && call.carrier().startsWith(schedulerName + "-")) {
                flagged.add(call);
            }
        });
        sqlite = new SQLiteDataSource();
        sqlite.setUrl("jdbc:sqlite:" + dir.resolve("it.db"));
        // On this platform thread, which the detector does not watch: loads the native library, makes the table.
        try (Connection c = sqlite.getConnection(); Statement s = c.createStatement()) {
            s.executeUpdate("create table item(id integer primary key, name text)");
        }
    }

    @AfterEach
    void close() throws Exception {
        listener.close();
        scheduler.shutdownNow();
        scheduler.close();
    }

    private <T> T inFiber(Callable<T> body) throws Exception {
        return InFiber.call(scheduler, body);
    }

    private Throwable failureInFiber(Callable<?> body) throws InterruptedException {
        Fiber<?> fiber = scheduler.spawn(body);
        assertTrue(fiber.join(Duration.ofSeconds(30)), "fiber did not finish");
        assertTrue(fiber.isFailed(), "expected the fiber to fail, it ended " + fiber.state());
        return fiber.failure();
    }

    /**
     * The blocking calls flagged on this test's carrier. Long runs (a fiber that did not yield for
     * 100 ms of wall time) are left out: on a busy machine a descheduled carrier makes them anywhere.
     */
    private List<BlockingCall> blockingCalls() {
        return flagged.stream().filter(call -> call.category() != BlockingCategory.LONG_RUN).toList();
    }

    private String describeBlockingCalls() {
        List<BlockingCall> calls = blockingCalls();
        return calls.isEmpty() ? "nothing" : calls.stream().map(BlockingCall::describe).collect(Collectors.joining("\n"));
    }

    @Test
    void rawSqliteCallsFromAFiberAreFlagged() throws Exception {
        Throwable open = failureInFiber(() -> sqlite.getConnection());
        assertInstanceOf(BlockingCallError.class, open);
        assertTrue(open.getMessage().contains("NativeDB") && open.getMessage().contains("_open_utf8"), open.getMessage());

        try (Connection c = sqlite.getConnection(); Statement s = c.createStatement()) { // opened off the fiber
            Throwable query = failureInFiber(() -> s.executeUpdate("insert into item(id, name) values (1, 'one')"));
            assertInstanceOf(BlockingCallError.class, query);
            assertTrue(query.getMessage().contains("NativeDB"), query.getMessage());
            assertEquals(BlockingCategory.NATIVE, ((BlockingCallError) query).call().category());
        }
        assertFalse(blockingCalls().isEmpty());
    }

    @Test
    void theSameCallsThroughTheWrapperAreNotFlaggedAndGiveTheRightResults() throws Exception {
        DataSource offloading = FiberCompat.offloadingDataSource(sqlite);
        int rows = 500;
        long sum = inFiber(() -> {
            try (Connection c = offloading.getConnection()) {
                c.setAutoCommit(false);
                try (PreparedStatement insert = c.prepareStatement("insert into item(id, name) values (?, ?)")) {
                    for (int id = 1; id <= rows; id++) {
                        insert.setInt(1, id);
                        insert.setString(2, "item-" + id);
                        insert.addBatch();
                    }
                    insert.executeBatch();
                }
                c.commit();
                c.setAutoCommit(true);
                try (Statement s = c.createStatement()) {
                    s.executeUpdate("update item set name = upper(name) where id % 2 = 0");
                }
                DatabaseMetaData meta = c.getMetaData();
                try (ResultSet tables = meta.getTables(null, null, "item", null)) {
                    assertTrue(tables.next(), "the table is listed");
                }
                long total = 0;
                try (PreparedStatement query = c.prepareStatement("select id, name from item where id between ? and ? order by id")) {
                    query.setInt(1, 1);
                    query.setInt(2, rows);
                    try (ResultSet r = query.executeQuery()) {
                        for (int id = 1; id <= rows; id++) {
                            assertTrue(r.next());
                            assertEquals(id, r.getInt(1));
                            assertEquals(id % 2 == 0 ? "ITEM-" + id : "item-" + id, r.getString("name"));
                            total += r.getInt(1);
                        }
                        assertFalse(r.next());
                    }
                }
                return total;
            }
        });
        assertEquals((long) rows * (rows + 1) / 2, sum);
        assertTrue(blockingCalls().isEmpty(), "flagged through the wrapper: " + describeBlockingCalls());
        assertTrue(scheduler.stats().blockingCalls() > 0, scheduler.stats().toString());
    }

    /** What a fiber sleeping 1 ms at a time saw while another fiber of the one carrier ran the slow query. */
    private record Ping(long queryMillis, long pings, long maxLateMillis) {
        String describe() {
            return String.format(Locale.ROOT, "query %,d ms, %,d pings, ping at most %,d ms late", queryMillis, pings, maxLateMillis);
        }
    }

    private Ping pingDuringSlowQuery(DataSource dataSource) throws Exception {
        AtomicBoolean queryDone = new AtomicBoolean();
        AtomicInteger pings = new AtomicInteger();
        Fiber<Long> ping = scheduler.spawn(() -> {
            long maxLate = 0;
            while (!queryDone.get()) {
                long start = System.nanoTime();
                Thread.sleep(1);
                maxLate = Math.max(maxLate, System.nanoTime() - start - TimeUnit.MILLISECONDS.toNanos(1));
                pings.incrementAndGet();
            }
            return maxLate;
        });
        long waitUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (pings.get() < 10 && System.nanoTime() < waitUntil) {
            Thread.sleep(1);
        }
        int pingsBefore = pings.get();
        assertTrue(pingsBefore >= 10, "the ping fiber got going");
        long queryMillis = inFiber(() -> {
            try (Connection c = dataSource.getConnection(); Statement s = c.createStatement()) {
                long start = System.nanoTime();
                try (ResultSet r = s.executeQuery(SLOW_QUERY)) {
                    assertTrue(r.next());
                    assertEquals(SLOW_QUERY_ROWS, r.getLong(1));
                }
                return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            } finally {
                queryDone.set(true);
            }
        });
        long maxLate = TimeUnit.NANOSECONDS.toMillis(ping.get());
        return new Ping(queryMillis, pings.get() - pingsBefore, maxLate);
    }

    @Test
    void withTheWrapperTheCarrierKeepsRunningOtherFibersDuringASlowQuery() throws Exception {
        Ping wrapped = pingDuringSlowQuery(FiberCompat.offloadingDataSource(sqlite));
        Ping unwrapped;
        BlockingCallDetector detector = BlockingCallDetector.get();
        detector.mode(BlockingCallDetector.Mode.OFF); // the raw driver blocks on purpose here
        try {
            unwrapped = pingDuringSlowQuery(sqlite);
        } finally {
            detector.mode(BlockingCallDetector.Mode.FAIL);
        }
        System.out.println("sqlite slow query on a 1-carrier scheduler, a fiber pinging every 1 ms beside it:\n"
                + "  through the offloading DataSource: " + wrapped.describe() + "\n"
                + "  on the raw DataSource:            " + unwrapped.describe());

        assertTrue(wrapped.queryMillis >= 100, "the query must be slow for the comparison to mean anything: " + wrapped.describe());
        assertTrue(wrapped.maxLateMillis < wrapped.queryMillis / 4,
                "the ping was held up during the offloaded query: " + wrapped.describe());
        assertTrue(wrapped.pings >= wrapped.queryMillis / 10, "the ping fiber ran during the query: " + wrapped.describe());
        assertTrue(blockingCalls().isEmpty(), "flagged through the wrapper: " + describeBlockingCalls());
    }
}
