package threadsprobe;

import io.fiber.ApplicationThreadsReport;
import threadsprobe.legacy.Legacy;

import com.sun.net.httpserver.HttpServer;

import java.net.HttpURLConnection;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A program that starts platform threads the ways applications do, run by {@code ApplicationThreadsIT}
 * in a fresh JVM, with and without {@code threads=fibers}. It never names fibers (but for the report
 * line), and prints what each thread was and kept: {@code KIND: virtual=BOOL ...}. Outside
 * {@code io.fiber}, as an application is: the agent leaves the runtime's own package alone.
 */
public final class ThreadsProbe {
    private static final InheritableThreadLocal<String> INHERITED = new InheritableThreadLocal<>();

    public static void main(String[] args) throws Exception {
        switch (args.length == 0 ? "basics" : args[0]) {
            case "basics" -> basics();
            case "keepAlive" -> keepAlive();
            case "exit" -> exit();
            case "daemon" -> daemon();
            case "uncaughtAtTheEnd" -> uncaughtAtTheEnd();
            default -> throw new IllegalArgumentException(args[0]);
        }
    }

    private static void basics() throws Exception {
        INHERITED.set("from-main");
        ClassLoader loader = new URLClassLoader(new URL[0]);
        Thread.currentThread().setContextClassLoader(loader);

        AtomicReference<String> seen = new AtomicReference<>();
        Thread plain = new Thread(() -> seen.set(here() + " inherited=" + INHERITED.get()
                + " loader=" + (Thread.currentThread().getContextClassLoader() == loader)));
        String before = "state=" + plain.getState() + " alive=" + plain.isAlive() + " daemon=" + plain.isDaemon();
        plain.start();
        plain.join();
        System.out.println("newThread: " + seen.get() + " " + before + " after=" + plain.getState() + "/" + plain.isAlive()
                + " named=" + plain.getName().startsWith("Thread-"));

        Thread named = new Thread(() -> seen.set(here()), "worker");
        named.start();
        named.join();
        System.out.println("named: " + seen.get());

        Thread daemonSet = new Thread(() -> seen.set(here()));
        daemonSet.setDaemon(true);
        daemonSet.start();
        daemonSet.join();
        System.out.println("setDaemon: " + seen.get());

        Thread fromDaemon = new Thread(() -> {
            Thread child = new Thread(() -> { });
            seen.set("child daemon=" + child.isDaemon());
        });
        fromDaemon.setDaemon(true);
        fromDaemon.start();
        fromDaemon.join();
        System.out.println("inheritsDaemon: " + seen.get());

        Thread started = new Thread(() -> sleep(100));
        started.start();
        String refused;
        try {
            started.setDaemon(true);
            refused = "no";
        } catch (IllegalThreadStateException e) {
            refused = "IllegalThreadStateException";
        }
        started.join();
        System.out.println("setDaemonWhileAlive: " + refused);

        CountDownLatch sleeping = new CountDownLatch(1);
        Thread sleeper = new Thread(() -> {
            sleeping.countDown();
            try {
                Thread.sleep(60_000);
                seen.set("not interrupted");
            } catch (InterruptedException e) {
                seen.set("interrupted");
            }
        });
        sleeper.start();
        sleeping.await();
        sleeper.interrupt();
        sleeper.join();
        System.out.println("interrupt: " + seen.get());

        Thread failing = new Thread(() -> { throw new IllegalStateException("boom"); }, "failing");
        failing.setUncaughtExceptionHandler((t, e) -> seen.set(t.getName() + " " + e.getMessage()));
        failing.start();
        failing.join();
        System.out.println("uncaught: " + seen.get());
        Thread.setDefaultUncaughtExceptionHandler((t, e) -> seen.set("default " + t.getName() + " " + e.getMessage()));
        Thread failingToo = new Thread(() -> { throw new IllegalStateException("bang"); }, "failing-too");
        failingToo.start();
        failingToo.join();
        Thread.setDefaultUncaughtExceptionHandler(null);
        System.out.println("defaultUncaught: " + seen.get());

        Thread runDirectly = new Thread(() -> seen.set("ran in " + Thread.currentThread().getName()));
        runDirectly.run();
        System.out.println("runDirectly: " + seen.get() + " state=" + runDirectly.getState());

        Thread subclass = new Thread() {
            @Override
            public void run() {
                seen.set(here());
            }
        };
        subclass.start();
        subclass.join();
        System.out.println("subclass: " + seen.get());

        Thread built = Thread.ofPlatform().name("built").unstarted(() -> seen.set(here()));
        built.start();
        built.join();
        System.out.println("ofPlatform: " + seen.get());
        Thread fromFactory = Thread.ofPlatform().name("made-", 1).daemon(true)
                .uncaughtExceptionHandler((t, e) -> seen.set("factory handler " + e.getMessage())).factory()
                .newThread(() -> { throw new IllegalStateException("pow"); });
        fromFactory.start();
        fromFactory.join();
        System.out.println("ofPlatformFactory: name=" + fromFactory.getName() + " daemon=" + fromFactory.isDaemon()
                + " " + seen.get());
        ThreadGroup group = new ThreadGroup("own");
        Thread grouped = new Thread(group, () -> seen.set(here()), "grouped");
        grouped.start();
        grouped.join();
        System.out.println("ownGroup: " + seen.get());
        Thread sameGroup = new Thread(Thread.currentThread().getThreadGroup(), () -> seen.set(here()), "same-group");
        sameGroup.start();
        sameGroup.join();
        System.out.println("callersGroup: " + seen.get());

        System.out.println("pool: " + pool());
        ScheduledExecutorService scheduled = Executors.newScheduledThreadPool(1);
        System.out.println("scheduled: " + scheduled.schedule(ThreadsProbe::here, 10, TimeUnit.MILLISECONDS).get());
        scheduled.shutdown();

        ExecutorService byReference = Executors.newSingleThreadExecutor(Thread::new);
        System.out.println("constructorReference: " + byReference.submit(ThreadsProbe::here).get().replaceAll("Thread-\\d+", "Thread-N"));
        byReference.shutdown();

        System.out.println("factoryWithGroup: " + factoryWithGroup());
        System.out.println("poolFedByTheJdk: " + poolFedByTheJdk());

        System.out.println("package legacy: " + Legacy.startOne());
        System.out.println("hidingLoader: " + hidingLoader());
        Thread keep = new Thread(() -> seen.set(here()), "keep-me");
        keep.start();
        keep.join();
        System.out.println("keep-me: " + seen.get());

        ApplicationThreadsReport report = ApplicationThreadsReport.get();
        System.out.println("report: enabled=" + report.enabled() + " converted=" + report.converted() + " leftAlone=" + report.leftAlone());
        System.out.println("done");
    }

