package io.fiber.benchmarks.servers;

import io.fiber.benchmarks.runner.ChildProcess;
import io.fiber.benchmarks.runner.CommandLine;
import io.fiber.benchmarks.runner.Medians;
import io.fiber.benchmarks.runner.ProcessStats;
import io.fiber.load.ProcessPeaks;

import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.ToDoubleFunction;

/**
 * Unmodified servers with the agent against the same servers without it (issue 18's benchmark):
 * the servers of {@code examples}' {@code AtScaleServer}, each request waiting 100 ms on a
 * downstream {@code DelayServer} call, driven by {@link HttpLoad} from this JVM.
 *
 * <p>Two kinds of server, two pairs of runs:
 * <ul>
 *   <li>thread-per-connection servers of platform threads ({@code classic}: an accept loop and a
 *       {@code new Thread} per connection; {@code jdk-pool}: the JDK's {@code HttpServer} on
 *       {@code Executors.newCachedThreadPool()}; {@code jetty-pool}: Jetty 12 on its
 *       {@code QueuedThreadPool}; {@code tomcat-pool}: Tomcat 11 on its default executor): without
 *       the agent, and under it with {@code threads=fibers};</li>
 *   <li>servers in their virtual-thread mode ({@code plain}: the accept loop with
 *       {@code Thread.ofVirtual()}; {@code jetty}: Jetty's {@code VirtualThreadPool}; {@code tomcat}:
 *       Tomcat 11 with {@code useVirtualThreads}; {@code jdk}: {@code HttpServer} on
 *       {@code newVirtualThreadPerTaskExecutor()}): on the JDK's scheduler (no agent), and under the
 *       agent with its defaults, where every virtual thread is a fiber.</li>
 * </ul>
 * For each server and side, each in a fresh server process: a closed loop of 1,000 clients, a new
 * connection per request (what the server can answer: requests/s, p99, CPU per request), and
 * 1,000 and then 10,000 slow connections: kept alive, each sending a request now and then, so
 * that all of them send {@code --rate} requests/s (1,000) together (the server's peak OS threads
 * and RSS while it holds them, and CPU per request at that fixed rate; fewer than 10,000 if file
 * descriptors forbid: the server holds two per waiting request). The two sides of a server run
 * back to back in each round, and each ratio is the median of the rounds' ratios.
 *
 * <p>Placement: the server on core 0, this JVM (the load) and the delay server on core 1
 * ({@code taskset}; {@code ./run bench servers} starts this JVM pinned). Each server JVM then sees
 * one processor: one carrier under the agent, a one-thread {@code ForkJoinPool} without it.
 */
public final class ServersBenchmark {
    static final List<String> PLATFORM_SERVERS = List.of("classic", "jdk-pool", "jetty-pool", "tomcat-pool");
    static final List<String> VIRTUAL_SERVERS = List.of("plain", "jetty", "tomcat", "jdk");
    private static final String SERVER_CPU = "0";
    private static final String LOAD_CPU = "1";
    private static final int FD_RESERVE = 200;
    private static final Duration START_LIMIT = Duration.ofSeconds(60);

    private ServersBenchmark() { }

    /** One side of a server: no agent, or the agent with {@code options}. */
    record Side(String label, Optional<String> agentOptions) { }

    /** One scenario's figures for one server, side and round. */
    record Figures(double perSecond, double p99Millis, long failed, double cpuMicrosPerRequest, double serverCpuPercent,
                   int peakThreads, long peakRssMib, String firstFailure) { }

    private record Key(String server, String side, String scenario) { }

