package io.fiber.agent;

import java.lang.instrument.Instrumentation;
import java.util.Map;
import java.util.Set;

/**
 * The {@code -javaagent}. What it does today: it opens {@code java.base/java.lang} to the fiber
 * runtime's module (and to no other), so fibers run on our carrier loops without
 * {@code --add-opens} on the command line, and it applies its options. Rerouting socket waits and
 * timers into per-carrier reactors comes with the fiber-io issue.
 *
 * <p>It must not initialise any runtime class before the package is open: the runtime decides
 * once, in its class initialiser, whether the JDK hook is reachable. So the runtime's module is
 * found through {@code Class.forName(name, false, loader)}, which loads without initialising.
 *
 * <p>Launched with {@code -javaagent} ({@link #premain}), a bad option stops the JVM with a message.
 * Attached to a running JVM ({@link #agentmain}), it cannot help a runtime that already initialised
 * without the hook, and says so.
 */
public final class FiberAgent {
    static final String RUNTIME_CLASS = "io.fiber.FiberScheduler";
    static final String HOOK_CLASS = "io.fiber.VirtualThreadHook";
    /** Read by the runtime's default scheduler. */
    static final String CARRIERS_PROPERTY = "fiber.carriers";

    private FiberAgent() { }

    public static void premain(String args, Instrumentation inst) {
        install(args, inst, false);
    }

    public static void agentmain(String args, Instrumentation inst) {
        install(args, inst, true);
    }

    private static void install(String args, Instrumentation inst, boolean attached) {
        AgentOptions options;
        try {
            options = AgentOptions.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("fiber-agent: " + e.getMessage());
            throw e;
        }
        if (options.carriers > 0) {
            System.setProperty(CARRIERS_PROPERTY, Integer.toString(options.carriers));
        }
        Module runtime = runtimeModule();
        if (runtime == null) {
            System.err.println("fiber-agent: " + RUNTIME_CLASS + " is not on the class path; nothing to do"
                    + " (put fiber-core on the class path to use fibers)");
            return;
        }
        if (attached && isLoaded(inst, HOOK_CLASS)) {
            System.err.println("fiber-agent: attached after the fiber runtime started; schedulers built before now"
                    + " may already run on the JDK's default scheduler. Launch with -javaagent instead.");
        }
        Module javaBase = Object.class.getModule();
        if (!javaBase.isOpen("java.lang", runtime)) {
            inst.redefineModule(javaBase, Set.of(), Map.of(), Map.of("java.lang", Set.of(runtime)), Set.of(), Map.of());
        }
    }

    /** The module of the fiber runtime as the application will load it, without initialising it. */
    private static Module runtimeModule() {
        try {
            return Class.forName(RUNTIME_CLASS, false, ClassLoader.getSystemClassLoader()).getModule();
        } catch (ClassNotFoundException e) {
            return null;
        }
    }

    private static boolean isLoaded(Instrumentation inst, String className) {
        for (Class<?> c : inst.getAllLoadedClasses()) {
            if (c.getName().equals(className)) {
                return true;
            }
        }
        return false;
    }
}
