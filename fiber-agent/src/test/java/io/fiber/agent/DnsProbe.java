package io.fiber.agent;

import io.fiber.Fiber;
import io.fiber.FiberScheduler;
import io.fiber.PingFiber;
import io.fiber.detector.BlockingCallDetector;

import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * Run in a child JVM by {@link DnsIT}, under the agent with {@code detector=fail}: makes name
 * lookups the way an application does ({@code InetAddress}), from fibers and from other threads, and
 * prints what happened as {@code key=value} lines for the test to check. The JVM's name cache is off
 * ({@code -Dsun.net.inetaddr.ttl=0}), so every lookup reaches the system-wide resolver.
 */
public final class DnsProbe {
    private DnsProbe() { }

    public static void main(String[] args) throws Exception {
        try (FiberScheduler scheduler = FiberScheduler.builder().carriers(1).name("dns-probe").build()) {
            switch (args[0]) {
                case "jdk-resolver" -> jdkResolver(scheduler);
                case "nonblocking" -> nonblocking(scheduler);
                case "delegated" -> delegated(scheduler);
                default -> throw new IllegalArgumentException("unknown scenario " + args[0]);
            }
        }
    }

    /** Forward and reverse lookups of the loopback names in /etc/hosts, from a fiber and from this thread. */
    private static void jdkResolver(FiberScheduler scheduler) throws Exception {
        byte[] loopback = {127, 0, 0, 1};
        print("platform-forward", () -> Arrays.toString(InetAddress.getAllByName("localhost")));
        print("platform-reverse", () -> InetAddress.getByAddress(loopback).getCanonicalHostName());
        print("fiber-forward", () -> inFiber(scheduler, () -> Arrays.toString(InetAddress.getAllByName("localhost"))));
        print("fiber-reverse", () -> inFiber(scheduler, () -> InetAddress.getByAddress(loopback).getCanonicalHostName()));
        System.out.println("offloaded=" + scheduler.stats().blockingCalls());
        // A platform thread the detector watches: its lookup must reach the JDK's resolver on the thread itself.
        BlockingCallDetector.get().watchThreads(t -> t.getName().equals("dns-watched"));
        String[] watched = new String[1];
        Thread.ofPlatform().name("dns-watched").start(() -> {
            try {
                watched[0] = InetAddress.getByAddress(loopback).getCanonicalHostName();
            } catch (Throwable t) {
                watched[0] = "error " + t;
            }
        }).join();
        System.out.println("watched-platform=" + watched[0]);
    }

    /** Against DnsIT's loopback server: a slow name under a ping, NXDOMAIN, silence, and many at once. */
    private static void nonblocking(FiberScheduler scheduler) throws Exception {
        requireFiberResolver();
        // The first lookup loads the client's classes and reads the configuration: not what the ping measures.
        print("warm-up", () -> inFiber(scheduler, () -> Arrays.toString(InetAddress.getAllByName("warm-up.test"))));
        PingFiber ping = PingFiber.start(scheduler);
        long start = System.nanoTime();
        print("slow", () -> inFiber(scheduler, () -> Arrays.toString(InetAddress.getAllByName("slow.test"))));
        System.out.println("slow-ms=" + Duration.ofNanos(System.nanoTime() - start).toMillis());
        PingFiber.Report report = ping.stop();
        System.out.println("ping-max-late-ms=" + Duration.ofNanos(report.maxNanos()).toMillis());
        System.out.println("pings=" + report.ticks());
        System.out.println("io-waits=" + scheduler.stats().ioWaits());
        print("nxdomain", () -> inFiber(scheduler, () -> Arrays.toString(InetAddress.getAllByName("nosuch.test"))));
        print("silent", () -> inFiber(scheduler, () -> Arrays.toString(InetAddress.getAllByName("silent.test"))));
        print("fiber-hosts-file", () -> inFiber(scheduler, () -> Arrays.toString(InetAddress.getAllByName("localhost"))));

        int n = Integer.parseInt(System.getProperty("dns.probe.many"));
        long manyStart = System.nanoTime();
        List<Fiber<InetAddress>> many = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String name = "host" + i + ".test";
            many.add(scheduler.spawn(() -> InetAddress.getByName(name)));
        }
        int right = 0;
        for (int i = 0; i < n; i++) {
            if (many.get(i).get().getHostAddress().equals("192.0.2." + (i % 250 + 1))) {
                right++;
            }
        }
        System.out.println("many-right=" + right);
        System.out.println("many-ms=" + Duration.ofNanos(System.nanoTime() - manyStart).toMillis());
        System.out.println("offloaded=" + scheduler.stats().blockingCalls());
    }

    /**
     * An application provider ({@link AppResolverProvider}, behind ours on the class path) answers both
     * this thread and fibers. It gives "localhost" an address of its own, so the JDK's resolver would
     * answer differently (and from /etc/hosts, without asking a DNS server).
     */
    private static void delegated(FiberScheduler scheduler) throws Exception {
        print("resolver", DnsProbe::systemWideResolver);
        print("platform", () -> Arrays.toString(InetAddress.getAllByName("localhost")));
        print("fiber", () -> inFiber(scheduler, () -> Arrays.toString(InetAddress.getAllByName("localhost"))));
        System.out.println("offloaded=" + scheduler.stats().blockingCalls());
    }

    /**
     * Stops the probe unless the JDK's system-wide resolver is fiber-core's: the names asked next exist
     * only on DnsIT's loopback server, and the JDK's resolver would ask the machine's DNS server for them.
     */
    private static void requireFiberResolver() throws Exception {
        String resolver = systemWideResolver();
        if (!resolver.equals("io.fiber.internal.dns.FiberResolver")) {
            System.out.println("resolver=" + resolver);
            System.out.flush();
            System.exit(3);
        }
    }

    /** The class of InetAddress's system-wide resolver (made by the first lookup), read through java.net opened to this probe. */
    private static String systemWideResolver() throws Exception {
        InetAddress.getByAddress(new byte[] {127, 0, 0, 1}).getCanonicalHostName();
        java.lang.reflect.Field field = InetAddress.class.getDeclaredField("resolver");
        field.setAccessible(true);
        return field.get(null).getClass().getName();
    }

    private static String inFiber(FiberScheduler scheduler, Callable<String> lookup) throws Exception {
        Fiber<String> fiber = scheduler.spawn(lookup);
        if (!fiber.join(Duration.ofSeconds(20))) {
            throw new IllegalStateException("the lookup did not end in 20 s");
        }
        try {
            return fiber.get();
        } catch (io.fiber.FiberException e) {
            if (e.getCause() instanceof Exception cause) {
                throw cause;
            }
            if (e.getCause() instanceof Error cause) {
                throw cause;
            }
            throw e;
        }
    }

    private static void print(String key, Callable<String> what) {
        String value;
        try {
            value = what.call();
        } catch (Throwable t) {
            value = "error " + t;
        }
        System.out.println(key + "=" + value);
    }
}