    public static void main(String[] args) throws Exception {
        CommandLine options = CommandLine.parse(args, Set.of("--servers", "--closed", "--connections", "--rate", "--rounds", "--warmup",
                "--duration", "--heap", "--agent-options", "--jvm-options", "--server-classpath", "--agent"), Set.of("--no-pin", "--jit"));
        List<String> servers = List.of(options.string("--servers", String.join(",", concat(PLATFORM_SERVERS, VIRTUAL_SERVERS))).split(","));
        int rounds = options.integer("--rounds", 3);
        int rate = options.integer("--rate", 1000);
        Duration warmup = options.seconds("--warmup", Duration.ofSeconds(5));
        Duration measure = options.seconds("--duration", Duration.ofSeconds(10));
        int closed = options.integer("--closed", 1000);
        String heap = options.string("--heap", "1g"); // the servers' -Xmx, the same on both sides
        String extraAgentOptions = options.string("--agent-options", ""); // added to the agent side's, e.g. detector=off
        List<String> jvmOptions = Arrays.stream(options.string("--jvm-options", "").split(" ")).filter(o -> !o.isBlank()).toList(); // both sides
        String held = options.string("--connections", "1000,10000"); // "none": the closed loop alone
        List<Integer> heldConnections = held.equals("none") ? List.of() : Arrays.stream(held.split(",")).map(Integer::parseInt).toList();
        boolean jit = options.flag("--jit"); // what the server's JIT did during each load
        boolean pin = !options.flag("--no-pin"); // ./run bench servers passes --no-pin without taskset or a second core
        String classPath = Files.readString(Path.of(required(options, "--server-classpath"))).trim();
        String agentJar = Path.of(required(options, "--agent")).toAbsolutePath().toString();
        for (String server : servers) {
            if (!PLATFORM_SERVERS.contains(server) && !VIRTUAL_SERVERS.contains(server)) {
                throw new IllegalArgumentException("unknown server '" + server + "': choose from " + concat(PLATFORM_SERVERS, VIRTUAL_SERVERS));
            }
        }
        PrintStream out = System.out;
        ProcessStats stats = ProcessStats.create();
        int most = Math.max(closed, heldConnections.stream().max(Integer::compare).orElse(closed));
        long fdLimit = ProcessPeaks.openFilesLimit(ProcessHandle.current().pid());
        int fitting = (int) Math.min(most, (fdLimit - FD_RESERVE) / 2 / 100 * 100);
        out.printf(Locale.ROOT, "servers benchmark: %s; %d round(s); a closed loop of %d clients; %s kept-alive connections sending %d requests/s in all;"
                        + " warm-up %d s (plus a think time for the kept-alive ones), measured %d s; servers with -Xmx%s%s%s%n",
                servers, rounds, closed, heldConnections, rate, warmup.toSeconds(), measure.toSeconds(), heap,
                jvmOptions.isEmpty() ? "" : " " + String.join(" ", jvmOptions),
                extraAgentOptions.isEmpty() ? "" : "; agent side also " + extraAgentOptions);
        out.println("placement: " + (pin ? "server on core " + SERVER_CPU + ", load and delay server on core " + LOAD_CPU + " (taskset)" : "not pinned"));
        if (fitting < most) {
            out.println("open files: " + fdLimit + " per process, so " + most + " connections become " + fitting + " (a server holds two descriptors per waiting request)");
        }
        Path dir = Files.createTempDirectory("servers-bench");
        Map<Key, List<Figures>> figures = new LinkedHashMap<>();
        try (ChildProcess delay = ChildProcess.start("delay", concat(pinned(pin, LOAD_CPU),
                List.of(java(), "-Xmx512m", "-cp", classPath, "io.fiber.examples.DelayServer", String.valueOf(most))), new PrintStream(PrintStream.nullOutputStream()))) {
            int delayPort = port(delay.awaitLine("port ", START_LIMIT));
            for (int round = 1; round <= rounds; round++) {
                for (String server : servers) {
                    for (Side side : sides(server)) {
                        out.printf("%n== round %d: %s, %s%n", round, server, side.label());
                        List<String> command = new ArrayList<>(pinned(pin, SERVER_CPU));
                        command.add(java());
                        side.agentOptions().map(o -> withExtra(o, extraAgentOptions))
                                .ifPresent(o -> command.add("-javaagent:" + agentJar + (o.isEmpty() ? "" : "=" + o)));
                        command.addAll(jvmOptions);
                        command.addAll(List.of("-Xmx" + heap, "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp", classPath,
                                "io.fiber.examples.AtScaleServer", server, String.valueOf(delayPort), String.valueOf(most),
                                Files.createTempDirectory(dir, server).toString()));
                        // Each scenario in a fresh server process: the peaks of one must not carry into the next.
                        run(figures, new Key(server, side.label(), "closed-" + closed), command, stats, jit, out, "closed loop of " + closed + " clients",
                                load -> load.closedLoop(closed, warmup, measure));
                        for (int connections : heldConnections) {
                            int n = Math.min(connections, fitting);
                            Duration think = Duration.ofNanos(n * 1_000_000_000L / rate);
                            run(figures, new Key(server, side.label(), "held-" + connections), command, stats, jit, out,
                                    n + " kept-alive connections, a request every " + think.toMillis() + " ms each",
                                    load -> load.held(n, think, warmup.plus(think), measure));
                        }
                    }
                }
            }
        }
        report(out, servers, closed, heldConnections, figures);
    }

