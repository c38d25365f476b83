package io.fiber.agent;

import io.fiber.internal.bridge.FiberBridge;

import java.lang.instrument.Instrumentation;
import java.lang.invoke.MethodType;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static io.fiber.agent.Patch.arg;
import static io.fiber.agent.Patch.ownStatic;
import static io.fiber.agent.Patch.receiver;
import static io.fiber.agent.Patch.returned;
import static io.fiber.agent.Patch.thisField;

/**
 * The table of JDK methods the agent patches to reroute fibers' waits (docs/design.md sections 3 and 4),
 * and the code that applies them and the detector's {@link BlockingMethods} through one
 * {@link ClassPatcher}. Each patched method calls one entry point of {@code FiberBridge}, which asks
 * the runtime's hooks; when they handle the call the JDK's body is skipped, otherwise it runs
 * unchanged.
 *
 * <p>Before patching, every entry is looked up on the running JDK by name and descriptor, with the
 * fields and bridge methods its patch uses; a missing one stops the agent with a message naming it
 * (a JDK update that renames an internal must fail loudly, not leave fibers silently on the JDK's
 * pollers). After patching, every patch must have been written, or the agent stops too.
 */
final class JdkPatches {
    private static final String FD_VAL = "(Ljava/io/FileDescriptor;)I";
    static final List<Patch> REROUTES = List.of(
            Patch.returnIfTrue("sun.nio.ch.Poller", "poll", "(IIJLjava/util/function/BooleanSupplier;)V",
                    "atPoll", arg(0), arg(1), arg(2), arg(3)),
            // A Selector.select waits for its own epoll fd.
            Patch.returnIfTrue("sun.nio.ch.Poller", "pollSelector", "(IJ)V", "atPollSelector", arg(0), arg(1)),
            // An fd is being closed or shut down: wake our waiters too, then the JDK's.
            Patch.call("sun.nio.ch.Poller", "stopPoll", "(II)V", "atStopPoll", arg(0), arg(1)),
            // Every NIO socket, pipe and datagram fd is closed (or replaced by a pre-close) through these
            // two, so reactors forget the fd before its number can be reused.
            Patch.call("sun.nio.ch.UnixDispatcher", "close", "(Ljava/io/FileDescriptor;)V", "atFdClose", arg(0)),
            Patch.call("sun.nio.ch.UnixDispatcher", "implPreClose", "(Ljava/io/FileDescriptor;JJ)V", "atFdClose", arg(0)),
            // A selector's epoll fd is closed by a JNI call of its own (FileDispatcherImpl.closeIntFD).
            Patch.call("sun.nio.ch.EPollSelectorImpl", "implClose", "()V", "atSelectorClose", thisField("epfd", "I")),
            // The read and the write of a java.net.Socket stream: a fiber's reactor makes the system call
            // on the caller's array, or answers "nothing to read" (IOStatus.UNAVAILABLE, -2, which the
            // caller follows with a wait) without one when it knows the input is drained. The fd number
            // comes from the class's own fdVal, a field read, where IOUtil.fdVal would be a JNI call.
            Patch.returnUnless("sun.nio.ch.NioSocketImpl", "tryRead", "(Ljava/io/FileDescriptor;[BII)I", FiberBridge.NOT_HANDLED,
                    "atTryRead", ownStatic("fdVal", FD_VAL, 0), arg(1), arg(2), arg(3)),
            Patch.returnUnless("sun.nio.ch.NioSocketImpl", "tryWrite", "(Ljava/io/FileDescriptor;[BII)I", FiberBridge.NOT_HANDLED,
                    "atTryWrite", ownStatic("fdVal", FD_VAL, 0), arg(1), arg(2), arg(3)),
            // A blocking SocketChannel read, through the channel or its socket adaptor's stream: a safe
            // point for a yield request, before any lock, as the Socket reads above have in
            // atTryRead, so a reader of a channel that always has data lets other fibers run.
            Patch.call("sun.nio.ch.SocketChannelImpl", "read", "(Ljava/nio/ByteBuffer;)I", "beginChannelRead"),
            Patch.call("sun.nio.ch.SocketChannelImpl", "read", "([Ljava/nio/ByteBuffer;II)J", "beginChannelRead"),
            Patch.call("sun.nio.ch.SocketChannelImpl", "blockingRead", "([BIIJ)I", "beginChannelRead"),
            // An accept, before its lock: a safe point too, since an acceptor whose listen queue holds a
            // burst of connections finds one at every call and never waits (ServerSocket, and the
            // blocking ServerSocketChannel that Jetty's acceptors use).
            Patch.call("sun.nio.ch.NioSocketImpl", "accept", "(Ljava/net/SocketImpl;)V", "beginAccept"),
            Patch.call("sun.nio.ch.ServerSocketChannelImpl", "accept", "()Ljava/nio/channels/SocketChannel;", "beginAccept"),
            // Where a timed park, sleep or timed wait of a virtual thread whose scheduler is not a
            // ForkJoinPool gets its timer (JDK 25: on the JDK's VirtualThread-unparker threads). For
            // our fibers the runtime returns a timer of the carrier the fiber runs on.
            Patch.returnIfNonNull("java.lang.VirtualThread", "schedule",
                    "(Ljava/lang/Runnable;JLjava/util/concurrent/TimeUnit;)Ljava/util/concurrent/Future;",
                    "atSchedule", thisField("scheduler", "Ljava/util/concurrent/Executor;"), arg(0), arg(1), arg(2)));

