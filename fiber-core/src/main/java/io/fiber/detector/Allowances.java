package io.fiber.detector;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * Where blocking is allowed: methods whose frames, anywhere on the caller's stack, allow (or
 * disallow) blocking below them. The innermost listed frame decides, so an allowance can be
 * narrowed by a disallowance inside it and the other way round, as in BlockHound. Matching is by
 * the frame's exact declaring class and method name (every overload; {@code <clinit>} works, and
 * so do lambdas by their synthetic name).
 *
 * <p>The defaults, each a known false positive (docs/detector.md keeps the same list):
 * <ul>
 *   <li>class loading ({@code ClassLoader.loadClass}, {@code BuiltinClassLoader.loadClassOrNull}):
 *       reads a class file once per class, and a fiber cannot avoid it;</li>
 *   <li>linking an {@code invokedynamic} call site or dynamic constant (a lambda's or a string
 *       concatenation's first run, {@code MethodHandleNatives.linkCallSite}): once per call site,
 *       and it can take a long while on a busy machine, so it would show as a long run;</li>
 *   <li>the JDK's own class initialisers (any {@code <clinit>} of a {@code java.}, {@code javax.},
 *       {@code jdk.}, {@code sun.} or {@code com.sun.} class): lazy one-time set-up such as
 *       {@code sun.net.NetProperties} reading {@code net.properties} on the first socket;</li>
 *   <li>a resource bundle's first load ({@code ResourceBundle.Control.newBundle}): reads its file once
 *       and is cached; libraries do it in class initialisers (Tomcat's {@code StringManager} on a
 *       connection's first request), where a fiber is pinned and nothing can move the read;</li>
 *   <li>{@code SecureRandom} seeding ({@code sun.security.provider.NativePRNG$RandomIO},
 *       {@code SeedGenerator}): reads {@code /dev/urandom}, which never waits on Linux;</li>
 *   <li>logging (JUL handlers, Logback's and Log4j 2's appender calls, slf4j-simple): the program's
 *       own diagnostics, usually buffered; flagging them would bury every real report;</li>
 *   <li>the detector's own reporting (its log line, JFR event and listeners).</li>
 * </ul>
 * Console writes ({@code System.out}/{@code err}) are not frames but a category,
 * {@link BlockingCategory#CONSOLE}, allowed by default too.
 */
final class Allowances {
    private static final String[][] DEFAULTS = {
            {"java.lang.ClassLoader", "loadClass"},
            {"jdk.internal.loader.BuiltinClassLoader", "loadClassOrNull"},
            {"java.lang.invoke.MethodHandleNatives", "linkCallSite"},
            {"java.lang.invoke.MethodHandleNatives", "linkDynamicConstant"},
            {"java.util.ResourceBundle$Control", "newBundle"},
            {"sun.security.provider.NativePRNG$RandomIO", "implNextBytes"},
            {"sun.security.provider.NativePRNG$RandomIO", "implGenerateSeed"},
            {"sun.security.provider.NativePRNG$RandomIO", "implSetSeed"},
            {"sun.security.provider.SeedGenerator", "getSystemEntropy"},
            {"sun.security.provider.SeedGenerator", "generateSeed"},
            {"java.util.logging.StreamHandler", "publish"},
            {"java.util.logging.ConsoleHandler", "publish"},
            {"java.util.logging.FileHandler", "publish"},
            {"ch.qos.logback.classic.Logger", "callAppenders"},
            {"org.apache.logging.log4j.core.config.LoggerConfig", "callAppenders"},
            {"org.slf4j.simple.SimpleLogger", "write"},
            {CallCheck.class.getName(), "publish"},
    };
    private static final String[] JDK_PACKAGES = {"java.", "javax.", "jdk.", "sun.", "com.sun."};

    /** Class name to (method name to allowed). */
    private final Map<String, Map<String, Boolean>> byClass = new ConcurrentHashMap<>();

    Allowances() {
        for (String[] entry : DEFAULTS) {
            set(entry[0], entry[1], true);
        }
    }

    void set(String className, String methodName, boolean allowed) {
        if (className == null || className.isBlank() || methodName == null || methodName.isBlank()) {
            throw new IllegalArgumentException("an allowance needs a class name and a method name, got '"
                    + className + "' and '" + methodName + "'");
        }
        if (className.indexOf('/') >= 0) {
            throw new IllegalArgumentException("class name '" + className + "' must be a binary name"
                    + " with dots, such as java.io.FileInputStream (nested: Outer$Inner)");
        }
        byClass.computeIfAbsent(className, k -> new ConcurrentHashMap<>()).put(methodName, allowed);
    }

    /**
     * Whether a call with this stack (innermost frame first) is allowed: the innermost frame the
     * allowances name decides; no such frame, not allowed.
     */
    <F> boolean allows(List<F> stack, Function<F, String> className, Function<F, String> methodName) {
        for (F frame : stack) {
            Boolean allowed = decision(className.apply(frame), methodName.apply(frame));
            if (allowed != null) {
                return allowed;
            }
        }
        return false;
    }

    /** TRUE: a frame of this method allows blocking below it; FALSE: disallows it; null: says nothing. */
    Boolean decision(String className, String methodName) {
        Map<String, Boolean> methods = byClass.get(className);
        if (methods != null) {
            Boolean d = methods.get(methodName);
            if (d != null) {
                return d;
            }
        }
        if (methodName.equals("<clinit>")) {
            for (String prefix : JDK_PACKAGES) {
                if (className.startsWith(prefix)) {
                    return Boolean.TRUE;
                }
            }
        }
        return null;
    }
}
