package io.fiber.agent;

import io.fiber.Fiber;
import io.fiber.FiberScheduler;
import io.fiber.internal.dns.LoopbackDnsServer;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Measures one DNS mode (the agent's {@code dns=} option) for the choice of default (docs/dns.md): run by
 * {@code benchmarks/scripts/dns-modes.sh}, in a private mount namespace whose /etc/resolv.conf names the
 * loopback server this starts on {@code ADDRESS:53}, so the JDK's own resolver (getaddrinfo) and the
 * non-blocking one ask the same server. Every name is new ({@code nN.bench.test}) and the JVM's
 * name cache is off, so every lookup reaches the server.
 *
 * <p>One carrier; each phase runs lookups from fibers for a few seconds while a ping fiber on the same
 * carrier sleeps 1 ms at a time and records how late it wakes: the carrier stall the lookups cause.
 * Phases: one fiber looking up one name after another (latency), 64 fibers with an instant server,
 * and 1,000 fibers with a server that answers after 50 ms. Prints one line per phase.
 *
 * <p>usage: DnsModesMeasurement MODE ADDRESS SECONDS
 */
public final class DnsModesMeasurement {
    private static final AtomicLong NAMES = new AtomicLong();

    private DnsModesMeasurement() { }

    public static void main(String[] args) throws Exception {
        String mode = args[0];
        InetAddress address = InetAddress.ofLiteral(args[1]);
        Duration phase = Duration.ofSeconds(Long.parseLong(args[2]));
        try (LoopbackDnsServer server = new LoopbackDnsServer(new InetSocketAddress(address, 53)).aForSuffix(".bench.test", "192.0.2.1");
             FiberScheduler scheduler = FiberScheduler.builder().carriers(1).name("dns-bench").build()) {
            run(scheduler, mode, "warm-up", 16, phase.dividedBy(3));
            System.out.println("mode " + mode + ", 1 carrier, " + phase.toSeconds() + " s per phase; per phase: lookups/s,"
                    + " mean lookup time, ping lateness (the carrier stall) p99 and max, peak JVM threads");
            run(scheduler, mode, "1 fiber, instant server", 1, phase);
            run(scheduler, mode, "64 fibers, instant server", 64, phase);
            server.delay(Duration.ofMillis(50));
            run(scheduler, mode, "1000 fibers, 50 ms server", 1000, phase);
        }
    }

    private static void run(FiberScheduler scheduler, String mode, String name, int fibers, Duration length) throws Exception {
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        threads.resetPeakThreadCount();
        AtomicBoolean stop = new AtomicBoolean();
        List<Long> lateness = new ArrayList<>();
        Fiber<Void> ping = scheduler.spawn(() -> {
            while (!stop.get()) {
                long start = System.nanoTime();
                Thread.sleep(1);
                long late = System.nanoTime() - start - 1_000_000;
                synchronized (lateness) {
                    lateness.add(late);
                }
            }
            return null;
        });
        AtomicLong lookups = new AtomicLong();
        AtomicLong lookupNanos = new AtomicLong();
        AtomicLong failures = new AtomicLong();
        long deadline = System.nanoTime() + length.toNanos();
        List<Fiber<Void>> workers = new ArrayList<>();
        for (int i = 0; i < fibers; i++) {
            workers.add(scheduler.spawn(() -> {
                while (System.nanoTime() < deadline) {
                    String host = "n" + NAMES.incrementAndGet() + ".bench.test";
                    long start = System.nanoTime();
                    try {
                        InetAddress.getByName(host);
                        lookups.incrementAndGet();
                        lookupNanos.addAndGet(System.nanoTime() - start);
                    } catch (java.net.UnknownHostException e) {
                        if (failures.incrementAndGet() == 1) {
                            System.out.println("  first failure: " + e);
                        }
                    }
                }
                return null;
            }));
        }
        long begin = System.nanoTime();
        for (Fiber<Void> w : workers) {
            w.join();
        }
        double seconds = (System.nanoTime() - begin) / 1e9;
        stop.set(true);
        ping.join();
        long[] late;
        synchronized (lateness) {
            late = lateness.stream().mapToLong(Long::longValue).sorted().toArray();
        }
        if (name.equals("warm-up")) {
            return;
        }
        long n = lookups.get();
        System.out.printf("%s %-28s %,9.0f lookups/s  mean %8.2f ms  ping late p99 %7.2f ms  max %7.2f ms  threads %4d%s%n",
                mode, name, n / seconds, n == 0 ? 0 : lookupNanos.get() / 1e6 / n,
                percentile(late, 0.99) / 1e6, late.length == 0 ? 0 : late[late.length - 1] / 1e6, threads.getPeakThreadCount(),
                failures.get() == 0 ? "" : "  failures " + failures.get());
    }

    private static double percentile(long[] sorted, double p) {
        return sorted.length == 0 ? 0 : sorted[Math.min(sorted.length - 1, (int) Math.ceil(p * sorted.length) - 1)];
    }
}
