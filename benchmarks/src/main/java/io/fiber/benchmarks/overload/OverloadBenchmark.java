package io.fiber.benchmarks.overload;

import io.fiber.benchmarks.runner.ChildProcess;
import io.fiber.benchmarks.runner.CommandLine;
import io.fiber.benchmarks.runner.ProcessStats;
import io.fiber.load.LatencyHistogram;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;

/**
 * Issue 20 part 6's overload test: {@code HttpServerExample} under about 20 times the rate it can
 * sustain, with and without a bound on live fibers ({@code --max-fibers N}, refusals answered 503),
 * alternated in one run. Per server: the resident memory through the overload, what became of every
 * request sent (answered 200, refused 503, closed without an answer, timed out, connection failed),
 * and the rate of answers in each second after the overload, against the sustainable rate.
 *
 * <p>The endpoint is {@code /work?ms=M&kb=K}: about M ms of CPU in 1 ms slices, holding K KiB while
 * in flight, so a request costs memory for as long as it waits. The sustainable rate is measured
 * first, by closed-loop clients against an unbounded server. The load is open-loop: requests are
 * sent on schedule whatever the answers, each on a new connection ({@code Connection: close}) from
 * a virtual thread of this JVM, each given a deadline (connect and answer) after which the client
 * gives up. The server runs pinned to core 0 and this JVM to core 1 ({@code ./run bench overload}
 * starts it with taskset), the server's carriers one.
 */
public final class OverloadBenchmark {
    private static final int SERVER_CPU = 0;
    private static final Duration START_LIMIT = Duration.ofSeconds(60);

    private final PrintStream out = System.out;
    private final CommandLine options;
    private final ProcessStats stats;
    private final boolean pin;
    private final int workMs;
    private final int kb;
    private final int timeoutMs;

    private OverloadBenchmark(CommandLine options) throws IOException, InterruptedException {
        this.options = options;
        this.stats = ProcessStats.create();
        this.pin = !options.flag("--no-pin");
        this.workMs = options.integer("--work-ms", 20);
        this.kb = options.integer("--kb", 128);
        this.timeoutMs = options.integer("--timeout-ms", 5_000);
    }

    public static void main(String[] args) throws Exception {
        CommandLine options = CommandLine.parse(args, Set.of("--rounds", "--overload", "--factor", "--work-ms", "--kb",
                "--max-fibers", "--xmx", "--recovery", "--calibrate", "--clients", "--timeout-ms", "--rate", "--work-rounds"), Set.of("--no-pin"));
        new OverloadBenchmark(options).run();
    }