    /**
     * With {@code virtual=fibers}: where every public way of creating a virtual thread ends, with no
     * scheduler given ({@code Thread.ofVirtual()}, {@code Thread.startVirtualThread},
     * {@code Executors.newVirtualThreadPerTaskExecutor()}); the bridge returns a fiber instead
     * ({@link FiberThreads}). The runtime's own fibers pass their scheduler and are left alone.
     */
    static final Patch NEW_VIRTUAL_THREAD = Patch.returnIfNonNull("java.lang.ThreadBuilders", "newVirtualThread",
            "(Ljava/util/concurrent/Executor;Ljava/lang/String;ILjava/lang/Runnable;)Ljava/lang/Thread;",
            "atNewVirtualThread", arg(0), arg(1), arg(2), arg(3));

    /**
     * The start of every virtual thread, on the starting thread, before the JDK submits it (which it
     * does with a starting virtual thread pinned): with {@code threads=fibers} (in
     * {@link #APPLICATION_THREADS}) and with {@code max-fibers}, where a starter that is a fiber
     * waits for a slot under a bound on live fibers unpinned ({@link FiberThreads#starting}).
     */
    static final Patch VIRTUAL_THREAD_START = Patch.call("java.lang.VirtualThread", "start",
            "(Ljdk/internal/vm/ThreadContainer;)V", "atVirtualThreadStart", receiver());

    /**
     * With {@code threads=fibers}: where the JDK makes the platform threads of {@code Thread.ofPlatform()}
     * (its {@code unstarted}, which {@code start} calls, and its {@code factory()}) and of the default
     * thread factory ({@code Executors.defaultThreadFactory()}, behind {@code ThreadPoolExecutor}, the
     * fixed, cached, single and scheduled pools): the JDK's body runs, then the bridge may return a
     * fiber in place of the unstarted thread it made ({@link ApplicationThreads}). A pool's logic is
     * untouched, so a pool of N threads is a pool of N fibers. And the start of every virtual thread,
     * so a converted non-daemon thread keeps the JVM alive from its start, and its {@code run()}.
     */
    static final List<Patch> APPLICATION_THREADS = List.of(
            Patch.filterReturn("java.lang.ThreadBuilders$PlatformThreadBuilder", "unstarted",
                    "(Ljava/lang/Runnable;)Ljava/lang/Thread;", "atNewPlatformThread", returned(), receiver(), arg(0)),
            Patch.filterReturn("java.lang.ThreadBuilders$PlatformThreadFactory", "newThread",
                    "(Ljava/lang/Runnable;)Ljava/lang/Thread;", "atNewPlatformThread", returned(), receiver(), arg(0)),
            Patch.filterReturn("java.util.concurrent.Executors$DefaultThreadFactory", "newThread",
                    "(Ljava/lang/Runnable;)Ljava/lang/Thread;", "atNewPlatformThread", returned(), receiver(), arg(0)),
            // Who asked for a default thread factory (the code that built the pool): the pool may start
            // its threads from JDK code later, an HttpServer's dispatcher feeding it exchanges.
            Patch.filterReturn("java.util.concurrent.Executors", "defaultThreadFactory",
                    "()Ljava/util/concurrent/ThreadFactory;", "atNewDefaultThreadFactory", returned()),
            VIRTUAL_THREAD_START,
            // A platform thread's run() runs its task in the caller (code calls it, or passes the thread as a
            // Runnable); a virtual thread's does nothing, so a converted thread's runs its task here.
            Patch.returnIfTrue("java.lang.VirtualThread", "run", "()V", "atVirtualThreadRun", receiver()));

    private JdkPatches() { }

    /**
     * Looks the {@link #REROUTES} up on this JDK, then has a new {@link ClassPatcher} check and write
     * them and {@code found} (patches whose methods their caller already looked up) in one pass, so
     * a class listed by both is transformed once; throws naming what went wrong. Returns the
     * patcher, which keeps them through any later retransformation and takes more.
     */
    static ClassPatcher install(Instrumentation inst, List<Patch> found) {
        for (Patch patch : REROUTES) {
            find(patch.owner(), patch.method(), patch.descriptor());
        }
        List<Patch> all = new ArrayList<>(REROUTES);
        all.addAll(found);
        Map<String, Class<?>> classes = new LinkedHashMap<>();
        for (Patch patch : all) {
            classes.computeIfAbsent(patch.owner(), JdkPatches::loadWithoutInitializing);
        }
        ClassPatcher patcher = ClassPatcher.install(inst);
        patcher.apply(all, classes);
        return patcher;
    }

    /** The JDK method {@code owner.name} with that descriptor; throws naming it when this JDK lacks it. */
    static Method find(String ownerName, String name, String descriptor) {
        Method m = declared(loadWithoutInitializing(ownerName), name, descriptor);
        if (m != null) {
            return m;
        }
        throw new IllegalStateException("this JDK (" + Runtime.version() + ") has no " + ownerName + "." + name + descriptor
                + ", which the agent patches; this agent supports JDK 25");
    }

    /** The method {@code owner} declares with that name and JVM descriptor, or null. */
    static Method declared(Class<?> owner, String name, String descriptor) {
        for (Method m : owner.getDeclaredMethods()) {
            if (m.getName().equals(name)
                    && MethodType.methodType(m.getReturnType(), m.getParameterTypes()).toMethodDescriptorString().equals(descriptor)) {
                return m;
            }
        }
        return null;
    }

    private static Class<?> loadWithoutInitializing(String name) {
        try {
            return Class.forName(name, false, null);
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException("this JDK (" + Runtime.version() + ") has no class " + name
                    + ", which the agent patches; this agent supports JDK 25", e);
        }
    }
}
