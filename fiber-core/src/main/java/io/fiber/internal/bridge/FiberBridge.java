package io.fiber.internal.bridge;

import java.io.FileDescriptor;
import java.io.IOException;
import java.util.concurrent.Executor;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * The bridge between patched JDK classes, the agent and the fiber runtime. Not an application API.
 *
 * <p>The agent defines this class (and its nested interfaces) in the boot class loader, then inserts
 * calls to its static {@code at...} methods into {@code sun.nio.ch.Poller}, {@code NioSocketImpl},
 * {@code UnixDispatcher}, {@code java.lang.VirtualThread} and {@code java.lang.ThreadBuilders}, and calls to {@link #blockingCall}
 * (or its offloading and pinned-park variants) into the JDK's blocking methods: code in
 * {@code java.base} can only see classes of the boot loader. Each inserted call is one
 * {@code invokestatic}, at most followed by a return, so the logic lives here, in plain Java. The
 * runtime, loaded by the application class loader, installs its {@link Hooks} and its
 * {@link Detector} here; until then (and in a JVM that never uses fibers) every entry point finds
 * null and the patched method runs the JDK's own code. The agent installs its {@link Patcher}, so
 * the runtime can ask for more methods to be patched, and its {@link Threads}, which turns the
 * virtual threads that application code creates into fibers, and with {@code threads=fibers} its
 * platform threads too: the agent then also rewrites application classes' {@code new Thread(...)} and
 * daemon-flag calls to the {@code newThread}, {@code setDaemon} and {@code isDaemon} methods here.
 *
 * <p>Kept tiny and free of dependencies on purpose: everything it references must itself be on the
 * boot class path.
 */
public final class FiberBridge {
    /** Linux {@code POLLIN}, the JDK's {@code Net.POLLIN}. */
    private static final int POLLIN = 0x001;

    private static volatile Hooks hooks;
    private static volatile Detector detector;
    private static volatile Patcher patcher;
    private static volatile Threads threads;

    private FiberBridge() { }

    /** What patched JDK methods call; each method returns "not handled" for threads that are not ours. */
    public interface Hooks {
        /**
         * {@code Poller.poll} and {@code pollSelector}: the reactor that takes the calling thread's
         * socket waits (its carrier's), or null when the caller is not one of ours, and the JDK's
         * poller then handles the wait.
         */
        Reactor reactorForWait();

        /** {@code Poller.stopPoll}: an fd is being closed or shut down; wake whoever waits on it. */
        void stopPoll(int fd, int event);

        /**
         * {@code sun.nio.ch.UnixDispatcher}'s close and pre-close: a socket, pipe or datagram fd is
         * about to be closed (or replaced), so its number may soon name another file.
         */
        void fdClosing(FileDescriptor fd);

        /**
         * {@code EPollSelectorImpl.implClose}: a selector's epoll fd, which a select waits for
         * ({@link #atPollSelector}), is about to be closed (by a JNI call the close hook above does
         * not see), so its number may soon name another file.
         */
        void selectorClosing(int epfd);

        /**
         * {@code NioSocketImpl.tryRead}, a socket read of up to {@code len} bytes of fd number
         * {@code fd} into {@code b} at {@code off}: for a fiber on one of our carriers, the read
         * made by the caller's reactor, with the JDK's result and exceptions (bytes, or its
         * {@code IOStatus} codes: -1 end of stream, -2 nothing to read, -3 interrupted; when the
         * reactor knows the socket is drained, -2 without a system call). {@link #NOT_HANDLED} lets
         * the JDK's body read.
         */
        int tryRead(int fd, byte[] b, int off, int len) throws IOException;

        /** {@code NioSocketImpl.tryWrite}, as {@link #tryRead}: bytes written, -2 when none fit, -3 interrupted, or {@link #NOT_HANDLED}. */
        int tryWrite(int fd, byte[] b, int off, int len) throws IOException;

        /** A {@code SocketChannel} read begins, holding no lock yet: a safe point where the caller may yield. */
        void beginChannelRead();

        /**
         * A {@code ServerSocket} or blocking {@code ServerSocketChannel} accept begins, holding no lock
         * yet: a safe point, since an acceptor whose listen queue is full never waits.
         */
        void beginAccept();

        /**
         * {@code VirtualThread.schedule}: a timed park or wait of a virtual thread whose scheduler is
         * {@code scheduler}. Returns the timer, or null to let the JDK's timer threads handle it.
         */
        Future<?> schedule(Executor scheduler, Runnable task, long delay, TimeUnit unit);

        /**
         * At the entry of a blocking JDK method listed with detector category {@code category} (the
         * ordinal of {@code io.fiber.detector.BlockingCategory}), called on {@code receiver} (null for
         * a static method): if the call's category (a file stream's depends on what it carries) is
         * offloaded and the caller is a fiber on one of our carriers, moves the fiber onto an
         * offload-pool thread and returns true; the method then runs there, and
         * {@link #offloadExit} must follow when it returns or throws.
         */
        boolean offloadEnter(int category, Object receiver);

        /** After a method {@link #offloadEnter} moved: moves the fiber back to the carriers. */
        void offloadExit();

        /**
         * A socket wait in a reactor ({@link #atPoll}, not a selector's) begins: when a deadline of
         * the calling thread ({@code io.fiber.Timeout}) is open, registers the wait so that the
         * deadline can end it without an interrupt, and returns a token for {@link #timeoutWaitEnds};
         * otherwise returns null and costs nothing more.
         */
        default Object timeoutWaitBegins() {
            return null;
        }

        /**
         * The wait {@link #timeoutWaitBegins} returned {@code token} for has ended: the exception the
         * wait must end with because a deadline of the calling thread passed (during the wait, or
         * before it with its interrupt still pending), or null.
         */
        default IOException timeoutWaitEnds(Object token) {
            return null;
        }
    }

    /**
     * A carrier's epoll reactor, as a socket wait sees it ({@link #atPoll}): the registration and its
     * end are the reactor's, the park between them is the bridge's.
     */
    public interface Reactor {
        /** {@link #beginWait}: this reactor cannot take the wait (the JDK's poller handles it then). */
        long NOT_TAKEN = -1;
        /** {@link #beginWait}: the event came while nobody waited; retry the I/O now, there is no wait to end. */
        long READY = -2;

        /**
         * Registers the calling thread as waiting for {@code event} ({@code Net.POLLIN}/{@code POLLOUT}
         * values) on {@code fd}. Returns {@link #NOT_TAKEN}, {@link #READY}, or a token for the
         * {@link #endWait} that must follow once the thread has parked (whatever ended the park).
         */
        long beginWait(int fd, int event) throws IOException;

        /** Ends the wait {@link #beginWait} began and returned {@code wait} for; called by the thread that waited, wherever it runs now. */
        void endWait(int fd, int event, long wait);

        /** Forgets what this reactor knows of {@code fd}: its number may name another file now. Any thread. */
        void forget(int fd);
    }

    /**
     * What the JDK's blocking methods call on entry, once patched (the blocking-call detector). A
     * call's {@code rule} says on which threads it holds the OS thread; {@code receiver} is the
     * method's {@code this}, or null for a static method.
     */
    public interface Detector {
        /** Blocks whichever thread calls it (file I/O, DNS, process start). */
        int ANY_THREAD = 0;
        /** Blocks a platform thread; a virtual thread unmounts instead (sleeps, parks, socket waits). */
        int PLATFORM_THREAD = 1;
        /** A virtual thread parks its carrier because it is pinned ({@code VirtualThread.parkOnCarrierThread}). */
        int PINNED = 2;
        /** {@code Object.wait}: blocks a platform thread, and a virtual thread only while it is pinned. */
        int WAIT = 3;

        void blockingCall(String method, int category, int rule, Object receiver);
    }

    /** The agent's side: patches more methods to call the {@link Detector} (the detector's {@code markAsBlocking}). */
    public interface Patcher {
        /**
         * Patches {@code className.methodName} with JVM {@code descriptor} to report its calls with
         * {@code category}; throws {@link IllegalArgumentException} or {@link IllegalStateException}
         * naming what was wrong when that cannot be done.
         */
        void markAsBlocking(String className, String methodName, String descriptor, int category);
    }

    /**
     * The agent's side: what becomes of the threads application code creates. Installed at start-up
     * (before any scheduler exists, so it may build the default one on first use).
     */
    public interface Threads {
        /**
         * {@code ThreadBuilders.newVirtualThread} with no scheduler given, which every public way of
         * creating a virtual thread reaches ({@code Thread.ofVirtual()}, {@code startVirtualThread},
         * {@code Executors.newVirtualThreadPerTaskExecutor()}): an unstarted fiber to return instead
         * of the JDK's virtual thread, or null to let the JDK create its own. {@code characteristics}
         * are {@code java.lang.Thread}'s bits (whether to inherit inheritable thread locals).
         */
        Thread newVirtualThread(String name, int characteristics, Runnable task);

        /**
         * {@code new Thread(...)} in an application class, rewritten at its definition to one of the
         * {@code newThread} entry points below, with the arguments of the public constructor it replaces
         * ({@code group} null when none was given, {@code name} null for a generated {@code Thread-N},
         * {@code stackSize} 0 for none) and {@code creator}, the binary name of the class whose code
         * calls it (null for a constructor reference, {@code Thread::new}): the new unstarted thread, a fiber or the platform thread the constructor would
         * have made; null lets the bridge call the constructor.
         */
        default Thread newThread(ThreadGroup group, Runnable task, String name, long stackSize, boolean inheritThreadLocals,
                                 String creator) {
            return null;
        }

        /**
         * The platform thread {@code made} that {@code maker} (a {@code Thread.ofPlatform()} builder or
         * factory, the JDK's default thread factory, or the factory of a {@code Thread} subclass known to
         * be safe as a fiber, Tomcat's {@code TaskThreadFactory}) made for {@code task}, unstarted: the
         * thread to return in its place, or {@code made}.
         */
        default Thread platformThread(Thread made, Object maker, Runnable task) {
            return made;
        }

        /**
         * {@code Executors.defaultThreadFactory()} has made {@code factory}: the policy may note who
         * asked for it, since the pool that owns it may later start its threads from other code (a JDK
         * thread feeding the pool).
         */
        default void defaultThreadFactoryMade(Object factory) { }

        /** A virtual thread is about to start ({@code VirtualThread.start}), on the thread that starts it. */
        default void starting(Thread thread) { }

        /**
         * {@code run()} called on a virtual thread, as code calls a platform thread's to run its task in
         * the calling thread: true when this policy made it a fiber and ran its task here; false leaves
         * the JDK's {@code VirtualThread.run}, which does nothing.
         */
        default boolean runDirectly(Thread thread) {
            return false;
        }

        /**
         * {@code thread.setDaemon(on)} in an application class: true when the thread is one this
         * policy made a fiber and it took the flag; false to let the call go to {@code thread}.
         */
        default boolean setDaemon(Thread thread, boolean on) {
            return false;
        }

        /** {@code thread.isDaemon()} in an application class: the flag of a thread this policy made a fiber, or null. */
        default Boolean daemon(Thread thread) {
            return null;
        }

        /** Whether this policy makes application threads fibers ({@code threads=fibers}). */
        default boolean convertsThreads() {
            return false;
        }

        /** How many application threads became fibers so far, by how they were created (insertion-ordered). */
        default java.util.Map<String, Long> convertedThreads() {
            return java.util.Map.of();
        }

        /** How many application threads this policy saw and left platform threads so far, by why (insertion-ordered). */
        default java.util.Map<String, Long> platformThreads() {
            return java.util.Map.of();
        }
    }

    // Entry points of patched JDK methods: the agent's table (JdkPatches) says which calls which.

    /**
     * At the entry of {@code Poller.poll}: waits for {@code event} ({@code Net.POLLIN}/{@code POLLOUT})
     * on {@code fd} in the hooks' reactor, and returns true, so the JDK's body is skipped; returns
     * false at once when the caller is not one of ours or the reactor cannot take the wait. The wait:
     * register the calling thread ({@link Reactor#beginWait}), then, if {@code isOpen} still holds,
     * park for at most {@code nanos} (0: no limit), then {@link Reactor#endWait}. It ends on readiness,
     * timeout, unpark, interrupt or {@code stopPoll}; callers re-check and retry, as with the JDK's
     * poller. {@code isOpen} is null for a selector's fd.
     *
     * <p>A deadline ({@code io.fiber.Timeout}) of the calling thread that passes during a socket wait
     * here unparks it without an interrupt, and the wait then throws the
     * {@link java.net.SocketTimeoutException} the hooks give ({@link Hooks#timeoutWaitEnds}), as an
     * {@code SO_TIMEOUT} would, so the JDK leaves the socket open: {@code NioSocketImpl}, the
     * {@code java.net} stream wrappers and the channels let a {@code SocketTimeoutException} pass
     * without closing anything, while an interrupt makes them close the socket. A selector's wait
     * ({@code isOpen} null) keeps the interrupt, which its select loop needs to return.
     *
     * <p>Every parked fiber keeps the frames under its park in its stack chunk on the heap, one per
     * idle connection, so the park is here, in the frame the patch calls, and the registration has
     * returned before it: the JDK's {@code Poller.poll}, this frame and {@code LockSupport.park},
     * as many frames as the JDK's own poller path.
     */
    public static boolean atPoll(int fd, int event, long nanos, BooleanSupplier isOpen) throws IOException {
        Hooks h = hooks;
        Reactor reactor = h == null ? null : h.reactorForWait();
        if (reactor == null) {
            return false;
        }
        long wait = reactor.beginWait(fd, event);
        if (wait == Reactor.NOT_TAKEN) {
            return false;
        }
        Object deadline = isOpen == null ? null : h.timeoutWaitBegins();
        IOException timedOut = null;
        try {
            if (wait != Reactor.READY) {
                try {
                    if (isOpen == null || isOpen.getAsBoolean()) {
                        if (nanos > 0) {
                            LockSupport.parkNanos(nanos);
                        } else {
                            LockSupport.park();
                        }
                    }
                } finally {
                    reactor.endWait(fd, event, wait);
                }
            }
        } finally {
            if (deadline != null) {
                timedOut = h.timeoutWaitEnds(deadline);
            }
        }
        if (timedOut != null) {
            throw timedOut;
        }
        return true;
    }

    /**
     * At the entry of {@code Poller.pollSelector}: true when the hooks' reactor waited for the
     * selector's epoll fd to be readable. The reactor keeps that fd registered between selects, as
     * it does a socket's, and forgets it when the selector closes ({@link #atSelectorClose}); the fd
     * closes only after its select returned, as the JDK's poller also assumes, so there is no open
     * check. Forgetting it at every select instead made each one add the fd afresh: the kernel checks
     * an epoll fd added to another epoll for loops, a walk over every fd the selector watches.
     */
    public static boolean atPollSelector(int fd, long nanos) throws IOException {
        return atPoll(fd, POLLIN, nanos, null);
    }

    /** At the entry of {@code EPollSelectorImpl.implClose}, with the selector's epoll fd. */
    public static void atSelectorClose(int epfd) {
        Hooks h = hooks;
        if (h != null) {
            h.selectorClosing(epfd);
        }
    }

    /** At the entry of {@code Poller.stopPoll}: wakes the hooks' waiters too; the JDK's body follows. */
    public static void atStopPoll(int fd, int event) {
        Hooks h = hooks;
        if (h != null) {
            h.stopPoll(fd, event);
        }
    }

    /** At the entry of {@code UnixDispatcher.close} and {@code implPreClose}. */
    public static void atFdClose(FileDescriptor fd) {
        Hooks h = hooks;
        if (h != null) {
            h.fdClosing(fd);
        }
    }

    /** At the entry of {@code SocketChannelImpl}'s reads. */
    public static void beginChannelRead() {
        Hooks h = hooks;
        if (h != null) {
            h.beginChannelRead();
        }
    }

    /** At the entry of {@code NioSocketImpl.accept} and {@code ServerSocketChannelImpl.accept()}. */
    public static void beginAccept() {
        Hooks h = hooks;
        if (h != null) {
            h.beginAccept();
        }
    }

    /** What {@link #atTryRead} and {@link #atTryWrite} return to let the JDK's own body run: no read or write returns it. */
    public static final int NOT_HANDLED = Integer.MIN_VALUE;

    /** At the entry of {@code NioSocketImpl.tryRead}: its result, or {@link #NOT_HANDLED} to run its body. */
    public static int atTryRead(int fd, byte[] b, int off, int len) throws IOException {
        Hooks h = hooks;
        return h == null ? NOT_HANDLED : h.tryRead(fd, b, off, len);
    }

    /** At the entry of {@code NioSocketImpl.tryWrite}: its result, or {@link #NOT_HANDLED} to run its body. */
    public static int atTryWrite(int fd, byte[] b, int off, int len) throws IOException {
        Hooks h = hooks;
        return h == null ? NOT_HANDLED : h.tryWrite(fd, b, off, len);
    }

    /** At the entry of {@code VirtualThread.schedule}: a timer the method returns at once, or null to run the JDK's body. */
    public static Future<?> atSchedule(Executor scheduler, Runnable task, long delay, TimeUnit unit) {
        Hooks h = hooks;
        return h == null ? null : h.schedule(scheduler, task, delay, unit);
    }

    /**
     * At the entry of {@code ThreadBuilders.newVirtualThread(scheduler, name, characteristics, task)}:
     * a fiber the method returns at once instead of creating a virtual thread, or null to run the
     * JDK's body. The runtime's own fibers come through here too, with their scheduler given, so
     * they always get null.
     */
    public static Thread atNewVirtualThread(Executor scheduler, String name, int characteristics, Runnable task) {
        Threads t = threads;
        return t == null || scheduler != null ? null : t.newVirtualThread(name, characteristics, task);
    }


    // What application code calls instead of java.lang.Thread's public constructors and its daemon flag,
    // where the agent rewrote the call at the class's definition ({@code threads=fibers}): each takes the
    // constructor's arguments and the calling class's name, and returns the unstarted thread.

    public static Thread newThread(String creator) {
        Thread t = made(null, null, null, 0, true, creator);
        return t != null ? t : new Thread();
    }

    public static Thread newThread(Runnable task, String creator) {
        Thread t = made(null, task, null, 0, true, creator);
        return t != null ? t : new Thread(task);
    }

    public static Thread newThread(ThreadGroup group, Runnable task, String creator) {
        Thread t = made(group, task, null, 0, true, creator);
        return t != null ? t : new Thread(group, task);
    }

    public static Thread newThread(String name, String creator) {
        Thread t = name == null ? null : made(null, null, name, 0, true, creator);
        return t != null ? t : new Thread(name);
    }

    public static Thread newThread(ThreadGroup group, String name, String creator) {
        Thread t = name == null ? null : made(group, null, name, 0, true, creator);
        return t != null ? t : new Thread(group, name);
    }

    public static Thread newThread(Runnable task, String name, String creator) {
        Thread t = name == null ? null : made(null, task, name, 0, true, creator);
        return t != null ? t : new Thread(task, name);
    }

    public static Thread newThread(ThreadGroup group, Runnable task, String name, String creator) {
        Thread t = name == null ? null : made(group, task, name, 0, true, creator);
        return t != null ? t : new Thread(group, task, name);
    }

    public static Thread newThread(ThreadGroup group, Runnable task, String name, long stackSize, String creator) {
        Thread t = name == null ? null : made(group, task, name, stackSize, true, creator);
        return t != null ? t : new Thread(group, task, name, stackSize);
    }

    public static Thread newThread(ThreadGroup group, Runnable task, String name, long stackSize, boolean inheritThreadLocals,
                                   String creator) {
        Thread t = name == null ? null : made(group, task, name, stackSize, inheritThreadLocals, creator);
        return t != null ? t : new Thread(group, task, name, stackSize, inheritThreadLocals);
    }

    // What a constructor reference to java.lang.Thread (Thread::new) in an application class calls instead,
    // one for each public constructor: the agent finds the creator on the stack, the code that calls the reference.

    public static Thread newThreadByReference() {
        return newThread((String) null);
    }

    public static Thread newThreadByReference(Runnable task) {
        return newThread(task, (String) null);
    }

    public static Thread newThreadByReference(ThreadGroup group, Runnable task) {
        return newThread(group, task, (String) null);
    }

    public static Thread newThreadByReference(String name) {
        return newThread(name, (String) null);
    }

    public static Thread newThreadByReference(ThreadGroup group, String name) {
        return newThread(group, name, (String) null);
    }

    public static Thread newThreadByReference(Runnable task, String name) {
        return newThread(task, name, (String) null);
    }

    public static Thread newThreadByReference(ThreadGroup group, Runnable task, String name) {
        return newThread(group, task, name, (String) null);
    }

    public static Thread newThreadByReference(ThreadGroup group, Runnable task, String name, long stackSize) {
        return newThread(group, task, name, stackSize, (String) null);
    }

    public static Thread newThreadByReference(ThreadGroup group, Runnable task, String name, long stackSize, boolean inheritThreadLocals) {
        return newThread(group, task, name, stackSize, inheritThreadLocals, null);
    }

    /** The agent's thread, or null for the constructor's own (also where a null name must throw as the constructor does). */
    private static Thread made(ThreadGroup group, Runnable task, String name, long stackSize, boolean inherit, String creator) {
        Threads t = threads;
        return t == null ? null : t.newThread(group, task, name, stackSize, inherit, creator);
    }

    /** {@code thread.setDaemon(on)} in an application class. */
    public static void setDaemon(Thread thread, boolean on) {
        Threads t = threads;
        if (t == null || thread == null || !t.setDaemon(thread, on)) {
            thread.setDaemon(on);
        }
    }

    /** {@code thread.isDaemon()} in an application class. */
    public static boolean isDaemon(Thread thread) {
        Threads t = threads;
        Boolean daemon = t == null || thread == null ? null : t.daemon(thread);
        return daemon != null ? daemon : thread.isDaemon();
    }

    /**
     * Before each return of {@code ThreadBuilders.PlatformThreadBuilder.unstarted}, of its factory's
     * {@code newThread}, of {@code Executors.DefaultThreadFactory.newThread} and of a known {@code Thread}
     * subclass's factory method (the agent's {@code ThreadCallSites}): the thread to return instead of
     * the platform thread {@code made}.
     */
    public static Thread atNewPlatformThread(Thread made, Object maker, Runnable task) {
        Threads t = threads;
        return t == null ? made : t.platformThread(made, maker, task);
    }

    /** On return from {@code Executors.defaultThreadFactory()}: tells the policy, returns the factory. */
    public static java.util.concurrent.ThreadFactory atNewDefaultThreadFactory(java.util.concurrent.ThreadFactory made) {
        Threads t = threads;
        if (t != null) {
            t.defaultThreadFactoryMade(made);
        }
        return made;
    }

    /** At the entry of {@code VirtualThread.run()}, which only code calling a thread's run() reaches: true skips its body. */
    public static boolean atVirtualThreadRun(Object thread) {
        Threads t = threads;
        return t != null && t.runDirectly((Thread) thread);
    }

    /** At the entry of {@code VirtualThread.start(ThreadContainer)}. */
    public static void atVirtualThreadStart(Object thread) {
        Threads t = threads;
        if (t != null) {
            t.starting((Thread) thread);
        }
    }

    /**
     * At the entry of a blocking method: hands the call to the installed detector, if any. Also
     * what the methods the agent rewrites at class definition call (library natives, methods marked
     * before their class loaded).
     */
    public static void blockingCall(String method, int category, int rule, Object receiver) {
        Detector d = detector;
        if (d != null) {
            d.blockingCall(method, category, rule, receiver);
        }
    }

    /**
     * At the entry of a blocking method of an offloaded category: the hooks may move the calling
     * fiber onto an offload-pool thread ({@link Hooks#offloadEnter}); the detector's check follows,
     * so a call moved off its carrier is not flagged. Returns whether it moved, which the method
     * passes to {@link #atOffloadedExit} when it returns or throws. A check that throws moves the
     * fiber back first, since the method then never runs.
     */
    public static boolean atOffloadedEntry(String method, int category, int rule, Object receiver) {
        Hooks h = hooks;
        boolean moved = h != null && h.offloadEnter(category, receiver);
        try {
            blockingCall(method, category, rule, receiver);
        } catch (RuntimeException | Error e) {
            if (moved) {
                h.offloadExit();
            }
            throw e;
        }
        return moved;
    }

    /** When a method that {@link #atOffloadedEntry} moved returns or throws: moves the fiber back. */
    public static void atOffloadedExit(boolean moved) {
        if (moved) {
            hooks.offloadExit();
        }
    }

    /**
     * At the entry of {@code VirtualThread.parkOnCarrierThread(timed, nanos)}, where a pinned virtual
     * thread parks its carrier: a blocking call only when it will really park (no permit, time left).
     */
    public static void atPinnedPark(String method, int category, int rule, Object receiver, boolean timed, long nanos,
                                    boolean permit) {
        if (!permit && (!timed || nanos > 0)) {
            blockingCall(method, category, rule, receiver);
        }
    }

    /** The installed detector, or null (detector off, or no runtime yet). */
    public static Detector detector() {
        return detector;
    }

    /** Installs (or, with null, removes) the detector; returns the one it replaced. */
    public static synchronized Detector setDetector(Detector newDetector) {
        Detector old = detector;
        detector = newDetector;
        return old;
    }

    /** The agent's patcher, or null without the agent. */
    public static Patcher patcher() {
        return patcher;
    }

    public static void setPatcher(Patcher agentPatcher) {
        patcher = agentPatcher;
    }

    /** The agent's thread policy, or null (the agent leaves virtual threads to the JDK, or no agent). */
    public static Threads threads() {
        return threads;
    }

    public static void setThreads(Threads agentThreads) {
        threads = agentThreads;
    }

    /** Installs the runtime's hooks; false if another runtime (another class loader) got here first. */
    public static synchronized boolean install(Hooks runtimeHooks) {
        if (hooks != null) {
            return false;
        }
        hooks = runtimeHooks;
        return true;
    }

    /** True when the agent put this class on the boot class path, that is, when the JDK is patched to call it. */
    public static boolean isBridged() {
        return FiberBridge.class.getClassLoader() == null;
    }
}
