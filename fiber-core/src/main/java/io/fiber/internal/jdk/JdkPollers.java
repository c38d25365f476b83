package io.fiber.internal.jdk;

/**
 * Adapter over {@code sun.nio.ch.Poller}'s class initialisation (docs/design.md section 3).
 *
 * <p>On JDK 22+ the JDK's socket pollers are virtual threads that take the scheduler of whichever
 * thread first initialises {@code sun.nio.ch.Poller}. If that were one of our fibers, every JDK
 * sub-poller would live on one of our carrier loops. So the class is initialised from a platform
 * thread before the first scheduler starts.
 */
public final class JdkPollers {
    private static volatile boolean initialized;

    private JdkPollers() { }

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