    private interface Load {
        HttpLoad.Result run(HttpLoad load) throws Exception;
    }

    /** Starts the server with {@code command}, runs {@code load} against it, records the figures and stops it. */
    private static void run(Map<Key, List<Figures>> figures, Key key, List<String> command, ProcessStats stats, boolean jit, PrintStream out,
                            String what, Load load) throws Exception {
        try (ChildProcess child = ChildProcess.start(key.server(), command, out)) {
            HttpLoad http = new HttpLoad(new InetSocketAddress(InetAddress.getLoopbackAddress(), port(child.awaitLine("port ", START_LIMIT))));
            JitCounters before = jit ? JitCounters.of(child.pid(), stats) : null;
            record(figures, key, measure(stats, child, () -> load.run(http), out, what));
            if (jit) {
                out.println("  JIT during the load (server pid " + child.pid() + "): " + JitCounters.of(child.pid(), stats).minus(before).describe()
                        + "; before it: " + before.describe());
            }
        }
    }

    /** The agent side's options with the ones {@code --agent-options} adds. */
    static String withExtra(String options, String extra) {
        return extra.isEmpty() ? options : options.isEmpty() ? extra : options + "," + extra;
    }

    /** The two sides of a server: without the agent, and under it with the options that make this kind of server green. */
    static List<Side> sides(String server) {
        return PLATFORM_SERVERS.contains(server)
                ? List.of(new Side("no agent", Optional.empty()), new Side("agent threads=fibers", Optional.of("threads=fibers")))
                : List.of(new Side("no agent (JDK scheduler)", Optional.empty()), new Side("agent", Optional.of("")));
    }

    private interface Run {
        HttpLoad.Result run() throws Exception;
    }

    /** Runs {@code run} while sampling the server's threads and memory, and its CPU time to cut the measured window from. */
    private static Figures measure(ProcessStats stats, ChildProcess child, Run run, PrintStream out, String what) throws Exception {
        ProcessPeaks peaks = ProcessPeaks.watch(child.pid(), 20);
        CpuSamples cpu = new CpuSamples(stats, child.pid());
        HttpLoad.Result result;
        try {
            result = run.run();
        } finally {
            cpu.close();
            peaks.close();
        }
        double cpuSeconds = cpu.between(result.from(), result.to());
        double perRequestMicros = result.answered() == 0 ? Double.NaN : cpuSeconds * 1e6 / result.answered();
        Figures f = new Figures(result.perSecond(), result.latency().percentile(99) / 1e6, result.failed(), perRequestMicros,
                100 * cpuSeconds / result.seconds(), peaks.threads(), peaks.residentKib() / 1024, result.firstFailure());
        out.printf(Locale.ROOT, "  %s: %,.0f requests/s, p99 %.1f ms, %d failed, %.0f us CPU/request (server busy %.0f%%), peak %d OS threads, %d MiB RSS"
                        + " (%d sent, %d answered in all)%s%n",
                what, f.perSecond(), f.p99Millis(), f.failed(), f.cpuMicrosPerRequest(), f.serverCpuPercent(), f.peakThreads(), f.peakRssMib(),
                result.sentInAll(), result.passedInAll(), f.firstFailure() == null ? "" : "; first failure: " + f.firstFailure());
        out.println("  answered per second of the window: " + Arrays.toString(result.answeredBySecond()));
        return f;
    }

