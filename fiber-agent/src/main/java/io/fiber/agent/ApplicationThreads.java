package io.fiber.agent;

import io.fiber.ApplicationThreadsReport;
import io.fiber.FiberScheduler;
import io.fiber.internal.Settings;
import io.fiber.internal.bridge.FiberBridge;
import io.fiber.internal.jdk.VirtualThreadHook;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.net.URL;
import java.security.CodeSource;
import java.security.ProtectionDomain;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.WeakHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.regex.Pattern;

/**
 * {@code threads=fibers}: the platform threads application code creates become fibers, eventlet's
 * {@code monkey_patch(thread=True)}. Three ways reach here: {@code new Thread(...)} in an application
 * class, rewritten at the class's definition ({@link ThreadCallSites}); {@code Thread.ofPlatform()}'s
 * builder and factory; and the JDK's default thread factory behind its thread pools
 * ({@link JdkPatches#APPLICATION_THREADS}). Each new thread is an unstarted fiber of
 * {@link FiberScheduler#current()} that keeps what the platform thread would have had: its name
 * (the JDK's own {@code Thread-N} numbering when none is given), its daemon flag (inherited from
 * its creator, or set), its uncaught exception handler, inheritable thread locals and context class
 * loader.
 *
 * <p>A virtual thread is always daemon, so the flag lives here for converted threads: application
 * classes' {@code setDaemon} and {@code isDaemon} calls are rewritten to ask here, and while a
 * converted non-daemon thread runs, one platform non-daemon thread ({@link KeepAlive}) keeps the
 * JVM alive, as the platform thread would have. It is taken as the thread starts (the patched
 * {@code VirtualThread.start}, on the starting thread, so {@code main} returning right after
 * {@code start()} cannot end the JVM) and given back after the thread's task and its uncaught
 * exception handler ran.
 *
 * <p>Left platform threads, and counted by why: threads of JDK code (a thread-making call whose
 * nearest caller outside the JDK's thread and pool classes is JDK code), the runtime's own, threads
 * given a thread group of the application's own (a group's {@code uncaughtException}, counts and
 * enumeration would not see a virtual thread), and what {@code threads.exclude} names or
 * {@code threads.only} does not. Thread subclasses never come here: their call sites are left alone.
 */
final class ApplicationThreads {
    /** How a converted thread was created, as the report names it; the index into {@link #converted}. */
    enum Made {
        NEW_THREAD("new Thread"), OF_PLATFORM("Thread.ofPlatform()"), DEFAULT_FACTORY("default thread factory"),
        SUBCLASS_FACTORY("known Thread subclass factory");

        final String label;

        Made(String label) {
            this.label = label;
        }
    }

    /** Why a thread this policy saw stayed a platform thread; the index into {@link #leftAlone}. */
    enum Kept {
        JDK("created by JDK code"), RUNTIME("created by the fiber runtime"), GROUP("given a thread group"),
        EXCLUDED("excluded by threads.exclude"), NOT_ONLY("not named by threads.only"), NO_SCHEDULER("no fiber scheduler"),
        FAILED("failed to convert");

        final String label;

        Kept(String label) {
            this.label = label;
        }
    }


    private final List<Selector> exclude;
    private final List<Selector> only;
    private final Set<URL> runtimeLocations;
    private final AtomicLongArray converted = new AtomicLongArray(Made.values().length);
    private final AtomicLongArray leftAlone = new AtomicLongArray(Kept.values().length);
    /** Converted threads, started or not, to what this policy keeps for them; weak, so an unstarted thread dropped goes too. */
    private final Map<Thread, Converted> threads = Collections.synchronizedMap(new WeakHashMap<>());
    private final KeepAlive keepAlive = new KeepAlive();
    /** Converted threads not started yet: while there are none, a virtual thread's start costs one read here. */
    private final java.util.concurrent.atomic.AtomicInteger unstarted = new java.util.concurrent.atomic.AtomicInteger();
    private final MethodHandle genThreadName;
    private final Field uncaughtHandler;
    private final Field builderGroup;
    private final Field factoryGroup;
    private final Method builderCharacteristics;
    private final Method factoryCharacteristics;
    /** {@code Executors.DefaultThreadFactory}, which its deprecated {@code PrivilegedThreadFactory} extends. */
    private final Class<?> defaultFactory;
    /** The main thread's group: the agent starts on the main thread. */
    private final ThreadGroup mainGroup = Thread.currentThread().getThreadGroup();
    private final StackWalker walker = StackWalker.getInstance(StackWalker.Option.RETAIN_CLASS_REFERENCE);

