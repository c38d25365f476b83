package io.fiber.examples;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;

import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;

/**
 * The examples' database, behind a HikariCP pool of {@value #POOL_SIZE} connections: an embedded H2
 * database in memory by default, or the database a JDBC URL names (PostgreSQL:
 * {@code --db jdbc:postgresql://localhost:5432/mydb --db-user me --db-password secret}; the
 * examples bring the H2 and PostgreSQL drivers).
 *
 * <p>On opening, it (re)creates the table {@value #TABLE} with {@value #ROWS} rows whose values
 * follow from their id ({@link #answer}), so a client can check any answer it gets. Against your
 * own database that table is dropped and refilled; nothing else is touched.
 *
 * <p>Why no offloading here ({@code FiberCompat.offloadingDataSource}): the in-memory H2 database
 * does no I/O (a query is computation on the calling fiber, like any other), and pgjdbc's socket
 * waits park the fiber under the agent. A file database, or a driver that blocks in native code
 * (sqlite-jdbc), would need it.
 */
final class DemoDatabase implements AutoCloseable {
    static final String TABLE = "fiber_demo_item";
    static final int ROWS = 1_000;
    static final int POOL_SIZE = 10;
    /** Each default database is a new one, which lives as long as its pool's connections. */
    private static final AtomicInteger IN_MEMORY_DATABASES = new AtomicInteger();

    /** Where the database is: a JDBC URL, or null for a new in-memory H2 database; user and password may be null. */
    record Settings(String url, String user, String password) {
        static final Settings IN_MEMORY_H2 = new Settings(null, null, null);
        static final String OPTIONS = "--db JDBC-URL (default: an in-memory H2 database; e.g. jdbc:postgresql://localhost:5432/db),"
                + " --db-user NAME, --db-password PASSWORD";

        /** True for the options this record takes. */
        static boolean isOption(String option) {
            return option.equals("--db") || option.equals("--db-user") || option.equals("--db-password");
        }

        /**
         * These settings with one option applied.
         *
         * @throws IllegalArgumentException naming the option, for a URL that is not a JDBC URL
         */
        Settings with(String option, String value) {
            return switch (option) {
                case "--db" -> {
                    if (!value.startsWith("jdbc:") || value.length() == "jdbc:".length()) {
                        throw new IllegalArgumentException("--db needs a JDBC URL such as jdbc:postgresql://localhost:5432/db, got '"
                                + value + "'");
                    }
                    yield new Settings(value, user, password);
                }
                case "--db-user" -> new Settings(url, value, password);
                case "--db-password" -> new Settings(url, user, value);
                default -> throw new IllegalArgumentException("not a database option: " + option);
            };
        }

        /** The settings, checked as a whole: a user or password needs a URL. */
        Settings checked() {
            if (url == null && (user != null || password != null)) {
                throw new IllegalArgumentException("--db-user and --db-password go with --db URL (the default in-memory"
                        + " H2 database needs neither)");
            }
            return this;
        }
    }

    private final HikariDataSource pool;
    private final String description;

    private DemoDatabase(HikariDataSource pool, String description) {
        this.pool = pool;
        this.description = description;
    }

    /**
     * Opens the pool and fills the table. Called from a platform thread: the pool opens its first
     * connection on the caller.
     *
     * @throws SQLException when the database cannot be reached or the table cannot be made; the
     *                      message names the URL
     */
    static DemoDatabase open(Settings settings) throws SQLException {
        boolean inMemory = settings.url() == null;
        String url = inMemory ? "jdbc:h2:mem:fiber-demo-" + IN_MEMORY_DATABASES.incrementAndGet() : settings.url();
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(url);
        config.setUsername(settings.user());
        config.setPassword(settings.password());
        config.setMaximumPoolSize(POOL_SIZE);
        config.setPoolName("demo-db");
        HikariDataSource pool;
        try {
            pool = new HikariDataSource(config);
        } catch (RuntimeException e) { // HikariCP's PoolInitializationException, or a driver that is missing
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            throw new SQLException("could not open the database " + url + ": " + cause.getMessage(), e);
        }
        try {
            String description = fill(pool, inMemory);
            return new DemoDatabase(pool, description);
        } catch (SQLException | RuntimeException e) {
            pool.close();
            throw new SQLException("could not fill table " + TABLE + " in " + url + ": " + e.getMessage(), e);
        }
    }

    /** Recreates the table with its rows; returns a description of the database for the demo's output. */
    private static String fill(DataSource dataSource, boolean inMemory) throws SQLException {
        try (Connection c = dataSource.getConnection()) {
            DatabaseMetaData meta = c.getMetaData();
            String description = (inMemory ? "H2 in memory" : meta.getDatabaseProductName() + " " + meta.getDatabaseProductVersion())
                    + ", " + POOL_SIZE + " pooled connections";
            try (Statement s = c.createStatement()) {
                s.executeUpdate("drop table if exists " + TABLE);
                s.executeUpdate("create table " + TABLE + " (id integer primary key, name varchar(40) not null,"
                        + " price_cents bigint not null)");
            }
            c.setAutoCommit(false);
            try (PreparedStatement insert = c.prepareStatement("insert into " + TABLE + " (id, name, price_cents) values (?, ?, ?)")) {
                for (int id = 1; id <= ROWS; id++) {
                    insert.setInt(1, id);
                    insert.setString(2, name(id));
                    insert.setLong(3, priceCents(id));
                    insert.addBatch();
                }
                insert.executeBatch();
            }
            c.commit();
            c.setAutoCommit(true);
            return description;
        }
    }

    static String name(int id) {
        return "item-" + id;
    }

    static long priceCents(int id) {
        return id * 7_919L % 100_000;
    }

    /** The answer to {@code GET /db?id=N} for an id that exists, as computed from the id alone. */
    static String answer(int id) {
        return "item " + id + ": " + name(id) + ", " + priceCents(id) + " cents\n";
    }

    /**
     * Looks the row up with a query (a pooled connection, a prepared statement) and answers as
     * {@link #answer} would, or returns null when no row has that id.
     */
    static String lookUp(DataSource dataSource, int id) throws SQLException {
        try (Connection c = dataSource.getConnection();
             PreparedStatement query = c.prepareStatement("select name, price_cents from " + TABLE + " where id = ?")) {
            query.setInt(1, id);
            try (ResultSet row = query.executeQuery()) {
                return row.next() ? "item " + id + ": " + row.getString(1) + ", " + row.getLong(2) + " cents\n" : null;
            }
        }
    }

    DataSource dataSource() {
        return pool;
    }

    /** What the database is, for the demo's output: "H2 in memory, 10 pooled connections". */
    String description() {
        return description;
    }

    @Override
    public void close() {
        pool.close();
    }
}
