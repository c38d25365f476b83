package io.fiber.compat;

import io.fiber.FiberScheduler;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sqlite.Function;
import org.sqlite.SQLiteConnection;
import org.sqlite.SQLiteDataSource;

import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.util.concurrent.Callable;
import javax.sql.DataSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link FiberCompat#offloadingDataSource} over a real sqlite-jdbc database file, without the agent:
 * which thread runs the driver (an SQL function {@code caller()} answers with the name of the thread
 * SQLite calls it on), the results, the wrapped object graph and its way back to the driver's
 * objects, and the driver's exceptions. {@code OffloadingDataSourceIT} runs it under the agent.
 */
class OffloadingDataSourceTest {
    private static final String SCHEDULER = "jdbc-test";
    private FiberScheduler scheduler;
    private SQLiteDataSource sqlite;
    private DataSource offloading;

    @BeforeEach
    void open(@TempDir Path dir) throws SQLException {
        scheduler = FiberScheduler.builder().name(SCHEDULER).carriers(2).build();
        sqlite = new SQLiteDataSource();
        sqlite.setUrl("jdbc:sqlite:" + dir.resolve("test.db"));
        offloading = FiberCompat.offloadingDataSource(sqlite);
        try (Connection c = sqlite.getConnection(); Statement s = c.createStatement()) {
            s.executeUpdate("create table item(id integer primary key, name text, score real)");
        }
    }

    @AfterEach
    void close() {
        scheduler.close();
    }

    private <T> T inFiber(Callable<T> body) throws Exception {
        return InFiber.call(scheduler, body);
    }

    /** A connection of {@link #offloading} on which {@code caller()} names the thread SQLite runs on. */
    private Connection connectionWithCaller() throws SQLException {
        Connection c = offloading.getConnection();
        Function.create(c.unwrap(SQLiteConnection.class), "caller", new Function() {
            @Override
            protected void xFunc() throws SQLException {
                result(Thread.currentThread().getName());
            }
        });
        return c;
    }