    /** What this policy keeps for a converted thread: the daemon flag and whether it holds the keep-alive. */
    static final class Converted {
        final String creator;
        final Runnable task;
        volatile boolean daemon;
        final AtomicBoolean started = new AtomicBoolean();
        volatile boolean keepsAlive;

        Converted(String creator, Runnable task, boolean daemon) {
            this.creator = creator;
            this.task = task;
            this.daemon = daemon;
        }
    }

    /**
     * Reads the JDK internals it needs once, at start-up, so a JDK that renamed one stops the agent
     * with its name: {@code java.lang} is open to the runtime's module (and this one) by now.
     */
    ApplicationThreads(List<String> exclude, List<String> only) {
        this.exclude = exclude.stream().map(Selector::of).toList();
        this.only = only.stream().map(Selector::of).toList();
        this.runtimeLocations = runtimeLocations();
        try {
            Method gen = Thread.class.getDeclaredMethod("genThreadName");
            gen.setAccessible(true);
            genThreadName = MethodHandles.lookup().unreflect(gen).asType(MethodType.methodType(String.class));
            uncaughtHandler = Thread.class.getDeclaredField("uncaughtExceptionHandler");
            uncaughtHandler.setAccessible(true);
            Class<?> builder = Class.forName("java.lang.ThreadBuilders$PlatformThreadBuilder", false, null);
            Class<?> factory = Class.forName("java.lang.ThreadBuilders$PlatformThreadFactory", false, null);
            builderGroup = accessible(builder.getDeclaredField("group"));
            factoryGroup = accessible(factory.getDeclaredField("group"));
            builderCharacteristics = accessible(builder.getSuperclass().getDeclaredMethod("characteristics"));
            factoryCharacteristics = accessible(factory.getSuperclass().getDeclaredMethod("characteristics"));
            defaultFactory = Class.forName("java.util.concurrent.Executors$DefaultThreadFactory", false, null);
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new IllegalStateException("this JDK (" + Runtime.version() + ") lacks a java.lang.Thread internal that"
                    + " threads=fibers reads (" + e + "); this agent supports JDK 25", e);
        }
    }

    private static <T extends java.lang.reflect.AccessibleObject> T accessible(T member) {
        member.setAccessible(true);
        return member;
    }

    // ---- creating threads ---------------------------------------------------------------------

    /**
     * {@code new Thread(...)} in application class {@code creator}, or a constructor reference
     * ({@code Thread::new}) with {@code creator} null (see {@link FiberBridge.Threads#newThread}).
     */
    Thread newThread(ThreadGroup group, Runnable task, String name, long stackSize, boolean inherit, String creator) {
        String threadName = name != null ? name : generatedName();
        try {
            return convert(group, task, threadName, stackSize, inherit, creator);
        } catch (RuntimeException | LinkageError e) {
            failed(e); // as for a pool's thread: the constructor's own thread, with the name it would have had
            return new Thread(group, task, threadName, stackSize, inherit);
        }
    }

    private Thread convert(ThreadGroup group, Runnable task, String threadName, long stackSize, boolean inherit, String site) {
        Thread current = Thread.currentThread();
        // A constructor reference (Thread::new) is rewritten without its class: whoever calls it is the creator then.
        String creator = site != null ? site : creator();
        Kept kept = creator == null ? Kept.JDK : creator.isEmpty() ? Kept.RUNTIME
                : ownGroup(group) ? Kept.GROUP : selected(creator, threadName);
        if (kept == null) {
            Thread fiber = fiber(threadName, inherit, task, creator, daemonOf(current), null, Made.NEW_THREAD);
            if (fiber != null) {
                return fiber;
            }
        } else {
            count(kept);
        }
        return new Thread(group, task, threadName, stackSize, inherit);
    }

