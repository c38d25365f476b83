package io.fiber.internal.jdk;

/**
 * Adapter over {@code sun.nio.ch.Poller}'s class initialisation (docs/design.md section 3).
 *
 * <p>On JDK 22+ the JDK's socket pollers are virtual threads that take the scheduler of whichever
 * thread first initialises {@code sun.nio.ch.Poller}. If that were one of our fibers, every JDK
 * sub-poller would live on one of our carrier loops. So the class is initialised from a platform
 * thread before the first scheduler starts.
 *
 * <p>Those sub-pollers are the JDK's own and stay on the JDK's scheduler when the agent makes every
 * other virtual thread a fiber ({@link #createsSubPoller}): each runs a loop of non-blocking polls of
 * its own epoll fd between parks, which the JDK's poller design expects of its default scheduler.
 */
public final class JdkPollers {
    /** The class that starts the JDK's pollers, and the name it gives its virtual threads (JDK 22-25). */
    private static final String POLLERS_CLASS = "sun.nio.ch.Poller$Pollers";
    private static final String SUB_POLLER_NAME = "SubPoller-";
    private static final StackWalker STACK = StackWalker.getInstance();

    private static volatile boolean initialized;

    private JdkPollers() { }

    /**
     * Whether the virtual thread being created, named {@code name}, is one of the JDK's sub-pollers:
     * the caller is the JDK's poller start-up. The stack is looked at only for a thread of that name,
     * so other threads' creation costs a string comparison.
     */
    public static boolean createsSubPoller(String name) {
        return name != null && name.startsWith(SUB_POLLER_NAME)
                && STACK.walk(frames -> frames.anyMatch(f -> f.getClassName().equals(POLLERS_CLASS)));
    }

    public static void initializeOffCarriers() {
        if (initialized) {
            return;
        }
        Runnable init = () -> {
            try {
                Class.forName("sun.nio.ch.Poller", true, null);
            } catch (ClassNotFoundException | LinkageError e) {
                // A JDK without this class routes virtual thread I/O some other way: nothing to pin down.
            }
        };
        if (Thread.currentThread().isVirtual()) {
            Thread platform = Thread.ofPlatform().name("fiber-poller-init").start(init);
            boolean interrupted = false;
            while (platform.isAlive()) {
                try {
                    platform.join();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        } else {
            init.run();
        }
        initialized = true;
    }
}