    private void run() throws Exception {
        int rounds = options.integer("--rounds", 1);
        Duration overload = options.seconds("--overload", Duration.ofSeconds(30));
        Duration recovery = options.seconds("--recovery", Duration.ofSeconds(15));
        Duration calibrate = options.seconds("--calibrate", Duration.ofSeconds(8));
        int factor = options.integer("--factor", 20);
        int clients = options.integer("--clients", 16);
        String maxFibers = options.string("--max-fibers", "64:reject");
        String xmx = options.string("--xmx", "3g");
        out.println("overload benchmark: /work?ms=" + workMs + "&kb=" + kb + ", server -Xmx" + xmx + ", client deadline "
                + timeoutMs + " ms, " + (pin ? "server on core " + SERVER_CPU + " (taskset), load on the other" : "not pinned"));
        out.println("machine: " + Runtime.getRuntime().availableProcessors() + " cores for the load JVM; load average before: "
                + loadAverage());

        double sustainable;
        String rateOption = options.string("--rate", null);
        workRounds = options.integer("--work-rounds", 0); // 0: the calibrating server's (with --rate and none: each server's own)
        if (rateOption != null) {
            sustainable = Double.parseDouble(rateOption);
            out.println("sustainable rate: " + rateOption + " requests/s (given)");
        } else {
            try (ChildProcess server = startServer("calibrate", null, xmx)) {
                String ready = server.awaitLine(READY, START_LIMIT);
                InetSocketAddress address = address(ready);
                if (workRounds == 0) {
                    workRounds = workRounds(ready);
                }
                closedLoop(address, clients, Duration.ofSeconds(3)); // warm-up
                long[] perSecond = closedLoop(address, clients, calibrate);
                sustainable = median(perSecond);
                out.printf("sustainable rate: %.0f requests/s (closed loop, %d clients, median of %d one-second counts: %s)%n",
                        sustainable, clients, perSecond.length, java.util.Arrays.toString(perSecond));
            }
        }
        double rate = sustainable * factor;
        out.printf("overload: %.0f requests/s (%dx) for %d s, then %d clients in a closed loop for %d s%n", rate, factor,
                overload.toSeconds(), clients, recovery.toSeconds());

        List<String> table = new ArrayList<>();
        table.add(String.format("%-22s %6s %9s %9s %9s %8s %8s %8s %8s %11s %11s %9s %s", "server", "round", "sent", "answered",
                "refused", "closed", "timeout", "connfail", "other", "p99 200 ms", "peak RSS MB", "end RSS MB",
                "answers/s in the seconds after"));
        for (int round = 1; round <= rounds; round++) {
            List<String> order = round % 2 == 1 ? List.of(maxFibers, "") : List.of("", maxFibers);
            for (String bound : order) {
                String label = bound.isEmpty() ? "unbounded" : "max-fibers " + bound;
                table.add(overloadRun(label, bound.isEmpty() ? null : bound, xmx, rate, overload, recovery, clients, round, sustainable));
            }
        }
        out.println();
        out.printf("sustainable %.0f/s, overload %.0f/s for %d s; load average after: %s%n", sustainable, rate, overload.toSeconds(),
                loadAverage());
        table.forEach(out::println);
    }

    private String overloadRun(String label, String bound, String xmx, double rate, Duration overload, Duration recovery,
                               int clients, int round, double sustainable) throws Exception {
        out.println();
        out.println("== " + label + ", round " + round);
        try (ChildProcess server = startServer(label.replace(' ', '-'), bound, xmx)) {
            InetSocketAddress address = address(server);
            closedLoop(address, clients, Duration.ofSeconds(3)); // warm-up
            long rssBefore = ProcessStats.residentKib(server.pid());
            Outcomes outcomes = new Outcomes();
            AtomicLong peakRss = new AtomicLong(rssBefore);
            AtomicLong lastRss = new AtomicLong(rssBefore);
            Thread sampler = Thread.ofPlatform().daemon().name("rss-sampler").start(() -> {
                while (!Thread.currentThread().isInterrupted()) {
                    try {
                        long rss = ProcessStats.residentKib(server.pid());
                        lastRss.set(rss);
                        peakRss.accumulateAndGet(rss, Math::max);
                    } catch (IOException e) {
                        return; // the server exited
                    }
                    LockSupport.parkNanos(250_000_000);
                }
            });
            long start = System.nanoTime();
            ExecutorService requests = Executors.newVirtualThreadPerTaskExecutor();
            openLoop(address, rate, overload, outcomes, requests, start);
            long rssAtEnd = lastRss.get();
            out.printf("  overload sent %,d in %.1f s; RSS before %,d MB, at the end %,d MB, peak %,d MB%n", outcomes.sent.get(),
                    (System.nanoTime() - start) / 1e9, rssBefore / 1024, rssAtEnd / 1024, peakRss.get() / 1024);
            long[] after = closedLoop(address, clients, recovery);
            requests.shutdown();
            if (!requests.awaitTermination(timeoutMs + 10_000L, TimeUnit.MILLISECONDS)) {
                out.println("  some overload requests still open after their deadline");
            }
            sampler.interrupt();
            String afterText = java.util.Arrays.toString(after);
            int back = -1;
            for (int i = 0; i < after.length; i++) {
                if (after[i] >= 0.9 * sustainable) {
                    back = i + 1;
                    break;
                }
            }
            out.println("  " + outcomes.summary());
            out.println("  answers per second after the overload: " + afterText + " (sustainable " + Math.round(sustainable)
                    + "/s); at 90% of it " + (back < 0 ? "not within " + after.length + " s" : "in second " + back));
            return String.format("%-22s %6d %,9d %,9d %,9d %,8d %,8d %,8d %,8d %11.0f %,11d %,9d %s", label, round,
                    outcomes.sent.get(), outcomes.count(Outcome.ANSWERED), outcomes.count(Outcome.REFUSED),
                    outcomes.count(Outcome.CLOSED), outcomes.count(Outcome.TIMED_OUT), outcomes.count(Outcome.CONNECT_FAILED),
                    outcomes.count(Outcome.OTHER), outcomes.latency.count() == 0 ? Double.NaN : outcomes.latency.percentile(99) / 1e6,
                    peakRss.get() / 1024, rssAtEnd / 1024, afterText);
        }
    }