    /**
     * The server's CPU time, sampled every 50 ms by a thread of its own while a load runs, so the
     * measured window (which the load fixes only as it ends) can be cut from it afterwards: the CPU
     * between the samples nearest the window's edges, as exact as the kernel's 10 ms ticks allow.
     */
    private static final class CpuSamples implements AutoCloseable {
        private final List<long[]> samples = new ArrayList<>(); // {System.nanoTime(), CPU microseconds}
        private final Thread sampler;
        private volatile boolean stopped;

        CpuSamples(ProcessStats stats, long pid) {
            sampler = Thread.ofPlatform().daemon().name("cpu-samples").start(() -> {
                while (!stopped) {
                    try {
                        long micros = (long) (stats.cpuTime(pid).total() * 1e6);
                        synchronized (samples) {
                            samples.add(new long[] {System.nanoTime(), micros});
                        }
                        Thread.sleep(50);
                    } catch (IOException | InterruptedException e) {
                        return; // the server exited, or the load ended: the samples so far stand
                    }
                }
            });
        }

        @Override
        public void close() throws InterruptedException {
            stopped = true;
            sampler.join();
        }

        /** CPU seconds from {@code from} to {@code to} (nanoTime), scaled from the samples nearest them. */
        double between(long from, long to) {
            synchronized (samples) {
                long[] first = nearest(from);
                long[] last = nearest(to);
                double covered = (last[0] - first[0]) / 1e9;
                return covered <= 0 ? Double.NaN : (last[1] - first[1]) / 1e6 * ((to - from) / 1e9) / covered;
            }
        }

        private long[] nearest(long time) {
            long[] best = samples.getFirst();
            for (long[] s : samples) {
                if (Math.abs(s[0] - time) < Math.abs(best[0] - time)) {
                    best = s;
                }
            }
            return best;
        }
    }

    private static void record(Map<Key, List<Figures>> figures, Key key, Figures f) {
        figures.computeIfAbsent(key, k -> new ArrayList<>()).add(f);
    }

    /** Per server and scenario: each side's medians, then agent/no-agent as the median of the rounds' ratios, and the targets. */
    private static void report(PrintStream out, List<String> servers, int closed, List<Integer> heldConnections, Map<Key, List<Figures>> figures) {
        out.println();
        out.println("== report (each figure the median of the rounds; a ratio is agent / no agent, the median of the rounds' ratios, each round's in brackets)");
        List<String> scenarios = new ArrayList<>();
        scenarios.add("closed-" + closed);
        heldConnections.forEach(c -> scenarios.add("held-" + c));
        for (String server : servers) {
            List<Side> sides = sides(server);
            for (String scenario : scenarios) {
                List<Figures> base = figures.getOrDefault(new Key(server, sides.get(0).label(), scenario), List.of());
                List<Figures> agent = figures.getOrDefault(new Key(server, sides.get(1).label(), scenario), List.of());
                if (base.isEmpty() || agent.isEmpty()) {
                    continue;
                }
                out.printf("%n%s, %s%n", server, scenario);
                for (int i = 0; i < 2; i++) {
                    List<Figures> f = i == 0 ? base : agent;
                    out.printf(Locale.ROOT, "  %-26s %,9.0f req/s  p99 %8.1f ms  %6.0f us CPU/req  busy %4.0f%%  %6d threads  %6d MiB  %d failed%n",
                            sides.get(i).label(), median(f, Figures::perSecond), median(f, Figures::p99Millis), median(f, Figures::cpuMicrosPerRequest),
                            median(f, Figures::serverCpuPercent), (int) median(f, Figures::peakThreads), (long) median(f, Figures::peakRssMib),
                            f.stream().mapToLong(Figures::failed).sum());
                }
                out.println("  agent / no agent: requests/s " + ratio(agent, base, Figures::perSecond) + ", p99 " + ratio(agent, base, Figures::p99Millis)
                        + ", CPU/request " + ratio(agent, base, Figures::cpuMicrosPerRequest) + ", OS threads " + ratio(agent, base, Figures::peakThreads)
                        + ", RSS " + ratio(agent, base, Figures::peakRssMib));
                out.println("  " + verdict(server, scenario, agent, base));
            }
        }
    }