    /** The platform thread a builder, its factory or the default thread factory made (see {@link FiberBridge.Threads#platformThread}). */
    Thread platformThread(Thread made, Object maker, Runnable task) {
        try {
            return convert(made, maker, task);
        } catch (RuntimeException | LinkageError e) {
            // The agent must never break a program: a thread it cannot convert stays the JDK's.
            failed(e);
            return made;
        }
    }

    /**
     * The creators of the default thread factories application code asked for (by identity, weakly):
     * a pool keeps its factory, and the factory's threads are the pool's maker's even when JDK code
     * makes the pool start them.
     */
    private final Map<Object, String> factoryCreators = Collections.synchronizedMap(new WeakHashMap<>());

    /** {@code Executors.defaultThreadFactory()} made {@code factory}: notes the application class that asked for it. */
    void defaultThreadFactoryMade(Object factory) {
        try {
            String creator = creator();
            if (creator != null && !creator.isEmpty()) {
                factoryCreators.put(factory, creator);
            }
        } catch (RuntimeException | LinkageError e) {
            failed(e); // the agent must never break a program: the factory then works as the JDK's
        }
    }

    private Thread convert(Thread made, Object maker, Runnable task) {
        boolean defaultFactory = this.defaultFactory.isInstance(maker);
        boolean ofPlatform = maker.getClass() == builderGroup.getDeclaringClass() || maker.getClass() == factoryGroup.getDeclaringClass();
        String creator = creator();
        if (creator == null && defaultFactory) {
            creator = factoryCreators.get(maker); // a pool the application made, started from JDK code
        }
        Kept kept;
        if (creator == null) {
            kept = Kept.JDK;
        } else if (creator.isEmpty()) {
            kept = Kept.RUNTIME;
        } else if (ofPlatform ? ownGroup(maker) : !defaultFactory && ownGroup(made.getThreadGroup())) {
            kept = Kept.GROUP;
        } else {
            kept = selected(creator, made.getName());
        }
        if (kept == Kept.JDK || kept == Kept.RUNTIME) {
            count(kept); // not the application's thread: counted, but not reported as its choice
            return made;
        }
        Thread fiber = null;
        if (kept == null) {
            // A subclass factory's thread came from a Thread constructor, which inherits.
            fiber = fiber(made.getName(), !ofPlatform || inherits(maker), task, creator, made.isDaemon(), handler(made),
                    defaultFactory ? Made.DEFAULT_FACTORY : ofPlatform ? Made.OF_PLATFORM : Made.SUBCLASS_FACTORY);
            if (fiber != null && fiber.getContextClassLoader() != made.getContextClassLoader()) {
                fiber.setContextClassLoader(made.getContextClassLoader()); // one the factory set (Tomcat's: its own loader)
            }
        } else {
            count(kept);
        }
        return fiber != null ? fiber : made;
    }

    /**
     * The unstarted fiber, or null (counted) when no scheduler runs fibers on its own carriers. A
     * thread made while the default scheduler is being built by this very thread gets null too.
     */
    private Thread fiber(String name, boolean inherit, Runnable task, String creator, boolean daemon,
                         Thread.UncaughtExceptionHandler handler, Made made) {
        FiberScheduler scheduler = FiberThreads.scheduler();
        if (scheduler == null) {
            count(Kept.NO_SCHEDULER);
            return null;
        }
        Converted state = new Converted(creator, task, daemon);
        Thread thread = scheduler.unstartedFiber(name, inherit, new Task(task, state));
        if (handler != null) {
            thread.setUncaughtExceptionHandler(handler);
        }
        threads.put(thread, state);
        unstarted.incrementAndGet();
        converted.incrementAndGet(made.ordinal());
        return thread;
    }

