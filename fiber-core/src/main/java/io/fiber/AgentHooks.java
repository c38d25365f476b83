package io.fiber;

import io.fiber.bridge.FiberBridge;
import io.fiber.detector.BlockingCategory;
import io.fiber.internal.RuntimeLog;
import io.fiber.internal.Settings;
import io.fiber.spi.CarrierReactor;
import io.fiber.spi.ReactorProvider;

import java.io.FileDescriptor;
import java.io.IOException;
import java.util.Iterator;
import java.util.ServiceLoader;
import java.util.concurrent.CopyOnWriteArrayList;
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
 *       reactor then; the {@link CarrierWatchdog} rescues a reactor left unpolled.</li>
 *   <li>{@code Poller.stopPoll}: every open reactor wakes whoever waits on the fd.</li>
 *   <li>{@code NioSocketImpl.tryRead}: the fiber's reactor may know the read would find nothing
 *       (its input was drained by a short read, and no edge came since); the read is skipped and
 *       the fiber waits at once.</li>
 *   <li>{@code UnixDispatcher.close}/{@code implPreClose}: every open reactor forgets the fd's
 *       registration before its number can be reused.</li>
 *   <li>{@code VirtualThread.schedule}: a fiber's timed park goes to its carrier's
 *       {@link CarrierTimers}.</li>
 *   <li>A socket wait in a reactor under a {@link Timeout}: a deadline that passes ends the wait
 *       without an interrupt, and the wait throws {@code SocketTimeoutException}, so the JDK leaves
 *       the socket open ({@link Timeout#socketWaitBegins}, {@link Timeout#socketWaitEnds}).</li>
 *   <li>The detector's blocking methods of an offloaded family (the agent option {@code offload=},
 *       system property {@code fiber.offload}): {@link #offloadEnter} remounts the calling fiber
 *       on an offload-pool thread for the call ({@link FiberTask}), {@link #offloadExit} brings it
 *       back. The fiber stays itself throughout (its thread, locks and thread locals); only its
 *       carrier changes, so the call holds a pool thread instead of a carrier loop.</li>
 * </ul>
 *
 * Active only when the agent put {@link FiberBridge} on the boot class path; the first
 * {@link FiberScheduler} built installs it ({@link #reactors()}).
 */
final class AgentHooks implements FiberBridge.Hooks {
    private static final RuntimeLog log = RuntimeLog.of(AgentHooks.class);
    private static final CopyOnWriteArrayList<CarrierReactor> OPEN_REACTORS = new CopyOnWriteArrayList<>();
    private static final AtomicBoolean NO_REACTOR_WARNED = new AtomicBoolean();
    private static final ReactorProvider PROVIDER = install();

    /** Bit per {@link BlockingCategory} ordinal: the call families the agent option {@code offload=} (-Dfiber.offload) names. */
    private static final int OFFLOADED = bits(Settings.OFFLOAD.fromSystemProperty());
    private static final BlockingCategory[] CATEGORIES = BlockingCategory.values();

    private AgentHooks() { }

    private static int bits(java.util.Set<BlockingCategory> categories) {
        int bits = 0;
        for (BlockingCategory c : categories) {
            bits |= 1 << c.ordinal();
        }
        return bits;
    }

    static boolean offloadsAny() {
        return OFFLOADED != 0 && FiberBridge.isBridged();
    }

    /** The reactor provider for new carriers, or null when socket waits stay with the JDK's pollers. */
    static ReactorProvider reactors() {
        return PROVIDER;
    }

    private static ReactorProvider install() {
        if (!FiberBridge.isBridged() || !VirtualThreadHook.isAvailable()) {
            return null;
        }
        if (!FiberBridge.install(new AgentHooks())) {
            log.warn("another copy of the fiber runtime (another class loader) already owns the agent's hooks;"
                    + " fibers of this copy use the JDK's pollers and timer threads");
            return null;
        }
        Iterator<ReactorProvider> providers = ServiceLoader.load(ReactorProvider.class, AgentHooks.class.getClassLoader()).iterator();
        if (!providers.hasNext()) {
            log.warn("fiber sockets keep the JDK's pollers: no reactor provider (fiber-io) on the class path");
            return null;
        }
        ReactorProvider provider = providers.next();
        return provider;
    }

    /** Opens a reactor for a new carrier, or returns null (logged) when the platform cannot have one. */
    static CarrierReactor openReactor(String carrierName) {
        if (PROVIDER == null) {
            return null;
        }
        try {
            CarrierReactor reactor = PROVIDER.open(carrierName);
            OPEN_REACTORS.add(reactor);
            return reactor;
        } catch (Exception | LinkageError e) {
            if (NO_REACTOR_WARNED.compareAndSet(false, true)) {
                log.warn("carrier {} has no reactor, so fibers' sockets use the JDK's pollers (timers stay rerouted): {}",
                        carrierName, e.toString());
            }
            return null;
        }
    }

    static void closeReactor(CarrierReactor reactor) {
        OPEN_REACTORS.remove(reactor);
        reactor.close();
    }

    /** The reactor of the calling fiber's carrier, or null: not ours, or a thread whose carrier was handed off (the JDK's poller takes the wait). */
    @Override
    public CarrierReactor reactorForWait() {
        return VirtualThreadHook.currentCarrierThread() instanceof CarrierLoop.CarrierThread carrier
                && !carrier.loop.isHandedOff() ? carrier.loop.reactor : null;
    }

    @Override
    public boolean readBegins(int fd) {
        CarrierLoop.yieldIfRequested(); // a safe point: a reader of a socket that always has data lets others run
        CarrierReactor reactor = reactorForRead();
        return reactor != null && reactor.beginRead(fd);
    }

    @Override
    public void readReturned(int fd, int asked, int got) {
        CarrierReactor reactor = reactorForRead();
        if (reactor != null) {
            reactor.endRead(fd, asked, got);
        }
    }

    @Override
    public void channelReadBegins() {
        CarrierLoop.yieldIfRequested(); // a channel read is a safe point too (it skips nothing: see JdkPatches)
    }

    /** {@link #reactorForWait}, cheaply null for platform threads, which read on every socket. */
    private CarrierReactor reactorForRead() {
        return Thread.currentThread().isVirtual() ? reactorForWait() : null;
    }

    @Override
    public void stopPoll(int fd, int event) {
        for (CarrierReactor reactor : OPEN_REACTORS) {
            reactor.stopPoll(fd, event);
        }
    }

    @Override
    public void fdClosing(FileDescriptor fd) {
        if (OPEN_REACTORS.isEmpty()) {
            return;
        }
        int fdVal = NioFileDescriptors.fdVal(fd);
        if (fdVal >= 0) {
            for (CarrierReactor reactor : OPEN_REACTORS) {
                reactor.forget(fdVal);
            }
        }
    }

    /**
     * The safety net behind {@link #fdClosing}, called by the {@link CarrierWatchdog} every period:
     * every open reactor ends its waits that have trusted an old registration for a whole period.
     */
    static void recheckLongWaits() {
        for (CarrierReactor reactor : OPEN_REACTORS) {
            reactor.recheckLongWaits();
        }
    }

    @Override
    public boolean offloadEnter(int category, Object receiver) {
        if (!Thread.currentThread().isVirtual()
                || (OFFLOADED & (1 << BlockingCategory.of(CATEGORIES[category], receiver).ordinal())) == 0
                || !(VirtualThreadHook.currentCarrierThread() instanceof CarrierLoop.CarrierThread carrier)
                || !(carrier.loop.running() instanceof FiberTask task)) {
            return false; // not offloaded, or not a fiber on our carrier (already on the pool, or an inherited thread)
        }
        task.moveToBlockingPoolOnYield(true);
        Thread.yield();
        if (VirtualThreadHook.currentCarrierThread() instanceof CarrierLoop.CarrierThread) {
            task.moveToBlockingPoolOnYield(false); // pinned (a native frame or class initialiser below): it could not move
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
        return Timeout.socketWaitBegins();
    }

    @Override
    public IOException timeoutWaitEnds(Object token) {
        return Timeout.socketWaitEnds(token);
    }

    @Override
    public Future<?> schedule(Executor scheduler, Runnable task, long delay, TimeUnit unit) {
        if (scheduler instanceof FiberTask
                && VirtualThreadHook.currentCarrierThread() instanceof CarrierLoop.CarrierThread carrier) {
            return carrier.loop.timers.schedule(task, unit.toNanos(delay));
        }
        return null;
    }
}
