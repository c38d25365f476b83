package io.fiber.internal.io;

import io.fiber.internal.RuntimeLog;

import java.util.Iterator;
import java.util.ServiceLoader;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The carriers' reactors: the provider that opens them (fiber-io's, found with
 * {@link ServiceLoader}) and every reactor open now, for the calls that concern all of them (an fd
 * closing, a poll stopped, the periodic recheck). Reactors exist only once the agent's hooks are
 * installed ({@link #enable}): without them the JDK never routes a socket wait to one.
 */
public final class Reactors {
    private static final RuntimeLog log = RuntimeLog.of(Reactors.class);
    private static final CopyOnWriteArrayList<CarrierReactor> OPEN = new CopyOnWriteArrayList<>();
    private static final AtomicBoolean NO_REACTOR_WARNED = new AtomicBoolean();
    private static volatile ReactorProvider provider;
    private static final AtomicBoolean ENABLED = new AtomicBoolean();

    private Reactors() { }

    /**
     * Called once the agent's hooks route socket waits to the runtime: new carriers get reactors
     * from now on, if a provider (fiber-io) is on the class path.
     */
    public static void enable() {
        if (!ENABLED.compareAndSet(false, true)) {
            return;
        }
        Iterator<ReactorProvider> providers = ServiceLoader.load(ReactorProvider.class, Reactors.class.getClassLoader()).iterator();
        if (!providers.hasNext()) {
            log.warn("fiber sockets keep the JDK's pollers: no reactor provider (fiber-io) on the class path");
            return;
        }
        provider = providers.next();
    }

    /** Opens a reactor for a new carrier, or returns null (logged once) when there is none to open. */
    public static CarrierReactor open(String carrierName) {
        ReactorProvider p = provider;
        if (p == null) {
            return null;
        }
        try {
            CarrierReactor reactor = p.open(carrierName);
            OPEN.add(reactor);
            return reactor;
        } catch (Exception | LinkageError e) {
            if (NO_REACTOR_WARNED.compareAndSet(false, true)) {
                log.warn("carrier {} has no reactor, so fibers' sockets use the JDK's pollers (timers stay rerouted): {}",
                        carrierName, e.toString());
            }
            return null;
        }
    }

    public static void close(CarrierReactor reactor) {
        OPEN.remove(reactor);
        reactor.close();
    }

    /** Every open reactor wakes whoever waits on {@code fd} for {@code event}. */
    public static void stopPoll(int fd, int event) {
        for (CarrierReactor reactor : OPEN) {
            reactor.stopPoll(fd, event);
        }
    }

    /** Every open reactor forgets {@code fd}'s registration before its number can be reused. */
    public static void forget(int fd) {
        for (CarrierReactor reactor : OPEN) {
            reactor.forget(fd);
        }
    }

    public static boolean anyOpen() {
        return !OPEN.isEmpty();
    }

    /**
     * The safety net behind {@link #forget}, called by the watchdog every period: every open reactor
     * ends its waits that have trusted an old registration for a whole period.
     */
    public static void recheckLongWaits() {
        for (CarrierReactor reactor : OPEN) {
            reactor.recheckLongWaits();
        }
    }
}