    // ---- the server ------------------------------------------------------------------------

    private ChildProcess startServer(String label, String bound, String xmx) throws IOException {
        List<String> command = new ArrayList<>();
        if (pin) {
            command.addAll(List.of("taskset", "-c", String.valueOf(SERVER_CPU)));
        }
        command.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-javaagent:fiber-agent/target/fiber-agent.jar=detector=off", "-Xmx" + xmx, "-Xms256m",
                "-cp", "examples/target/fiber-examples.jar:examples/target/lib/*", "io.fiber.examples.HttpServerExample", "0"));
        if (bound != null) {
            command.addAll(List.of("--max-fibers", bound));
        }
        if (workRounds > 0) {
            command.addAll(List.of("--work-rounds", String.valueOf(workRounds))); // the calibrating server's unit, for every run
        }
        return ChildProcess.start(label, command, out);
    }

    /**
     * The hash rounds of a {@code /work} unit that the calibrating server measured, passed to every
     * later server (0: none measured, each calibrates its own): otherwise a server started at a busier
     * moment measures a slower core, makes its unit smaller and its requests cheaper, and runs of the
     * same command stop being comparable.
     */
    private int workRounds;

    private static int workRounds(String line) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("a /work unit is (\\d+) hash rounds").matcher(line);
        if (!m.find()) {
            throw new IllegalStateException("the server's ready line does not say its /work unit: " + line);
        }
        return Integer.parseInt(m.group(1));
    }

    /** How the server's ready line begins. */
    private static final String READY = "HTTP server listening on http://127.0.0.1:";

    private static InetSocketAddress address(ChildProcess server) throws IOException, InterruptedException {
        return address(server.awaitLine(READY, START_LIMIT));
    }

    private static InetSocketAddress address(String line) {
        String rest = line.substring(READY.length());
        int port = Integer.parseInt(rest.substring(0, rest.indexOf('/')));
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
    }

    // ---- the load --------------------------------------------------------------------------

    enum Outcome { ANSWERED, REFUSED, CLOSED, TIMED_OUT, CONNECT_FAILED, OTHER }

    /** What became of the requests of one overload. */
    static final class Outcomes {
        final AtomicLong sent = new AtomicLong();
        final AtomicLongArray counts = new AtomicLongArray(Outcome.values().length);
        final LatencyHistogram latency = new LatencyHistogram();
        volatile String firstOther;

        void add(Outcome outcome, long nanos) {
            counts.incrementAndGet(outcome.ordinal());
            if (outcome == Outcome.ANSWERED) {
                synchronized (latency) {
                    latency.record(nanos);
                }
            }
        }

        long count(Outcome outcome) {
            return counts.get(outcome.ordinal());
        }

        String summary() {
            StringBuilder sb = new StringBuilder("sent " + sent.get());
            for (Outcome o : Outcome.values()) {
                sb.append(", ").append(o.name().toLowerCase(java.util.Locale.ROOT)).append(' ').append(count(o));
            }
            if (latency.count() > 0) {
                sb.append(String.format(", answered in p50 %.0f ms, p99 %.0f ms, max %.0f ms", latency.percentile(50) / 1e6,
                        latency.percentile(99) / 1e6, latency.max() / 1e6));
            }
            if (firstOther != null) {
                sb.append("; first other: ").append(firstOther);
            }
            return sb.toString();
        }
    }

    /** Sends {@code rate} requests a second for {@code duration}, each on schedule, whatever the answers. */
    private void openLoop(InetSocketAddress address, double rate, Duration duration, Outcomes outcomes, ExecutorService requests,
                          long start) {
        double interval = 1e9 / rate;
        long end = start + duration.toNanos();
        long n = 0;
        for (;;) {
            long due = start + (long) (n * interval);
            if (due - end >= 0) {
                return;
            }
            long now = System.nanoTime();
            if (due - now > 0) {
                LockSupport.parkNanos(due - now);
                continue;
            }
            n++;
            outcomes.sent.incrementAndGet();
            long scheduled = due;
            requests.execute(() -> {
                Outcome o;
                try {
                    o = request(address, scheduled);
                } catch (Throwable t) {
                    o = Outcome.OTHER;
                    if (outcomes.firstOther == null) {
                        outcomes.firstOther = t.toString();
                    }
                }
                outcomes.add(o, System.nanoTime() - scheduled);
            });
        }
    }

    /** {@code clients} clients, each sending its next request when the last is answered; answers counted per second. */
    private long[] closedLoop(InetSocketAddress address, int clients, Duration duration) throws InterruptedException {
        long start = System.nanoTime();
        long end = start + duration.toNanos();
        AtomicLongArray perSecond = new AtomicLongArray((int) duration.toSeconds());
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < clients; i++) {
                threads.execute(() -> {
                    for (long begun = System.nanoTime(); end - begun > 0; begun = System.nanoTime()) {
                        Outcome o;
                        try {
                            o = request(address, begun);
                        } catch (IOException e) {
                            o = Outcome.OTHER;
                        }
                        long at = System.nanoTime();
                        int second = (int) ((at - start) / 1_000_000_000L);
                        if (o == Outcome.ANSWERED && second < perSecond.length()) {
                            perSecond.incrementAndGet(second);
                        } else if (o != Outcome.ANSWERED) {
                            LockSupport.parkNanos(10_000_000); // a refused client tries again a little later
                        }
                    }
                });
            }
        }
        long[] counts = new long[perSecond.length()];
        for (int i = 0; i < counts.length; i++) {
            counts[i] = perSecond.get(i);
        }
        return counts;
    }

    /** One request on a new connection, given until {@code begun} plus the deadline to be answered. */
    private Outcome request(InetSocketAddress address, long begun) throws IOException {
        byte[] request = ("GET /work?ms=" + workMs + "&kb=" + kb + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII);
        try (Socket socket = new Socket()) {
            int left = (int) Math.max(1, timeoutMs - (System.nanoTime() - begun) / 1_000_000);
            try {
                socket.connect(address, left);
            } catch (SocketTimeoutException e) {
                return Outcome.TIMED_OUT;
            } catch (ConnectException e) {
                return Outcome.CONNECT_FAILED;
            }
            left = (int) Math.max(1, timeoutMs - (System.nanoTime() - begun) / 1_000_000);
            socket.setSoTimeout(left);
            OutputStream o = socket.getOutputStream();
            InputStream in = socket.getInputStream();
            try {
                o.write(request);
                o.flush();
                byte[] status = in.readNBytes(12); // "HTTP/1.1 200"
                if (status.length < 12) {
                    return Outcome.CLOSED;
                }
                String code = new String(status, 9, 3, StandardCharsets.US_ASCII);
                in.skip(Long.MAX_VALUE); // the rest, until the server closes
                return switch (code) {
                    case "200" -> Outcome.ANSWERED;
                    case "503" -> Outcome.REFUSED;
                    default -> Outcome.OTHER;
                };
            } catch (SocketTimeoutException e) {
                return Outcome.TIMED_OUT;
            } catch (java.net.SocketException e) { // reset by the server
                return Outcome.CLOSED;
            }
        }
    }

    private static double median(long[] values) {
        long[] sorted = values.clone();
        java.util.Arrays.sort(sorted);
        return sorted.length % 2 == 1 ? sorted[sorted.length / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2.0;
    }

    private static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).trim();
        } catch (IOException e) {
            return "unknown";
        }
    }
}
