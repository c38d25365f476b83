package io.fiber.compat;

import io.fiber.Fibers;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.math.BigDecimal;
import java.sql.Array;
import java.sql.Blob;
import java.sql.CallableStatement;
import java.sql.Clob;
import java.sql.Connection;
import java.sql.ConnectionBuilder;
import java.sql.DatabaseMetaData;
import java.sql.Date;
import java.sql.NClob;
import java.sql.ParameterMetaData;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLXML;
import java.sql.Statement;
import java.sql.Time;
import java.sql.Timestamp;
import java.sql.Wrapper;
import java.util.Calendar;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The invocation handler behind every JDBC object an {@link OffloadingDataSource} hands out: one
 * per driver object, each proxy implementing the JDBC interfaces of {@link #WRAPPED} that the
 * driver's object implements (so a cast that works on the driver's object works on the proxy).
 *
 * <p>Per call, decided once per interface method ({@link Route}):
 * <ul>
 *   <li>{@code Object} and {@link Wrapper} methods run on the caller: {@code unwrap} returns the
 *       driver's object (or what the driver's own {@code unwrap} returns), {@code isWrapperFor} asks
 *       the same; two proxies are equal when their driver objects are;</li>
 *   <li>reading a column of the current row or an OUT parameter as a plain value
 *       ({@code getInt}, {@code getString}, {@code getTimestamp}..., {@code wasNull},
 *       {@code findColumn}) and binding a plain parameter value ({@code setInt}, {@code setString},
 *       {@code setNull}..., {@code clearParameters}) run on the caller: drivers hold the fetched row
 *       and the bound parameters in memory, and these calls come once per column per row, where a
 *       thread hand-off each would dominate (measured once, on a 2-core machine: an offloaded call
 *       took about 15 microseconds, sqlite-jdbc's {@code getInt} 25 ns, 50 ns through the proxy);</li>
 *   <li>everything else runs through {@link Fibers#blocking}: on the offload pool when the caller
 *       is on a carrier, on the caller otherwise.</li>
 * </ul>
 *
 * <p>Invariants: the driver never sees a proxy (arguments that are proxies of this class are
 * replaced by their driver objects); a result whose declared type is in {@link #WRAPPED} is
 * returned wrapped, and when it is the driver object of this proxy or of one it came from (a
 * statement's {@code getConnection()}, a result set's {@code getStatement()}), that existing proxy is
 * returned, so {@code statement.getConnection() == connection} holds for the wrapped objects as it
 * does for the driver's. A driver's exception comes out as is (not wrapped in a reflection
 * exception). A result is wrapped inside the offloaded call, on the pool thread: the first proxy of
 * each kind defines its class, which took 30 to 200 ms per kind on a busy 2-core machine (once a
 * JVM), and that must not hold the carrier either.
 */
final class OffloadingJdbcHandler implements InvocationHandler {
    /** The JDBC types wrapped when a call's declared result is one of them; in the order a proxy lists them. */
    static final List<Class<?>> WRAPPED = List.of(Connection.class, DatabaseMetaData.class, CallableStatement.class,
            PreparedStatement.class, Statement.class, ResultSet.class, ResultSetMetaData.class, ParameterMetaData.class,
            NClob.class, Clob.class, Blob.class, SQLXML.class, Array.class, ConnectionBuilder.class);
    private static final Set<Class<?>> WRAPPED_SET = Set.copyOf(WRAPPED);

    /** Values a driver holds in memory: the column values read and the parameter values bound on the caller. */
    private static final Set<Class<?>> PLAIN_VALUES = Set.of(boolean.class, byte.class, short.class, int.class,
            long.class, float.class, double.class, String.class, BigDecimal.class, byte[].class, Date.class, Time.class,
            Timestamp.class);

    private static final ClassLoader LOADER = OffloadingJdbcHandler.class.getClassLoader();
    private static final ClassValue<Class<?>[]> PROXY_INTERFACES = new ClassValue<>() {
        @Override
        protected Class<?>[] computeValue(Class<?> driverClass) {
            return WRAPPED.stream().filter(type -> type.isAssignableFrom(driverClass)).toArray(Class<?>[]::new);
        }
    };
    private static final Map<Method, Route> ROUTES = new ConcurrentHashMap<>();

    /** How a call goes: on the caller or offloaded, and whether its result is wrapped. */
    private record Route(boolean onCaller, boolean wrapsResult) {
        static Route of(Method method) {
            return new Route(runsOnCaller(method), WRAPPED_SET.contains(method.getReturnType()));
        }
    }

    private final Object target;
    private final OffloadingJdbcHandler parent;
    private Object proxy;

    private OffloadingJdbcHandler(Object target, OffloadingJdbcHandler parent) {
        this.target = target;
        this.parent = parent;
    }

    /** A proxy for the driver object {@code target}, which came from {@code parent}'s object (null: from the data source). */
    static Object wrap(Object target, OffloadingJdbcHandler parent) {
        OffloadingJdbcHandler handler = new OffloadingJdbcHandler(target, parent);
        handler.proxy = Proxy.newProxyInstance(LOADER, PROXY_INTERFACES.get(target.getClass()), handler);
        return handler.proxy;
    }

    @Override
    public Object invoke(Object proxy, Method method, Object[] args) throws Throwable {
        Class<?> declaring = method.getDeclaringClass();
        if (declaring == Object.class) {
            return objectMethod(method, args);
        }
        if (declaring == Wrapper.class) {
            Class<?> type = (Class<?>) args[0];
            if (method.getName().equals("unwrap")) {
                return type != null && type.isInstance(target) ? target : ((Wrapper) target).unwrap(type);
            }
            return type != null && type.isInstance(target) || ((Wrapper) target).isWrapperFor(type);
        }
        Route route = ROUTES.computeIfAbsent(method, Route::of);
        Object[] driverArgs = driverObjects(args);
        if (route.onCaller) { // its result is a plain value, never wrapped
            return call(method, driverArgs);
        }
        return Fibers.blocking(() -> route.wrapsResult ? wrapped(call(method, driverArgs)) : call(method, driverArgs));
    }

    /** Calls the driver; its exception comes out as it threw it. */
    private Object call(Method method, Object[] args) throws Exception {
        try {
            return method.invoke(target, args);
        } catch (InvocationTargetException e) {
            Throwable cause = e.getCause();
            if (cause instanceof Exception exception) {
                throw exception;
            }
            if (cause instanceof Error error) {
                throw error;
            }
            throw e;
        }
    }

    private Object wrapped(Object result) {
        if (result == null) {
            return null;
        }
        for (OffloadingJdbcHandler h = this; h != null; h = h.parent) {
            if (h.target == result) {
                return h.proxy;
            }
        }
        return wrap(result, this);
    }

    /** {@code args} with every proxy of this class replaced by its driver object (copied only if one is). */
    private static Object[] driverObjects(Object[] args) {
        if (args == null) {
            return null;
        }
        Object[] driverArgs = args;
        for (int i = 0; i < args.length; i++) {
            OffloadingJdbcHandler handler = handlerOf(args[i]);
            if (handler != null) {
                if (driverArgs == args) {
                    driverArgs = args.clone();
                }
                driverArgs[i] = handler.target;
            }
        }
        return driverArgs;
    }

    private static OffloadingJdbcHandler handlerOf(Object object) {
        return object instanceof Proxy proxy && Proxy.getInvocationHandler(proxy) instanceof OffloadingJdbcHandler handler
                ? handler : null;
    }

    private Object objectMethod(Method method, Object[] args) {
        return switch (method.getName()) {
            case "equals" -> {
                OffloadingJdbcHandler other = handlerOf(args[0]);
                yield other != null && target.equals(other.target);
            }
            case "hashCode" -> target.hashCode();
            default -> target.toString();
        };
    }

    /** Column getters and parameter setters of plain values, as the class comment lists. */
    private static boolean runsOnCaller(Method method) {
        Class<?> declaring = method.getDeclaringClass();
        String name = method.getName();
        Class<?>[] parameters = method.getParameterTypes();
        boolean row = declaring == ResultSet.class || declaring == CallableStatement.class;
        boolean parameterized = declaring == PreparedStatement.class || declaring == CallableStatement.class;
        if (row && (name.equals("wasNull") || name.equals("findColumn"))) {
            return true;
        }
        if (row && name.startsWith("get") && parameters.length > 0 && PLAIN_VALUES.contains(method.getReturnType())) {
            // (index or label [, scale | calendar]): getInt(1), getBigDecimal(1, 2), getDate("d", calendar)
            for (Class<?> parameter : parameters) {
                if (parameter != int.class && parameter != String.class && parameter != Calendar.class) {
                    return false;
                }
            }
            return true;
        }
        if (parameterized && name.equals("clearParameters")) {
            return true;
        }
        if (parameterized && name.startsWith("set") && parameters.length > 0) {
            for (Class<?> parameter : parameters) {
                if (!PLAIN_VALUES.contains(parameter) && parameter != Calendar.class) {
                    return false;
                }
            }
            return true;
        }
        return false;
    }
}