    /** A converted thread's task: the application's, then its uncaught exception's handling, then the keep-alive back. */
    private final class Task implements Runnable {
        private final Runnable task;
        private final Converted state;

        Task(Runnable task, Converted state) {
            this.task = task;
            this.state = state;
        }

        @Override
        public void run() {
            try {
                if (task != null) {
                    task.run();
                }
            } catch (Throwable e) {
                // What the JDK does with a thread's uncaught exception, here so that it happens before the
                // keep-alive is given back: the JVM must not exit before the handler has printed.
                Thread self = Thread.currentThread();
                try {
                    self.getUncaughtExceptionHandler().uncaughtException(self, e);
                } catch (Throwable ignored) {
                    // as the JDK ignores a handler's own exception
                }
            } finally {
                if (state.keepsAlive) {
                    state.keepsAlive = false;
                    keepAlive.release();
                }
            }
        }
    }

    private final AtomicBoolean failedOnce = new AtomicBoolean();

    /** A thread left to the JDK because converting it failed: said once, on standard error, with the cause. */
    private void failed(Throwable e) {
        count(Kept.FAILED);
        if (failedOnce.compareAndSet(false, true)) {
            System.err.println("fiber-agent: threads=fibers could not convert a thread and left it a platform thread"
                    + " (a bug of the agent: please report it): " + e);
        }
    }

    // ---- the daemon flag and the keep-alive ---------------------------------------------------

    /** A virtual thread starts: a converted non-daemon one takes the keep-alive, once. */
    void starting(Thread thread) {
        if (unstarted.get() == 0) {
            return; // every virtual thread's start comes here: no lookup while no converted thread waits to start
        }
        Converted state = threads.get(thread);
        if (state != null && state.started.compareAndSet(false, true)) {
            unstarted.decrementAndGet(); // a converted thread dropped unstarted keeps it above 0: lookups, but no error
            if (!state.daemon) {
                state.keepsAlive = true;
                keepAlive.acquire();
            }
        }
    }

    /** {@code run()} called on a thread: a converted one runs its task in the caller, as a platform thread's {@code run()} does. */
    boolean runDirectly(Thread thread) {
        Converted state = threads.get(thread);
        if (state == null) {
            return false;
        }
        if (state.task != null) {
            state.task.run();
        }
        return true;
    }

    /** {@code setDaemon} on a converted thread: as a platform thread's, which only a thread that is alive refuses. */
    boolean setDaemon(Thread thread, boolean on) {
        Converted state = threads.get(thread);
        if (state == null) {
            return false;
        }
        if (thread.isAlive()) {
            throw new IllegalThreadStateException();
        }
        state.daemon = on;
        return true;
    }

    /** A converted thread's daemon flag, or null. */
    Boolean daemon(Thread thread) {
        Converted state = threads.get(thread);
        return state == null ? null : state.daemon;
    }

    private boolean daemonOf(Thread thread) {
        Boolean daemon = daemon(thread);
        return daemon != null ? daemon : thread.isDaemon();
    }

    /**
     * One platform non-daemon thread, alive while a converted non-daemon thread runs: the JVM waits for
     * non-daemon platform threads only, and a virtual thread is always daemon.
     */
    static final class KeepAlive {
        private int live;
        private Thread keeper;

        synchronized void acquire() {
            if (live++ == 0 && keeper == null) {
                // Not rewritten (the runtime's own class), so a platform thread: non-daemon, whatever its starter is.
                keeper = new Thread(null, this::keep, "fiber-keep-alive", 0, false);
                keeper.setDaemon(false);
                keeper.setContextClassLoader(null);
                keeper.start();
            }
        }

        synchronized void release() {
            if (--live == 0) {
                notifyAll();
            }
        }

        private synchronized void keep() {
            while (live > 0) {
                try {
                    wait();
                } catch (InterruptedException e) {
                    // only the end of the last converted non-daemon thread ends it
                }
            }
            keeper = null;
        }
    }

    // ---- who creates the thread ---------------------------------------------------------------

