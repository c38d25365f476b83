package io.fiber.agent;

import io.fiber.detector.BlockingCallDetector;
import io.fiber.internal.dns.FiberResolverProvider;

import java.lang.instrument.Instrumentation;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The {@code -javaagent} (docs/design.md sections 1, 3 and 4). At start-up, in this order:
 * <ol>
 *   <li>parses its options strictly ({@link AgentOptions});</li>
 *   <li>defines the runtime's tiny {@code io.fiber.internal.bridge} package in the boot class loader
 *       ({@link BootBridge}), before anything could load it from the application class path, since
 *       patched JDK code can only see boot classes;</li>
 *   <li>opens {@code java.base/java.lang} to the fiber runtime's module, and to no other, and lets
 *       {@code java.base} read the bridge;</li>
 *   <li>checks the {@code fiber.dns*} system properties (the {@code dns=} option sets {@code fiber.dns}),
 *       read by fiber-core's resolver provider when the JDK creates its resolver: the
 *       self-test's first lookup does that;</li>
 *   <li>patches the JDK methods listed in {@link JdkPatches}: socket waits and timed parks of
 *       fibers then go to their carrier's reactor and timers, once a fiber scheduler exists. Until
 *       then, and for every thread that is not a fiber, the patched methods run the JDK's code;</li>
 *   <li>with {@code virtual=fibers} (the default), installs {@link FiberThreads}: from then on every
 *       virtual thread the application creates is a fiber;</li>
 *   <li>with {@code threads=fibers}, also the platform threads application code starts
 *       ({@link ApplicationThreads}): it rewrites the {@code new Thread} call sites of classes defined
 *       from then on ({@link ThreadCallSites}) and says so in one line on standard error, and a
 *       shutdown hook prints what was and was not converted;</li>
 *   <li>with {@code console=}, starts the live console on platform threads of its own
 *       ({@link AgentConsole}); a port it cannot have is one line on standard error, not a refusal.</li>
 * </ol>
 *
 * <p>It must not initialise any runtime class before the package is open: the runtime decides
 * once, in its class initialiser, whether the JDK hook is reachable. So the runtime's module is
 * found through {@code Class.forName(name, false, loader)}, which loads without initialising.
 *
 * <p>Launched with {@code -javaagent} ({@link #premain}), a bad option or a JDK without the patched
 * methods stops the JVM with a one-line message and status 1. Attached to a running JVM ({@link #agentmain}), it cannot
 * help a runtime that already initialised without the hook, and says so.
 */
public final class FiberAgent {
    static final String RUNTIME_CLASS = "io.fiber.FiberScheduler";
    private FiberAgent() { }

    /**
     * Launched with {@code -javaagent}: a refused option, or a JDK the agent cannot patch, prints
     * one line naming what was wrong and ends the JVM with status 1 before the application starts.
     * Thrown out of here, the same failure would reach the JDK's agent launcher, which adds a stack
     * trace, assertion failures of its own and a native crash report (status 134) to the message.
     */
    public static void premain(String args, Instrumentation inst) {
        try {
            install(args, inst, false);
        } catch (Refused e) {
            System.err.println("fiber-agent: " + e.getMessage());
            System.err.flush();
            System.exit(EXIT_REFUSED);
        }
    }

    /**
     * Attached to a running JVM: a refusal is printed there too, and thrown, so the attaching tool
     * gets it ({@code AgentInitializationException}); the running application goes on unpatched.
     */
    public static void agentmain(String args, Instrumentation inst) {
        try {
            install(args, inst, true);
        } catch (Refused e) {
            System.err.println("fiber-agent: " + e.getMessage());
            throw new IllegalStateException("fiber-agent: " + e.getMessage(), e.getCause());
        }
    }

    /** The JVM's exit status when {@link #premain} refuses to start. */
    static final int EXIT_REFUSED = 1;

    /** Why the agent cannot start, in a message for the user; the cause, if any, is for a bug report. */
    static final class Refused extends Exception {
        Refused(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private static void install(String args, Instrumentation inst, boolean attached) throws Refused {
        AgentOptions options;
        try {
            options = AgentOptions.parse(args);
        } catch (IllegalArgumentException e) {
            throw new Refused(e.getMessage(), null);
        }
        if (BootBridge.isInstalled()) {
            // Launched with -javaagent and attached too, or attached twice: patching again would
            // double every call the patches make, and the runtime read its settings already.
            System.err.println("fiber-agent: already installed in this JVM; nothing more to do (options given now are ignored)");
            return;
        }
        options.toSystemProperties();
        Module runtime = runtimeModule();
        if (runtime == null) {
            System.err.println("fiber-agent: " + RUNTIME_CLASS + " is not on the class path; nothing to do"
                    + " (put fiber-core on the class path to use fibers)");
            return;
        }
        if (attached) {
            // Before premain no application code has run; attached, the runtime may have started. Every
            // scheduler's build asks the bridge whether the agent installed it, so a runtime that
            // started has loaded the bridge, from the class path.
            if (isLoaded(inst, BootBridge.BRIDGE_CLASS)) {
                // The JDK can only call the boot loader's copy, which that runtime would never see,
                // so patches would do nothing.
                System.err.println("fiber-agent: started after the fiber runtime loaded its bridge (" + BootBridge.BRIDGE_CLASS
                        + ") from the class path; the JDK cannot reach that runtime, so nothing is patched. Launch with -javaagent instead.");
                return;
            }
        }
        Module bridge;
        try {
            bridge = BootBridge.install(inst);
            Module javaBase = Object.class.getModule();
            // Exports: sun.net, so a fiber's socket read throws the JDK's own ConnectionResetException,
            // which NioSocketImpl remembers, as its native read does (fiber-io's SocketCalls).
            // Opens: java.lang, the scheduler hook; java.util.concurrent.locks, a lock's owner for
            // fiber dumps and deadlock reports (LockOwners); jdk.internal.vm, the monitors a fiber
            // holds and is blocked on, for the same reports (MonitorOwners).
            inst.redefineModule(javaBase, Set.of(bridge), Map.of("sun.nio.ch", Set.of(runtime), "sun.net", Set.of(runtime)),
                    Map.of("java.lang", Set.of(runtime), "java.util.concurrent.locks", Set.of(runtime), "jdk.internal.vm", Set.of(runtime)),
                    Set.of(), Map.of());
            // The self-test's lookup below makes the JDK create its resolver through fiber-core's
            // provider: a bad fiber.dns* property is reported here, by name, rather than as a failed self-test entry.
            FiberResolverProvider.checkSystemProperties();
            List<BlockingMethods.Found> blocking = BlockingMethods.find();
            List<Patch> patches = new ArrayList<>();
            for (BlockingMethods.Found found : blocking) {
                patches.add(found.patch(options.offloaded()));
            }
            if (options.virtualThreadsAsFibers()) {
                patches.add(JdkPatches.NEW_VIRTUAL_THREAD);
            }
            ApplicationThreads applicationThreads = null;
            if (options.applicationThreadsAsFibers()) {
                applicationThreads = new ApplicationThreads(options.threadsExcluded(), options.threadsOnly());
                patches.addAll(JdkPatches.APPLICATION_THREADS);
            } else if (options.boundsLiveFibers()) {
                patches.add(JdkPatches.VIRTUAL_THREAD_START); // a fiber starting a thread waits for a slot unpinned
            }
            ClassPatcher patcher = JdkPatches.install(inst, patches);
            BlockingMethodsSelfTest.run(blocking);
            MethodPatcher.install(inst, patcher, DefinitionPatcher.install(inst));
            enableNativeAccess(runtime);
            BlockingCallDetector.get(); // starts it: its mode, its integrations, its check in the bridge
            if (options.virtualThreadsAsFibers() || applicationThreads != null || options.boundsLiveFibers()) {
                // last: from here on, virtual threads are fibers (and, with threads=fibers, application threads)
                FiberThreads.install(options.virtualThreadsAsFibers(), applicationThreads,
                        options.boundsLiveFibers() || applicationThreads != null); // wherever VirtualThread.start is patched
            }
            if (options.console() != null) {
                // On platform threads the runtime and the JDK create, which threads=fibers leaves alone.
                AgentConsole.start(options.console(), options.consoleToken());
            }
            if (applicationThreads != null) {
                ThreadCallSites.install(inst, applicationThreads); // classes defined from now on
                System.err.println(applicationThreads.startLine());
                // Not rewritten (the agent's own class), so a platform thread, as a shutdown hook must be.
                Runtime.getRuntime().addShutdownHook(new Thread(() -> System.err.println(ApplicationThreads.exitLine()),
                        "fiber-threads-report"));
            }
        } catch (IllegalArgumentException | IllegalStateException e) {
            throw new Refused(e.getMessage(), e); // what the checks say: a bad fiber.dns property, a JDK without a patched method
        } catch (RuntimeException | java.io.IOException e) {
            throw new Refused(e + " (a bug of the agent: please report it with this stack trace)\n"
                    + stackTrace(e), e);
        }
    }

    private static String stackTrace(Throwable e) {
        java.io.StringWriter text = new java.io.StringWriter();
        e.printStackTrace(new java.io.PrintWriter(text));
        return text.toString();
    }

    /**
     * {@code --enable-native-access} for the runtime's module, through {@code java.lang.Module}'s
     * own methods (java.lang is open to this module by now). On the class path the runtime lives in
     * the unnamed module, which the JDK treats as one "ALL-UNNAMED" for native access, so this is
     * exactly {@code --enable-native-access=ALL-UNNAMED}.
     */
    private static void enableNativeAccess(Module runtime) {
        try {
            java.lang.reflect.Method enable = runtime.isNamed()
                    ? Module.class.getDeclaredMethod("implAddEnableNativeAccess")
                    : Module.class.getDeclaredMethod("implAddEnableNativeAccessToAllUnnamed");
            enable.setAccessible(true);
            enable.invoke(runtime.isNamed() ? runtime : null);
        } catch (ReflectiveOperationException | RuntimeException e) {
            System.err.println("fiber-agent: could not enable native access for the fiber runtime (" + e
                    + "); the JDK will warn once when the epoll library loads");
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

    /** Whether some class loader has loaded a class named {@code className}. */
    private static boolean isLoaded(Instrumentation inst, String className) {
        for (Class<?> c : inst.getAllLoadedClasses()) {
            if (c.getName().equals(className)) {
                return true;
            }
        }
        return false;
    }
}
