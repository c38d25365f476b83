package io.fiber.compat;

import io.fiber.Fibers;

import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.ConnectionBuilder;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.sql.ShardingKeyBuilder;
import java.util.logging.Logger;
import javax.sql.DataSource;

/**
 * A {@link DataSource} whose JDBC calls that may block run on the offload pool of the calling
 * fiber's scheduler ({@link Fibers#blocking}) while the fiber parks
 * ({@link FiberCompat#offloadingDataSource}).
 *
 * <p>Why: a driver that blocks in native code (sqlite-jdbc runs SQLite's C code through JNI) or in
 * file I/O written in Java (H2 with a file database) holds its thread until the call returns. On a
 * fiber that thread is a carrier, so the carrier's other fibers, its reactor and its timers all
 * wait. A driver that blocks on sockets in Java (pgjdbc) does not need this under the fiber agent,
 * whose socket waits park the fiber.
 *
 * <p>What runs where: {@code getConnection} is offloaded, and the connection it returns is wrapped,
 * as is every statement, result set, metadata and LOB object obtained from it, transitively
 * ({@link OffloadingJdbcHandler}). Offloaded: effectively every method of {@link Connection}, the
 * statement interfaces, {@link java.sql.ResultSet} (its {@code next()} included),
 * {@link java.sql.DatabaseMetaData}, the metadata and LOB interfaces. On the caller: column getters
 * and parameter setters of plain values (drivers hold the current row and the parameters in memory),
 * {@code unwrap}/{@code isWrapperFor}, {@code equals}/{@code hashCode}/{@code toString}, and the
 * data source's own settings (log writer, login timeout). Off a fiber everything runs on the caller,
 * exactly as without the wrapper.
 *
 * <p>Why proxies ({@link java.lang.reflect.Proxy}) and not hand-written delegates: the interfaces
 * covered declare 740 methods (JDK 25), and JDBC releases add more (a hand-written delegate misses
 * them silently, and a default method would then bypass the offload). A proxy covers every method
 * of every interface the driver's object implements, by one rule. Its cost per call (a reflective
 * call, argument boxing) is tens of nanoseconds (25 more on a column getter, measured once), against
 * the microseconds of the thread hand-off an offloaded call costs anyway (about 15).
 *
 * <p>Not covered: streams and readers a driver returns ({@code getBinaryStream},
 * {@code getCharacterStream}) are the driver's own objects, read on the caller; so are values
 * returned as {@code Object} ({@code getObject}) and driver-specific interfaces reached through
 * {@code unwrap}. A driver that reads a large value from its storage inside a plain getter (a CLOB
 * read with {@code getString} from an H2 file database) does that on the caller.
 */
final class OffloadingDataSource implements DataSource {
    private final DataSource dataSource;

    OffloadingDataSource(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    /** Wrapped in the offloaded call, as {@link OffloadingJdbcHandler} wraps results. */
    @Override
    public Connection getConnection() throws SQLException {
        return offload(() -> (Connection) OffloadingJdbcHandler.wrap(dataSource.getConnection(), null));
    }

    @Override
    public Connection getConnection(String username, String password) throws SQLException {
        return offload(() -> (Connection) OffloadingJdbcHandler.wrap(dataSource.getConnection(username, password), null));
    }

    /** The driver's builder, wrapped: its {@code build()} is offloaded and returns a wrapped connection. */
    @Override
    public ConnectionBuilder createConnectionBuilder() throws SQLException {
        return offload(() -> (ConnectionBuilder) OffloadingJdbcHandler.wrap(dataSource.createConnectionBuilder(), null));
    }

    @Override
    public ShardingKeyBuilder createShardingKeyBuilder() throws SQLException {
        return dataSource.createShardingKeyBuilder();
    }

    @Override
    public PrintWriter getLogWriter() throws SQLException {
        return dataSource.getLogWriter();
    }

    @Override
    public void setLogWriter(PrintWriter out) throws SQLException {
        dataSource.setLogWriter(out);
    }

    @Override
    public void setLoginTimeout(int seconds) throws SQLException {
        dataSource.setLoginTimeout(seconds);
    }

    @Override
    public int getLoginTimeout() throws SQLException {
        return dataSource.getLoginTimeout();
    }

    @Override
    public Logger getParentLogger() throws SQLFeatureNotSupportedException {
        return dataSource.getParentLogger();
    }

    /** The wrapped data source when it is a {@code type}, else what its own {@code unwrap} returns. */
    @Override
    public <T> T unwrap(Class<T> type) throws SQLException {
        return type != null && type.isInstance(dataSource) ? type.cast(dataSource) : dataSource.unwrap(type);
    }

    @Override
    public boolean isWrapperFor(Class<?> type) throws SQLException {
        return type != null && type.isInstance(dataSource) || dataSource.isWrapperFor(type);
    }

    @Override
    public String toString() {
        return "OffloadingDataSource[" + dataSource + "]";
    }

    private interface SqlCall<T> {
        T call() throws SQLException;
    }

    /** {@link Fibers#blocking} for a call that throws only {@link SQLException}s and unchecked ones. */
    private static <T> T offload(SqlCall<T> call) throws SQLException {
        try {
            return Fibers.blocking(call::call);
        } catch (SQLException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new SQLException("the driver threw an undeclared checked exception: " + e, e);
        }
    }
}