    /**
     * The class whose code made the platform thread now being made: the nearest caller outside the
     * JDK's thread and pool classes ({@code java.lang}, {@code java.util.concurrent}), this agent and
     * the bridge. Null when that is other JDK code, "" when it is the fiber runtime. A pool replacing a
     * worker inside a converted thread has only JDK frames down to the converted thread's task: the
     * thread's creator is then this thread's creator.
     */
    private String creator() {
        return walker.walk(frames -> {
            for (StackWalker.StackFrame frame : (Iterable<StackWalker.StackFrame>) frames::iterator) {
                Class<?> c = frame.getDeclaringClass();
                if (c == Task.class) {
                    Converted state = threads.get(Thread.currentThread());
                    return state != null ? state.creator : null;
                }
                if (c == FiberBridge.class || c.getName().startsWith("io.fiber.agent.") && isRuntime(c)) {
                    continue;
                }
                ClassLoader loader = c.getClassLoader();
                if (loader == null || loader == ClassLoader.getPlatformClassLoader()) {
                    String pkg = c.getPackageName();
                    if (pkg.equals("java.lang") || pkg.equals("java.util.concurrent")) {
                        continue;
                    }
                    return null;
                }
                return isRuntime(c) ? "" : c.getName();
            }
            return null;
        });
    }

    /** Whether {@code c} is the runtime's own: an {@code io.fiber} class from the runtime's or this agent's jar. */
    boolean isRuntime(Class<?> c) {
        return c.getName().startsWith("io.fiber.") && isRuntimeLocation(c.getProtectionDomain());
    }

    /** Whether a class defined with {@code domain} comes from the runtime's or this agent's jar (or folder). */
    boolean isRuntimeLocation(ProtectionDomain domain) {
        CodeSource source = domain == null ? null : domain.getCodeSource();
        return source == null || source.getLocation() == null || runtimeLocations.contains(source.getLocation());
    }

    /**
     * Where the runtime's classes come from: the agent's jar, fiber-core's and fiber-io's (one jar
     * under the agent, and whatever the class path holds first otherwise). An {@code io.fiber} class
     * from elsewhere (a program of the project's tests, an application in that package) is an
     * application's.
     */
    private static Set<URL> runtimeLocations() {
        Set<URL> locations = new java.util.HashSet<>();
        for (String name : List.of(FiberAgent.class.getName(), FiberAgent.RUNTIME_CLASS, "io.fiber.io.EpollReactor")) {
            try {
                Class<?> c = Class.forName(name, false, ApplicationThreads.class.getClassLoader());
                CodeSource source = c.getProtectionDomain().getCodeSource();
                if (source != null && source.getLocation() != null) {
                    locations.add(source.getLocation());
                }
            } catch (ClassNotFoundException e) {
                // fiber-io is optional on the class path
            }
        }
        return Set.copyOf(locations);
    }

    // ---- selection ----------------------------------------------------------------------------

    /** Why {@code threads.exclude} or {@code threads.only} keep this thread a platform thread, or null. */
    private Kept selected(String creator, String name) {
        for (Selector s : exclude) {
            if (s.matches(creator, name)) {
                return Kept.EXCLUDED;
            }
        }
        if (only.isEmpty()) {
            return null;
        }
        for (Selector s : only) {
            if (s.matches(creator, name)) {
                return null;
            }
        }
        return Kept.NOT_ONLY;
    }

    /** One selector of {@code threads.exclude} or {@code threads.only} (grammar: {@link Settings#THREADS_EXCLUDE}). */
    record Selector(String text, String className, String packagePrefix, Pattern name) {
        static Selector of(String text) {
            if (text.startsWith("name:")) {
                StringBuilder regex = new StringBuilder();
                for (String part : text.substring("name:".length()).split("\\*", -1)) {
                    regex.append(regex.isEmpty() ? "" : ".*").append(Pattern.quote(part));
                }
                return new Selector(text, null, null, Pattern.compile(regex.toString(), Pattern.DOTALL));
            }
            if (text.endsWith(".*")) {
                return new Selector(text, null, text.substring(0, text.length() - 1), null);
            }
            return new Selector(text, text, null, null);
        }

