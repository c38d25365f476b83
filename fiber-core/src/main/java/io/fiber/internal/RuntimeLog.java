package io.fiber.internal;

import java.io.PrintStream;

/**
 * The runtime's log: SLF4J when the application has it, standard error otherwise. Not an
 * application API.
 *
 * <p>The runtime logs rarely (a fallback, a failed carrier, a detector report), and each message
 * must reach a person: a program that puts only the fiber-core jar on its class path must still run
 * and still see them. So SLF4J is looked up once, without initialising it, and started only by the
 * first message (a program that never logs never starts it, nor hears SLF4J's own warnings, such as
 * its notice that no provider is bound); with SLF4J present and a provider bound, messages go to the application's logging, where its configuration applies; with
 * SLF4J absent, or present with no provider (SLF4J would drop everything), they go to standard error
 * as {@code WARN io.fiber.FiberScheduler - message}. Patterns use SLF4J's {@code {}} placeholders,
 * and a {@link Throwable} as the last argument is logged with its stack trace, both ways alike.
 */
public final class RuntimeLog {
    private static final boolean SLF4J_PRESENT = slf4jPresent();

    private final Class<?> owner;
    /** Whether {@link #slf4j} was looked up, on the first message. */
    private boolean resolved;
    /** The SLF4J logger, or null when messages go to standard error. */
    private Object slf4j;

    private RuntimeLog(Class<?> owner) {
        this.owner = owner;
    }

    /** The log of {@code owner}'s class. */
    public static RuntimeLog of(Class<?> owner) {
        return new RuntimeLog(owner);
    }

    public void warn(String pattern, Object... args) {
        Object logger = slf4j();
        if (logger != null) {
            ((org.slf4j.Logger) logger).warn(pattern, args);
        } else {
            print("WARN", pattern, args);
        }
    }

    public void error(String pattern, Object... args) {
        Object logger = slf4j();
        if (logger != null) {
            ((org.slf4j.Logger) logger).error(pattern, args);
        } else {
            print("ERROR", pattern, args);
        }
    }

    private synchronized Object slf4j() {
        if (!resolved) {
            slf4j = SLF4J_PRESENT ? Slf4j.logger(owner) : null;
            resolved = true;
        }
        return slf4j;
    }

    private void print(String level, String pattern, Object[] args) {
        Throwable thrown = args.length > 0 && args[args.length - 1] instanceof Throwable t ? t : null;
        StringBuilder line = new StringBuilder(level).append(' ').append(owner.getName()).append(" - ");
        int arg = 0;
        int from = 0;
        for (int at = pattern.indexOf("{}"); at >= 0; at = pattern.indexOf("{}", from)) {
            if (arg >= args.length - (thrown == null ? 0 : 1)) {
                break;
            }
            line.append(pattern, from, at).append(args[arg++]);
            from = at + 2;
        }
        line.append(pattern, from, pattern.length());
        PrintStream err = System.err;
        synchronized (err) {
            err.println(line);
            if (thrown != null) {
                thrown.printStackTrace(err);
            }
        }
    }

    private static boolean slf4jPresent() {
        try {
            Class.forName("org.slf4j.LoggerFactory", false, RuntimeLog.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
    }

    /** Loaded only when SLF4J is on the class path. */
    private static final class Slf4j {
        static Object logger(Class<?> owner) {
            if (org.slf4j.LoggerFactory.getILoggerFactory() instanceof org.slf4j.helpers.NOPLoggerFactory) {
                return null; // SLF4J without a provider drops every message
            }
            return org.slf4j.LoggerFactory.getLogger(owner);
        }
    }
}