    private static String caller(Connection c) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("select caller()")) {
            assertTrue(r.next());
            return r.getString(1);
        }
    }

    @Test
    void aFibersCallsRunOnTheOffloadPoolAndGiveTheDriversResults() throws Exception {
        int rows = 100;
        String ranOn = inFiber(() -> {
            try (Connection c = connectionWithCaller()) {
                try (PreparedStatement insert = c.prepareStatement("insert into item(id, name, score) values (?, ?, ?)")) {
                    for (int id = 1; id <= rows; id++) {
                        insert.setInt(1, id);
                        insert.setString(2, "item-" + id);
                        if (id % 10 == 0) {
                            insert.setNull(3, Types.REAL);
                        } else {
                            insert.setDouble(3, id / 4.0);
                        }
                        insert.addBatch();
                    }
                    assertEquals(rows, insert.executeBatch().length);
                }
                try (PreparedStatement query = c.prepareStatement("select id, name, score from item where id > ? order by id")) {
                    query.setInt(1, 0);
                    try (ResultSet r = query.executeQuery()) {
                        for (int id = 1; id <= rows; id++) {
                            assertTrue(r.next(), "row " + id);
                            assertEquals(id, r.getInt("id"));
                            assertEquals("item-" + id, r.getString(2));
                            double score = r.getDouble(3);
                            assertEquals(id % 10 == 0, r.wasNull(), "row " + id);
                            assertEquals(id % 10 == 0 ? 0.0 : id / 4.0, score);
                        }
                        assertFalse(r.next());
                    }
                }
                return caller(c);
            }
        });
        assertTrue(ranOn.startsWith(SCHEDULER + "-offload-"), "SQLite ran on " + ranOn);
        assertTrue(scheduler.stats().blockingCalls() > 0, scheduler.stats().toString());
    }

    @Test
    void offAFiberEveryCallRunsOnTheCaller() throws Exception {
        try (Connection c = connectionWithCaller()) {
            assertEquals(Thread.currentThread().getName(), caller(c));
        }
        assertEquals(0, scheduler.stats().blockingCalls());
    }

    @Test
    void transactionsCommitAndRollBack() throws Exception {
        long rows = inFiber(() -> {
            try (Connection c = offloading.getConnection(); Statement s = c.createStatement()) {
                c.setAutoCommit(false);
                s.executeUpdate("insert into item(id, name) values (1, 'rolled back')");
                c.rollback();
                s.executeUpdate("insert into item(id, name) values (2, 'committed')");
                c.commit();
                c.setAutoCommit(true);
                try (ResultSet r = s.executeQuery("select count(*), max(name) from item")) {
                    assertTrue(r.next());
                    assertEquals("committed", r.getString(2));
                    return r.getLong(1);
                }
            }
        });
        assertEquals(1, rows);
    }

    @Test
    void theWrappedObjectsLeadBackToEachOtherAndUnwrapToTheDrivers() throws Exception {
        inFiber(() -> {
            try (Connection c = offloading.getConnection();
                 PreparedStatement ps = c.prepareStatement("select id, name from item")) {
                assertTrue(Proxy.isProxyClass(c.getClass()) && Proxy.isProxyClass(ps.getClass()));
                assertSame(c, ps.getConnection());
                try (ResultSet r = ps.executeQuery()) {
                    assertTrue(Proxy.isProxyClass(r.getClass()));
                    assertSame(ps, r.getStatement());
                    ResultSetMetaData columns = r.getMetaData();
                    assertTrue(Proxy.isProxyClass(columns.getClass()));
                    assertEquals("name", columns.getColumnName(2));
                }
                DatabaseMetaData meta = c.getMetaData();
                assertSame(c, meta.getConnection());
                try (ResultSet tables = meta.getTables(null, null, "item", null)) {
                    assertTrue(Proxy.isProxyClass(tables.getClass()));
                    assertTrue(tables.next());
                    assertEquals("item", tables.getString("TABLE_NAME"));
                }

                SQLiteConnection driverConnection = c.unwrap(SQLiteConnection.class);
                assertFalse(Proxy.isProxyClass(driverConnection.getClass()));
                assertSame(driverConnection, c.unwrap(Connection.class), "unwrap reaches the driver's object");
                assertTrue(c.isWrapperFor(SQLiteConnection.class));
                assertFalse(c.isWrapperFor(String.class));
                assertFalse(Proxy.isProxyClass(ps.unwrap(PreparedStatement.class).getClass()));
                assertSame(driverConnection, ps.unwrap(PreparedStatement.class).getConnection().unwrap(SQLiteConnection.class));

                assertEquals(c, c);
                assertEquals(driverConnection.hashCode(), c.hashCode());
                try (Connection other = offloading.getConnection()) {
                    assertNotEquals(c, other);
                }
                return null;
            }
        });
        assertSame(sqlite, offloading.unwrap(SQLiteDataSource.class));
        assertTrue(offloading.isWrapperFor(SQLiteDataSource.class));
    }

    @Test
    void theDriversExceptionsComeOutAsTheDriverThrewThem() throws Exception {
        Callable<Object> badQuery = () -> {
            try (Connection c = offloading.getConnection(); Statement s = c.createStatement()) {
                return s.executeQuery("select * from missing_table");
            }
        };
        SQLException inFiber = assertThrows(SQLException.class, () -> inFiber(badQuery));
        assertTrue(inFiber.getMessage().contains("no such table: missing_table"), inFiber.toString());
        SQLException onCaller = assertThrows(SQLException.class, badQuery::call);
        assertEquals(inFiber.getClass(), onCaller.getClass());

        SQLException closed = assertThrows(SQLException.class, () -> inFiber(() -> {
            Connection c = offloading.getConnection();
            c.close();
            return c.createStatement();
        }));
        assertTrue(closed.getMessage().contains("closed"), closed.toString());
    }

    @Test
    void aNullDataSourceIsNamed() {
        NullPointerException e = assertThrows(NullPointerException.class, () -> FiberCompat.offloadingDataSource(null));
        assertEquals("dataSource", e.getMessage());
    }
}