        boolean matches(String creator, String threadName) {
            if (name != null) {
                return name.matcher(threadName).matches();
            }
            if (className != null) {
                // A nested or anonymous class counts as its top class's: com.example.Server$1 is com.example.Server's code.
                return creator.equals(className) || creator.startsWith(className + "$");
            }
            return creator.startsWith(packagePrefix);
        }
    }

    // ---- reading what the JDK made ------------------------------------------------------------

    private String generatedName() {
        try {
            return (String) genThreadName.invokeExact();
        } catch (Throwable e) {
            throw new IllegalStateException("Thread.genThreadName failed", e);
        }
    }

    private Thread.UncaughtExceptionHandler handler(Thread made) {
        try {
            return (Thread.UncaughtExceptionHandler) uncaughtHandler.get(made);
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Whether a {@code Thread.ofPlatform()} builder or factory was given a thread group of the application's own. */
    private boolean ownGroup(Object maker) {
        try {
            Field field = maker.getClass() == builderGroup.getDeclaringClass() ? builderGroup
                    : maker.getClass() == factoryGroup.getDeclaringClass() ? factoryGroup : null;
            return field != null && ownGroup((ThreadGroup) field.get(maker));
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Whether {@code group} is one the application made: not null, not the creator's own, not the JVM's
     * main or system group. Thread factories commonly pass the group of the thread that built them
     * ({@code Thread.currentThread().getThreadGroup()}, usually main's), and a pool then calls them
     * from its own threads too; only a group made on purpose keeps its threads platform threads.
     */
    private boolean ownGroup(ThreadGroup group) {
        return group != null && group != Thread.currentThread().getThreadGroup() && group != mainGroup && group != mainGroup.getParent();
    }

    /** Whether a {@code Thread.ofPlatform()} builder or factory lets its threads inherit inheritable thread locals. */
    private boolean inherits(Object maker) {
        try {
            Method m = maker.getClass() == builderGroup.getDeclaringClass() ? builderCharacteristics : factoryCharacteristics;
            return VirtualThreadHook.inheritsThreadLocals((int) m.invoke(maker));
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    // ---- the report ---------------------------------------------------------------------------

    private void count(Kept kept) {
        leftAlone.incrementAndGet(kept.ordinal());
    }

    Map<String, Long> convertedThreads() {
        return nonZero(converted, Arrays.stream(Made.values()).map(m -> m.label).toList());
    }

    Map<String, Long> platformThreads() {
        return nonZero(leftAlone, Arrays.stream(Kept.values()).map(k -> k.label).toList());
    }

    /** The non-zero counts by label, in the labels' order ({@code labels} indexed as {@code counts}). */
    private static Map<String, Long> nonZero(AtomicLongArray counts, List<String> labels) {
        Map<String, Long> byLabel = new LinkedHashMap<>();
        for (int i = 0; i < labels.size(); i++) {
            if (counts.get(i) > 0) {
                byLabel.put(labels.get(i), counts.get(i));
            }
        }
        return byLabel;
    }

    /** The line printed at start-up: what is converted and what never is. */
    String startLine() {
        List<String> choices = new ArrayList<>();
        if (!exclude.isEmpty()) {
            choices.add("threads.exclude=" + String.join("+", exclude.stream().map(Selector::text).toList()));
        }
        if (!only.isEmpty()) {
            choices.add("threads.only=" + String.join("+", only.stream().map(Selector::text).toList()));
        }
        return "fiber-agent: threads=fibers: application threads (new Thread, Thread.ofPlatform(), the JDK's default thread"
                + " factory) become fibers" + (choices.isEmpty() ? "" : " (" + String.join(", ", choices) + ")")
                + "; Thread subclasses (but Tomcat's TaskThread), JDK and runtime threads stay platform threads; a summary follows at exit";
    }

    /** The line printed at exit. */
    static String exitLine() {
        return "fiber-agent: " + ApplicationThreadsReport.get();
    }
}