    /**
     * Ten tasks on a pool of three: at most three run at once, all of them on the pool's threads,
     * which the JDK's default thread factory names.
     */
    private static String pool() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(3);
        AtomicInteger running = new AtomicInteger();
        AtomicInteger most = new AtomicInteger();
        List<java.util.concurrent.Future<String>> results = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            results.add(pool.submit(() -> {
                most.accumulateAndGet(running.incrementAndGet(), Math::max);
                sleep(30);
                running.decrementAndGet();
                return here();
            }));
        }
        String first = results.getFirst().get();
        boolean allVirtual = true;
        for (var r : results) {
            allVirtual &= r.get().startsWith("virtual=true");
        }
        int size = ((ThreadPoolExecutor) pool).getPoolSize();
        pool.shutdown();
        pool.awaitTermination(10, TimeUnit.SECONDS);
        return first.replaceAll("pool-\\d+-thread-\\d+", "pool-N-thread-M") + " allVirtual=" + allVirtual
                + " mostAtOnce=" + most.get() + " poolSize=" + size;
    }

    /**
     * A thread factory as libraries write them: it keeps the group of the thread that built it and
     * passes it to {@code new Thread}. Tasks that throw end their worker, and the pool replaces it from
     * within the dying worker: every worker, first or replacement, is a fiber.
     */
    private static String factoryWithGroup() throws Exception {
        ThreadGroup group = Thread.currentThread().getThreadGroup();
        AtomicInteger made = new AtomicInteger();
        List<Thread> threads = java.util.Collections.synchronizedList(new ArrayList<>());
        java.util.concurrent.ThreadFactory factory = r -> {
            Thread t = new Thread(group, r, "grp-" + made.incrementAndGet());
            t.setUncaughtExceptionHandler((x, e) -> { });
            threads.add(t);
            return t;
        };
        ThreadPoolExecutor pool = new ThreadPoolExecutor(2, 2, 0, TimeUnit.SECONDS, new java.util.concurrent.LinkedBlockingQueue<>(), factory);
        CountDownLatch ran = new CountDownLatch(4);
        for (int i = 0; i < 4; i++) {
            pool.execute(() -> {
                ran.countDown();
                throw new IllegalStateException("ends its worker");
            });
        }
        ran.await();
        pool.shutdown();
        pool.awaitTermination(10, TimeUnit.SECONDS);
        boolean allVirtual = threads.stream().allMatch(Thread::isVirtual);
        return "allVirtual=" + allVirtual + " replaced=" + (threads.size() > 2);
    }

    /**
     * A class loader that does not let its classes see the runtime's packages, as an OSGi framework's
     * may not: its classes must still run, their threads platform threads.
     */
    private static String hidingLoader() throws Exception {
        ClassLoader parent = ThreadsProbe.class.getClassLoader();
        String name = Legacy.class.getName();
        ClassLoader hiding = new ClassLoader(parent) {
            @Override
            protected Class<?> loadClass(String className, boolean resolve) throws ClassNotFoundException {
                if (className.startsWith("io.fiber.")) {
                    throw new ClassNotFoundException(className);
                }
                if (!className.equals(name)) {
                    return super.loadClass(className, resolve);
                }
                synchronized (getClassLoadingLock(className)) {
                    Class<?> c = findLoadedClass(className);
                    if (c == null) {
                        try (var in = parent.getResourceAsStream(className.replace('.', '/') + ".class")) {
                            byte[] b = in.readAllBytes();
                            c = defineClass(className, b, 0, b.length);
                        } catch (java.io.IOException e) {
                            throw new ClassNotFoundException(className, e);
                        }
                    }
                    return c;
                }
            }
        };
        return (String) hiding.loadClass(name).getMethod("startOne").invoke(null);
    }

    /** {@code main} returns while a non-daemon worker still runs: the worker must still print. */
    private static void keepAlive() {
        Thread worker = new Thread(() -> {
            sleep(500);
            System.out.println("worker done: " + here());
        }, "late-worker");
        worker.start();
        System.out.println("main returns");
    }

    /** {@code System.exit} while a converted non-daemon worker runs: exits, and the shutdown hook runs. */
    private static void exit() {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> System.out.println("hook ran")));
        Thread worker = new Thread(() -> {
            while (true) {
                sleep(50);
            }
        }, "forever");
        worker.start();
        sleep(200);
        System.out.println("exiting, worker " + (worker.isVirtual() ? "virtual" : "platform") + " alive=" + worker.isAlive());
        System.exit(3);
    }

    /** A daemon worker does not keep the JVM alive. */
    private static void daemon() {
        Thread worker = new Thread(() -> sleep(60_000), "daemon-worker");
        worker.setDaemon(true);
        worker.start();
        System.out.println("main returns, worker " + (worker.isVirtual() ? "virtual" : "platform"));
    }

    /** A non-daemon worker fails after {@code main} returned: its stack trace is printed before the JVM exits. */
    private static void uncaughtAtTheEnd() {
        new Thread(() -> {
            sleep(300);
            throw new IllegalStateException("late failure");
        }, "late-failing").start();
        System.out.println("main returns");
    }

    /**
     * A pool the program made, which a JDK thread feeds: the HttpServer's dispatcher hands it each
     * exchange, so the pool's threads are started from JDK code. They are the program's all the same.
     */
    private static String poolFedByTheJdk() throws Exception {
        ExecutorService pool = Executors.newCachedThreadPool();
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        AtomicReference<String> seen = new AtomicReference<>();
        server.setExecutor(pool);
        server.createContext("/", exchange -> {
            seen.set(here().replaceAll("pool-\\d+-thread-\\d+", "pool-N-thread-M"));
            exchange.sendResponseHeaders(204, -1);
            exchange.close();
        });
        server.start();
        try {
            HttpURLConnection c = (HttpURLConnection) URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/")
                    .toURL().openConnection();
            int status = c.getResponseCode();
            return seen.get() + " status=" + status;
        } finally {
            server.stop(0);
            pool.shutdown();
        }
    }

    private static String here() {
        Thread t = Thread.currentThread();
        return "virtual=" + t.isVirtual() + " name=" + t.getName() + " daemon=" + t.isDaemon();
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            throw new RuntimeException(e);
        }
    }
}
