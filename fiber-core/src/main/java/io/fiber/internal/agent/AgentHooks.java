package io.fiber.internal.agent;

import io.fiber.internal.RuntimeLog;
import io.fiber.internal.Settings;
import io.fiber.internal.bridge.FiberBridge;
import io.fiber.internal.carrier.CarrierLoop;
import io.fiber.internal.carrier.CarrierThread;
import io.fiber.internal.carrier.Carriers;
import io.fiber.internal.carrier.FiberTask;
import io.fiber.internal.io.CarrierReactor;
import io.fiber.internal.io.Reactors;
import io.fiber.internal.jdk.NioFileDescriptors;
import io.fiber.internal.jdk.VirtualThreadHook;
import io.fiber.internal.time.CarrierTimers;

import java.io.FileDescriptor;
import java.io.IOException;
import java.util.concurrent.Executor;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * What the agent's patches of the JDK call into (docs/design.md sections 3 and 4), for fibers of our
 * schedulers only; everything else gets "not handled" and keeps the JDK's own path.
 *
 * <ul>
 *   <li>{@code Poller.poll}/{@code pollSelector}: the wait goes to the reactor of the carrier the
 *       fiber runs on, so the same carrier's {@code epoll_wait} wakes it, with no JDK poller thread
 *       in between. A pinned fiber's park blocks its carrier, so that carrier cannot poll its own
 *       reactor then; the carrier watchdog rescues a reactor left unpolled.</li>
 *   <li>{@code Poller.stopPoll}: every open reactor wakes whoever waits on the fd.</li>
 *   <li>{@code NioSocketImpl.tryRead} and {@code tryWrite}: the fiber's reactor makes the system
 *       call itself, on the caller's array, and may know that a read would find nothing (its input
 *       was drained by a short read, and no edge came since): the read is skipped and the fiber
 *       waits at once.</li>
 *   <li>{@code SocketChannelImpl}'s reads, {@code NioSocketImpl.accept} and
 *       {@code ServerSocketChannelImpl.accept()}: safe points, where a fiber the carrier watchdog
 *       asked to yield does so (a reader that always finds data, an acceptor that always finds a
 *       connection, never wait otherwise).</li>
 *   <li>{@code UnixDispatcher.close}/{@code implPreClose}, and {@code EPollSelectorImpl.implClose}
 *       for a selector's epoll fd: every open reactor forgets the fd's registration before its
 *       number can be reused.</li>
 *   <li>{@code VirtualThread.schedule}: a fiber's timed park goes to its carrier's
 *       {@link CarrierTimers}.</li>
 *   <li>A socket wait in a reactor under a {@link Timeout}: a deadline that passes ends the wait
 *       without an interrupt, and the wait throws {@code SocketTimeoutException}, so the JDK leaves
 *       the socket open ({@link SocketDeadlines}, which {@code io.fiber.Timeout} implements).</li>
 *   <li>The detector's blocking methods of an offloaded family (the agent option {@code offload=},
 *       system property {@code fiber.offload}): {@link #offloadEnter} remounts the calling fiber
 *       on an offload-pool thread for the call ({@link FiberTask}), {@link #offloadExit} brings it
 *       back. The fiber stays itself throughout (its thread, locks and thread locals); only its
 *       carrier changes, so the call holds a pool thread instead of a carrier loop.</li>
 * </ul>
 *
 * Active only when the agent put {@link FiberBridge} on the boot class path; the first
 * scheduler built installs it ({@link #install}), before its carriers open their reactors.
 */
public final class AgentHooks implements FiberBridge.Hooks {
    private static final RuntimeLog log = RuntimeLog.of(AgentHooks.class);
    private static final AtomicBoolean INSTALLED = new AtomicBoolean();


    /**
     * What a socket wait under a deadline needs from the API's {@code Timeout}: the wait is marked
     * before the park, and its end says whether a deadline ended it.
     */
    public interface SocketDeadlines {
        /** The calling fiber is about to park in a socket wait; returns a token, or null without a deadline. */
        Object waitBegins();

        /** The wait that {@code token} marked has ended: the exception it must throw, or null. */
        IOException waitEnds(Object token);
    }

    /** Which calls the agent option {@code offload=} (-Dfiber.offload) moves to the offload pool. */
    public interface Offloads {
        /**
         * Whether a call of a listed method of {@code category} (an ordinal of the detector's
         * categories), on {@code receiver}, is offloaded.
         */
        boolean offloads(int category, Object receiver);
    }

    private final SocketDeadlines deadlines;
    private final Offloads offloads;

    private AgentHooks(SocketDeadlines deadlines, Offloads offloads) {
        this.deadlines = deadlines;
        this.offloads = offloads;
    }

    /** Whether the agent offloads some call family, so schedulers start their offload pool at once. */
    public static boolean offloadsAny() {
        return !Settings.OFFLOAD.fromSystemProperty().isEmpty() && FiberBridge.isBridged();
    }

    /**
     * Installs the hooks in the bridge, once per JVM, when the agent patched the JDK and the JDK hook
     * is open; then carriers get reactors ({@link Reactors#enable}). Called by every scheduler
     * before it builds its carriers; only the first call does anything.
     */
    public static void install(SocketDeadlines deadlines, Offloads offloads) {
        if (!FiberBridge.isBridged() || !VirtualThreadHook.isAvailable() || !INSTALLED.compareAndSet(false, true)) {
            return;
        }
        if (!FiberBridge.install(new AgentHooks(deadlines, offloads))) {
            log.warn("another copy of the fiber runtime (another class loader) already owns the agent's hooks;"
                    + " fibers of this copy use the JDK's pollers and timer threads");
            return;
        }
        Reactors.enable();
    }

    /** The reactor of the calling fiber's carrier, or null: not ours, or a thread whose carrier was handed off (the JDK's poller takes the wait). */
    @Override
    public CarrierReactor reactorForWait() {
        return Carriers.reactorOfCaller();
    }

    @Override
    public int tryRead(int fd, byte[] b, int off, int len) throws IOException {
        CarrierLoop.yieldIfRequested(); // a safe point: a reader of a socket that always has data lets others run
        CarrierThread carrier = carrierForSocketCall();
        CarrierReactor reactor = carrier == null ? null : Carriers.reactorOf(carrier);
        return reactor == null ? FiberBridge.NOT_HANDLED : reactor.read(fd, b, off, len, carrier.callState());
    }

    @Override
    public int tryWrite(int fd, byte[] b, int off, int len) throws IOException {
        CarrierThread carrier = carrierForSocketCall();
        CarrierReactor reactor = carrier == null ? null : Carriers.reactorOf(carrier);
        return reactor == null ? FiberBridge.NOT_HANDLED : reactor.write(fd, b, off, len, carrier.callState());
    }

    @Override
    public void beginChannelRead() {
        CarrierLoop.yieldIfRequested(); // a channel read is a safe point too (it skips nothing: see JdkPatches)
    }

    @Override
    public void beginAccept() {
        CarrierLoop.yieldIfRequested(); // an accept loop draining a burst finds a connection every time and never waits
    }

    /** The caller's carrier as {@link #reactorForWait} finds it, cheaply null for platform threads, which read and write on every socket. */
    private static CarrierThread carrierForSocketCall() {
        return Thread.currentThread().isVirtual() ? Carriers.carrierOfCaller() : null;
    }

    @Override
    public void stopPoll(int fd, int event) {
        Reactors.stopPoll(fd, event);
    }

    @Override
    public void fdClosing(FileDescriptor fd) {
        if (!Reactors.anyOpen()) {
            return;
        }
        int fdVal = NioFileDescriptors.fdVal(fd);
        if (fdVal >= 0) {
            Reactors.forget(fdVal);
        }
    }

    @Override
    public void selectorClosing(int epfd) {
        if (Reactors.anyOpen()) {
            Reactors.forget(epfd);
        }
    }

    @Override
    public boolean offloadEnter(int category, Object receiver) {
        if (!Thread.currentThread().isVirtual() || !offloads.offloads(category, receiver)) {
            return false;
        }
        FiberTask task = Carriers.currentTask();
        if (task == null) {
            return false; // not a fiber on our carrier (already on the pool, or an inherited thread)
        }
        task.moveToOffloadPoolOnYield(true);
        Thread.yield();
        if (VirtualThreadHook.currentCarrierThread() instanceof CarrierThread) {
            task.moveToOffloadPoolOnYield(false); // pinned (a native frame or class initialiser below): it could not move
            return false;
        }
        return true;
    }

    @Override
    public void offloadExit() {
        Thread.yield(); // from the pool thread: the continuation goes to the inject queue, and a carrier resumes it
    }

    @Override
    public Object timeoutWaitBegins() {
        return deadlines.waitBegins();
    }

    @Override
    public IOException timeoutWaitEnds(Object token) {
        return deadlines.waitEnds(token);
    }

    @Override
    public Future<?> schedule(Executor scheduler, Runnable task, long delay, TimeUnit unit) {
        if (scheduler instanceof FiberTask fiber) {
            CarrierTimers timers = Carriers.timersOfCaller();
            if (timers != null) {
                return timers.schedule(task, unit.toNanos(delay), fiber.thread());
            }
        }
        return null;
    }
}