    /**
     * The targets, judged by the medians of the ratios: a virtual-thread server's requests/s
     * in the closed loop (what it can answer) and its CPU per request at the kept-alive connections'
     * fixed rate; a thread-per-connection server's RSS, OS threads and requests/s at 10,000
     * connections, and its requests/s in the closed loop.
     */
    private static String verdict(String server, String scenario, List<Figures> agent, List<Figures> base) {
        double rps = medianRatio(agent, base, Figures::perSecond);
        if (VIRTUAL_SERVERS.contains(server)) {
            if (scenario.startsWith("held-")) {
                double cpu = medianRatio(agent, base, Figures::cpuMicrosPerRequest);
                return "target CPU/request <= 0.80x the JDK scheduler's: " + met(cpu <= 0.80) + String.format(Locale.ROOT, " (%.2fx)", cpu);
            }
            return "target requests/s >= 1.10x the JDK scheduler's: " + met(rps >= 1.10) + String.format(Locale.ROOT, " (%.2fx)", rps);
        }
        if (scenario.startsWith("closed-")) {
            return "target requests/s >= 1.00x its own: " + met(rps >= 1.0) + String.format(Locale.ROOT, " (%.2fx)", rps);
        }
        if (!scenario.equals("held-10000")) {
            return "(the thread-per-connection targets of RSS and threads are judged at 10,000 connections)";
        }
        double rss = medianRatio(agent, base, Figures::peakRssMib);
        double threads = medianRatio(agent, base, Figures::peakThreads);
        return String.format(Locale.ROOT, "targets RSS <= 0.50x: %s (%.2fx); OS threads <= 0.05x: %s (%.3fx); requests/s >= 1.00x: %s (%.2fx)",
                met(rss <= 0.5), rss, met(threads <= 0.05), threads, met(rps >= 1.0), rps);
    }

    private static String met(boolean met) {
        return met ? "met" : "NOT met";
    }

    private static double median(List<Figures> f, ToDoubleFunction<Figures> field) {
        return Medians.median(f.stream().mapToDouble(field).toArray());
    }

    private static double medianRatio(List<Figures> agent, List<Figures> base, ToDoubleFunction<Figures> field) {
        int n = Math.min(agent.size(), base.size());
        double[] ratios = new double[n];
        for (int i = 0; i < n; i++) {
            ratios[i] = field.applyAsDouble(agent.get(i)) / field.applyAsDouble(base.get(i));
        }
        return Medians.median(ratios);
    }

    private static String ratio(List<Figures> agent, List<Figures> base, ToDoubleFunction<Figures> field) {
        int n = Math.min(agent.size(), base.size());
        List<String> each = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            each.add(String.format(Locale.ROOT, "%.2fx", field.applyAsDouble(agent.get(i)) / field.applyAsDouble(base.get(i))));
        }
        return String.format(Locale.ROOT, "%.2fx", medianRatio(agent, base, field)) + (n > 1 ? " " + each : "");
    }

    private static List<String> pinned(boolean pin, String cpu) {
        return pin ? List.of("taskset", "-c", cpu) : List.of();
    }

    private static int port(String line) {
        return Integer.parseInt(line.substring("port ".length()).trim());
    }

    private static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    private static <T> List<T> concat(List<T> a, List<T> b) {
        List<T> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    private static String required(CommandLine options, String name) {
        String value = options.string(name, null);
        if (value == null) {
            throw new IllegalArgumentException(name + " is required (./run bench servers passes it)");
        }
        return value;
    }
}
