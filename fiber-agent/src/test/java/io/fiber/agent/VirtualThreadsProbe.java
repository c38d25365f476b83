package io.fiber.agent;

import io.fiber.Fiber;
import io.fiber.FiberScheduler;
import io.fiber.Fibers;
import io.fiber.SchedulerStats;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Gatherers;
import java.util.stream.Stream;

/**
 * A program written with plain JDK virtual threads, run by {@link VirtualThreadsIT} in a fresh JVM:
 * it never asks for a fiber, and prints, for each way the JDK offers to create a virtual thread,
 * where the thread ran and what it kept of what its creator gave it. A line reads
 * {@code KIND: fiber=BOOL carrier=PREFIX scheduler=NAME ...}; {@code carrier} is the name of the
 * platform thread it ran on, without its number.
 */
public final class VirtualThreadsProbe {
    private static final InheritableThreadLocal<String> INHERITED = new InheritableThreadLocal<>();

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("ownSchedulerFirst")) {
            // The first scheduler built starts the JDK's pollers (JdkPollers): here one that is not the
            // default, so the pollers' virtual threads are created while the default scheduler can be built.
            FiberScheduler.builder().name("first").carriers(1).build().close();
        }
        INHERITED.set("from-main");
        AtomicReference<String> where = new AtomicReference<>();
        Thread started = Thread.ofVirtual().name("vt-start").start(() -> where.set(here()));
        join(started);
        System.out.println("ofVirtual.start: " + where.get() + " name=" + started.getName());
        join(Thread.startVirtualThread(() -> where.set(here())));
        System.out.println("startVirtualThread: " + where.get());
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            System.out.println("perTaskExecutor: " + pool.submit(VirtualThreadsProbe::here).get());
        }
        ThreadFactory factory = Thread.ofVirtual().name("vt-factory-", 0).factory();
        AtomicReference<String> fromFactory = new AtomicReference<>();
        Thread made = factory.newThread(() -> fromFactory.set(here()));
        made.start();
        join(made);
        System.out.println("factory: " + fromFactory.get() + " name=" + made.getName());
        List<String> mapped = Stream.of(1, 2, 3).gather(Gatherers.mapConcurrent(2, i -> here())).toList();
        System.out.println("mapConcurrent: " + mapped.getFirst() + " all=" + mapped.stream().allMatch(m -> m.equals(mapped.getFirst())));

        // From inside a fiber: the new thread is a fiber of the same scheduler, a fiber of its own.
        Fiber<String> parent = Fibers.spawn(() -> {
            Fiber<?> self = Fibers.current();
            AtomicReference<String> inner = new AtomicReference<>();
            AtomicReference<Boolean> own = new AtomicReference<>();
            Thread t = Thread.ofVirtual().start(() -> {
                inner.set(here());
                own.set(Fibers.current() != null && Fibers.current() != self);
            });
            join(t);
            return inner.get() + " ownFiber=" + own.get();
        });
        System.out.println("fromFiber: " + parent.get());
        try (FiberScheduler mine = FiberScheduler.builder().name("mine").carriers(1).build()) {
            Fiber<String> f = mine.spawn(() -> {
                AtomicReference<String> inner = new AtomicReference<>();
                join(Thread.startVirtualThread(() -> inner.set(here())));
                return inner.get();
            });
            System.out.println("fromOwnScheduler: " + f.get());
        }

        // What the thread keeps of what its creator and its builder gave it.
        AtomicReference<String> kept = new AtomicReference<>();
        ClassLoader loader = new URLClassLoader(new URL[0], VirtualThreadsProbe.class.getClassLoader());
        Thread.currentThread().setContextClassLoader(loader);
        Thread t = Thread.ofVirtual().name("kept").start(() -> kept.set("inherited=" + INHERITED.get()
                + " loader=" + (Thread.currentThread().getContextClassLoader() == loader)
                + " daemon=" + Thread.currentThread().isDaemon() + " virtual=" + Thread.currentThread().isVirtual()
                + " name=" + Thread.currentThread().getName()));
        join(t);
        System.out.println("inherits: " + kept.get() + " state=" + t.getState() + " alive=" + t.isAlive());
        Thread noInherit = Thread.ofVirtual().inheritInheritableThreadLocals(false).start(() -> kept.set("inherited=" + INHERITED.get()
                + " loader=" + (Thread.currentThread().getContextClassLoader() == ClassLoader.getSystemClassLoader())));
        join(noInherit);
        System.out.println("inheritsNothing: " + kept.get());
        Thread.currentThread().setContextClassLoader(ClassLoader.getSystemClassLoader());

        CompletableFuture<String> handled = new CompletableFuture<>();
        Thread failing = Thread.ofVirtual().name("failing").uncaughtExceptionHandler((th, e) -> handled.complete(th.getName() + " " + e.getMessage()))
                .start(() -> {
                    throw new IllegalStateException("boom");
                });
        join(failing);
        System.out.println("uncaught: " + handled.get());

        CountDownLatch asleep = new CountDownLatch(1);
        AtomicReference<String> interrupted = new AtomicReference<>("no");
        Thread sleeper = Thread.ofVirtual().start(() -> {
            asleep.countDown();
            try {
                Thread.sleep(60_000);
            } catch (InterruptedException e) {
                interrupted.set("yes");
            }
        });
        asleep.await();
        Thread.sleep(50);
        sleeper.interrupt();
        join(sleeper);
        System.out.println("interrupt: " + interrupted.get());

        // Sleeps and socket waits of plain virtual threads: the carriers' timers and reactors when they are fibers.
        SchedulerStats before = Fibers.defaultScheduler().stats();
        try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            Thread echo = Thread.ofVirtual().start(() -> {
                try (Socket s = server.accept(); InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
                    out.write(in.read());
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            AtomicReference<Integer> answer = new AtomicReference<>();
            Thread client = Thread.ofVirtual().start(() -> {
                try (Socket s = new Socket(server.getInetAddress(), server.getLocalPort())) {
                    Thread.sleep(20);
                    s.getOutputStream().write(7);
                    answer.set(s.getInputStream().read());
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            join(client);
            join(echo);
            SchedulerStats after = Fibers.defaultScheduler().stats();
            System.out.println("io: answer=" + answer.get() + " reactorWaits=" + (after.ioWaits() > before.ioWaits())
                    + " carrierTimers=" + (after.timers() > before.timers()));
        }
        // The detector: a fiber's file read is always watched; a JDK virtual thread's only on request.
        java.nio.file.Path file = java.nio.file.Files.writeString(java.nio.file.Files.createTempFile("probe", ".txt"), "probe");
        List<io.fiber.detector.BlockingCall> calls = new java.util.concurrent.CopyOnWriteArrayList<>();
        io.fiber.detector.BlockingCallDetector detector = io.fiber.detector.BlockingCallDetector.get();
        try (AutoCloseable l = detector.addListener(c -> {
            if (c.threadName().startsWith("probe-vt")) {
                calls.add(c);
            }
        })) {
            join(Thread.ofVirtual().name("probe-vt-unwatched").start(() -> readQuietly(file)));
            detector.watchVirtualThreads(true);
            join(Thread.ofVirtual().name("probe-vt-watched").start(() -> readQuietly(file)));
        } finally {
            detector.watchVirtualThreads(false);
        }
        System.out.println("detector: unwatched=" + calls.stream().anyMatch(c -> c.threadName().startsWith("probe-vt-unwatched"))
                + " watched=" + calls.stream().anyMatch(c -> c.threadName().startsWith("probe-vt-watched"))
                + " fibers=" + calls.stream().allMatch(io.fiber.detector.BlockingCall::fiber));
        java.nio.file.Files.delete(file);

        // Nothing keeps running as a fiber once every thread ended: the JDK's own pollers are not fibers.
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (Fibers.defaultScheduler().stats().fibersAlive() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        System.out.println("alive at the end: " + Fibers.defaultScheduler().stats().fibersAlive());
        System.out.println("done");
    }

    /** Where the calling thread runs: whether it is a fiber, its carrier's name without the number, its scheduler. */
    static String here() {
        String self = Thread.currentThread().toString();
        String carrier = self.contains("@") ? self.substring(self.indexOf('@') + 1).replaceAll("[-_0-9]+$", "") : "none";
        Fiber<?> fiber = Fibers.current();
        return "fiber=" + (fiber != null) + " carrier=" + carrier
                + " scheduler=" + (fiber != null ? FiberScheduler.current().name() : "-");
    }

    private static void readQuietly(java.nio.file.Path file) {
        try {
            java.nio.file.Files.readString(file);
        } catch (Exception | Error e) {
            // detector=fail: the read itself fails; the listener saw it
        }
    }

    private static void join(Thread t) {
        try {
            t.join();
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }
}
