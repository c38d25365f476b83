package io.fiber.compat.postgres;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.fiber.Fiber;
import io.fiber.FiberScheduler;
import io.fiber.PingFiber;
import io.fiber.junit.DetectBlockingCalls;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.postgresql.util.PSQLException;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.time.Duration;
import java.util.concurrent.Callable;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A bad JDBC URL, used from a fiber: the fiber gets an {@link SQLException} whose message says what is
 * wrong (the refused address, the unknown database, the URL the driver could not parse), promptly, and
 * the carriers keep running a ping fiber meanwhile. Through HikariCP the driver's error is the cause of
 * the pool's timeout.
 */
@DetectBlockingCalls
class BadUrlIT {
    private static final Duration BOUND = Duration.ofSeconds(20);
    private static final Duration STUCK = Duration.ofSeconds(1);

    @BeforeAll
    static void prepare() {
        BeforeFibersUseJdbc.prepare();
    }

    private FiberScheduler scheduler;
    private PingFiber ping;

    @BeforeEach
    void startScheduler() {
        scheduler = FiberScheduler.builder().carriers(2).name("bad-url").build();
        ping = PingFiber.start(scheduler);
    }

    @AfterEach
    void carriersKeptServing() throws InterruptedException {
        PingFiber.Report report = ping.stop();
        System.out.println("  meanwhile, " + report);
        scheduler.close();
        assertTrue(report.ticks() > 0 && report.maxNanos() < STUCK.toNanos(), "a carrier was stuck: " + report);
    }

    @Test
    void aPortNobodyListensOnIsRefusedWithTheAddressInTheMessage() throws Exception {
        int port = unusedPort();
        String url = "jdbc:postgresql://127.0.0.1:" + port + "/postgres?user=fiber";
        SQLException e = failureInFiber(() -> DriverManager.getConnection(url));
        System.out.println("wrong port: " + describe(e));
        assertInstanceOf(PSQLException.class, e);
        assertEquals("08001", e.getSQLState(), "SQLState: unable to connect");
        assertTrue(e.getMessage().contains("127.0.0.1:" + port) && e.getMessage().contains("refused"), e.getMessage());
    }

    @Test
    void anUnknownDatabaseIsNamedInTheServersError() throws Exception {
        String url = ThrowawayPostgres.get().url("no_such_database");
        SQLException e = failureInFiber(() -> DriverManager.getConnection(url));
        System.out.println("unknown database: " + describe(e));
        assertInstanceOf(PSQLException.class, e);
        assertEquals("3D000", e.getSQLState(), "SQLState: invalid catalog name");
        assertTrue(e.getMessage().contains("\"no_such_database\" does not exist"), e.getMessage());
    }

    @Test
    void aMalformedUrlIsRejectedWithTheUrlInTheMessage() throws Exception {
        String url = "jdbc:postgresql://127.0.0.1:99999/postgres";   // no such port number
        SQLException e = failureInFiber(() -> DriverManager.getConnection(url));
        System.out.println("malformed URL: " + describe(e));
        assertInstanceOf(PSQLException.class, e);
        assertTrue(e.getMessage().contains("Unable to parse URL " + url), e.getMessage());
    }

    @Test
    void throughThePoolTheDriversErrorIsTheCause() throws Exception {
        int port = unusedPort();
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl("jdbc:postgresql://127.0.0.1:" + port + "/postgres?user=fiber");
        config.setMaximumPoolSize(4);
        config.setConnectionTimeout(1_000);
        config.setInitializationFailTimeout(-1);   // start without a connection; each borrow then fails on its own
        config.setPoolName("bad-url");
        try (HikariDataSource pool = new HikariDataSource(config)) {
            SQLException e = failureInFiber(pool::getConnection);
            System.out.println("through HikariCP: " + describe(e) + "\n  caused by " + describe(e.getCause()));
            assertInstanceOf(SQLTransientConnectionException.class, e);
            assertInstanceOf(PSQLException.class, e.getCause(), "the driver's error as the cause");
            assertTrue(e.getCause().getMessage().contains("127.0.0.1:" + port), e.getCause().getMessage());
        }
    }

    /** Runs {@code connect} in a fiber and returns the SQLException it threw; fails if it did not throw one within the bound. */
    private SQLException failureInFiber(Callable<?> connect) throws InterruptedException {
        Fiber<SQLException> fiber = scheduler.spawn(() -> {
            try {
                ((AutoCloseable) connect.call()).close();   // connected after all: the test fails below
                return null;
            } catch (SQLException e) {
                return e;
            }
        });
        if (!fiber.join(BOUND)) {
            fail("the connection attempt did not end within " + BOUND.toSeconds() + " s");
        }
        SQLException e = fiber.get();
        if (e == null) {
            fail("the connection attempt succeeded");
        }
        return e;
    }

    private static int unusedPort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    private static String describe(Throwable t) {
        return t.getClass().getName() + (t instanceof SQLException sql ? " [" + sql.getSQLState() + "]" : "") + ": " + t.getMessage();
    }
}
