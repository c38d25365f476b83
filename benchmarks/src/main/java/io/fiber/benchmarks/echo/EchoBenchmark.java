package io.fiber.benchmarks.echo;

import io.fiber.benchmarks.runner.ChildProcess;
import io.fiber.benchmarks.runner.CommandLine;
import io.fiber.benchmarks.runner.ProcessStats;

import io.fiber.benchmarks.echo.EchoLoadDriver.Result;
import io.fiber.benchmarks.echo.EchoBenchmarkServer.Mode;

import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The echo benchmark runner ({@code ./run bench echo}): every server of {@link Server} under every
 * {@link Scenario}, in one run, each server in a process of its own and the load driver in another, then
 * markdown tables of the results ({@link EchoReport}).
 *
 * <p>For one server and scenario it starts the server pinned to core 0 ({@code taskset -c 0}) and
 * waits for its ready line, starts the load driver ({@link Driver}: the C one, or {@link EchoLoadDriver}) pinned
 * to core 1, and reads the server's and
 * the driver's CPU time from {@code /proc} when the driver says the measured period starts and ends
 * ({@link ProcessStats}), and the whole machine's, to show how much other processes ran meanwhile
 * (the machine may be shared). At the end it also reads the server's resident memory, while every connection
 * is still open: the driver holds them until the runner closes its stdin. Then the driver and the
 * server are stopped, and the next pair starts on a quiet machine.
 *
 * <p>Fairness: every server JVM gets the same heap limit and collector ({@link #COMMON_JVM_OPTIONS}),
 * and sizes itself from the processors it sees, which is 1 when pinned. So the fibers get 1 carrier,
 * the JDK's virtual threads a scheduler of parallelism 1, and Netty 1 worker loop: each runtime gets
 * the one core it runs on. Without {@code taskset}, or with {@code --no-pin}, both processes share
 * every core and see them all.
 */
public final class EchoBenchmark {
    /** The same heap limit and collector for every server: on 1 core the JVM would pick Serial anyway. */
    static final List<String> COMMON_JVM_OPTIONS = List.of("-Xmx1g", "-XX:+UseSerialGC");
    static final Duration DEFAULT_WARMUP = Duration.ofSeconds(10);
    static final Duration DEFAULT_DURATION = Duration.ofSeconds(15);
    static final Duration QUICK_WARMUP = Duration.ofSeconds(1);
    static final Duration QUICK_DURATION = Duration.ofSeconds(2);
    private static final Duration READY_LIMIT = Duration.ofSeconds(60);
    private static final Duration CONNECT_LIMIT = Duration.ofSeconds(120);
    private static final Duration SLACK = Duration.ofSeconds(60);
    private static final String SERVER_CPU = "0";
    private static final String DRIVER_CPU = "1";

    /**
     * The servers, (a), (a-off), (b) to (e), in the order they run in each scenario. (a) runs the blocking-call
     * detector in report mode, the agent's default, named explicitly ({@code detector=report}); (a-off)
     * is the same server with the detector off, for the detector's overhead.
     */
    enum Server {
        FIBER_AGENT("a", "fibers + agent (detector=report)", Mode.FIBER),
        FIBER_AGENT_DETECTOR_OFF("a-off", "fibers + agent, detector=off", Mode.FIBER),
        FIBER("b", "fibers, no agent", Mode.FIBER),
        /** (b) with the metrics a production server would have on: Micrometer's Prometheus registry scraped every second, the MXBean registered. */
        FIBER_METRICS("b-metrics", "fibers, no agent, metrics scraped every second", Mode.FIBER),
        VTHREAD("c", "JDK virtual threads", Mode.VTHREAD),
        PLATFORM("d", "platform thread per connection", Mode.PLATFORM),
        NETTY("e", "Netty, native epoll", Mode.NETTY),
        /** Not a JVM: {@code echo_epoll.c} (a resource of this package, {@link CPrograms}), the reference ceiling; null mode. */
        C_EPOLL("f", "C epoll, one thread (reference)", null);

        /** What runs without {@code --servers}: all but (b-metrics), which only the metrics' overhead needs. */
        static final List<Server> BY_DEFAULT = Arrays.stream(values()).filter(s -> s != FIBER_METRICS).toList();

        final String letter;
        final String title;
        final Mode mode;

        Server(String letter, String title, Mode mode) {
            this.letter = letter;
            this.title = title;
            this.mode = mode;
        }

        /** The JVM options this server needs beyond {@link #COMMON_JVM_OPTIONS}. */
        List<String> jvmOptions(Path agentJar) {
            return switch (this) {
                case FIBER_AGENT -> List.of("-javaagent:" + agentJar + "=detector=report");
                case FIBER_AGENT_DETECTOR_OFF -> List.of("-javaagent:" + agentJar + "=detector=off");
                case FIBER -> List.of("--add-opens", "java.base/java.lang=ALL-UNNAMED");
                case FIBER_METRICS -> List.of("--add-opens", "java.base/java.lang=ALL-UNNAMED", "-D" + EchoBenchmarkServer.METRICS_PROPERTY + "=true");
                case VTHREAD, PLATFORM, C_EPOLL -> List.of();
                case NETTY -> List.of("--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow");
            };
        }

        String label() {
            return "(" + letter + ") " + title;
        }

        boolean usesAgent() {
            return this == FIBER_AGENT || this == FIBER_AGENT_DETECTOR_OFF;
        }
    }

    /** A bound on a ratio of two servers' figures, from the benchmark's targets. */
    record Target(EchoReport.Ratio ratio, double bound, boolean atLeast) {
        /** With the detector in report mode and no blocking call, at least 0.95x the round trips of detector=off. */
        static final Target DETECTOR_OVERHEAD = new Target(EchoReport.Ratio.RATE_A_AOFF, 0.95, true);
        /** With metrics on (scraped every second), at least 0.98x the round trips without (issue 20). */
        static final Target METRICS_OVERHEAD = new Target(EchoReport.Ratio.RATE_BMETRICS_B, 0.98, true);

        boolean metBy(double value) {
            return atLeast ? value >= bound : value <= bound;
        }

        String describe() {
            return (atLeast ? ">= " : "<= ") + bound + "x";
        }
    }

    /** The loads: active connections in closed loops, plus silent ones that only hold memory. */
    enum Scenario {
        PING_PONG("ping-pong", "1 connection, ping-pong", 1, 0,
                new Target(EchoReport.Ratio.RATE_A_C, 1.5, true), new Target(EchoReport.Ratio.CPU_A_C, 0.5, false),
                Target.DETECTOR_OVERHEAD, Target.METRICS_OVERHEAD),
        CONNECTIONS_1000("conn-1000", "1,000 connections", 1_000, 0,
                new Target(EchoReport.Ratio.RATE_A_C, 1.2, true), new Target(EchoReport.Ratio.RATE_A_E, 0.9, true),
                Target.DETECTOR_OVERHEAD, Target.METRICS_OVERHEAD),
        IDLE_10000("idle-10000", "10,000 idle connections + 100 active", 100, 10_000,
                new Target(EchoReport.Ratio.RSS_A_C, 1.0, false), Target.DETECTOR_OVERHEAD);

        final String argument;
        final String title;
        final int active;
        final int idle;
        final List<Target> targets;

        Scenario(String argument, String title, int active, int idle, Target... targets) {
            this.argument = argument;
            this.title = title;
            this.active = active;
            this.idle = idle;
            this.targets = List.of(targets);
        }
    }

    /**
     * What loads the servers. Both run the same closed loop, check every echo byte for byte and record
     * latencies in the same histogram. The C one spends no CPU on a JVM (JIT, collector, selector
     * bookkeeping); most of a driver's CPU per round trip is the kernel's loopback TCP either way, as
     * it is a server's, so on a core of its own a driver can still cap a server as cheap as the C one.
     */
    enum Driver {
        /** {@code echo_load.c} ({@link CPrograms}), one epoll loop on one thread. */
        C("c"),
        /** {@link EchoLoadDriver}: NIO selector loops, one per available processor, on the load harness. */
        JAVA("java");

        final String argument;

        Driver(String argument) {
            this.argument = argument;
        }
    }

    /** The runner's command line. */
    record Options(Duration warmup, Duration duration, int rounds, List<Scenario> scenarios, List<Server> servers, boolean pin,
                   Path agentJar, Driver driver, int readBuffer) {
        static final String USAGE = """
                usage: ./run bench echo [--quick] [--warmup S] [--duration S] [--rounds N] [--scenarios LIST] [--servers LIST] [--driver c|java]
                                        [--read-buffer BYTES] [--no-pin] [--agent JAR]
                  --quick          1 s warm-up and 2 s measured per run (a smoke test); default 10 s and 15 s
                  --warmup S       seconds of load before the measured period (fractions allowed)
                  --duration S     seconds measured
                  --rounds N       run every server N times per scenario, in turn (default 1); each ratio is then
                                   the median of its N same-round ratios, which a drifting machine moves less
                  --scenarios LIST comma-separated, from ping-pong,conn-1000,idle-10000 (default all)
                  --servers LIST   comma-separated, from a,a-off,b,b-metrics,c,d,e,f (default all but b-metrics):
                                   (a) fibers + agent, blocking-call detector in report mode (the agent's default),
                                   (a-off) the same with detector=off, (b) fibers without the agent,
                                   (c) JDK virtual threads, (d) a platform thread per connection, (e) Netty with native epoll,
                                   (f) a C epoll server, one thread (the reference ceiling; needs cc)
                  --driver c|java  the load driver: c, echo_load.c on one epoll thread (default; needs cc), or java,
                                   EchoLoadDriver's NIO selector loops, whose JVM adds to the driver's CPU
                  --read-buffer BYTES  the blocking servers' read buffer per connection (default 1024); Netty and C size their own
                  --no-pin         do not pin the server to core 0 and the driver to core 1 with taskset
                  --agent JAR      the fiber agent for (a) and (a-off) (default fiber-agent/target/fiber-agent.jar)""";

        static Options parse(String[] args) {
            CommandLine line = CommandLine.parse(args,
                    Set.of("--warmup", "--duration", "--rounds", "--scenarios", "--servers", "--agent", "--driver", "--read-buffer"), Set.of("--quick", "--no-pin"));
            boolean quick = line.flag("--quick");
            int rounds = line.integer("--rounds", 1);
            if (rounds < 1) {
                throw new IllegalArgumentException("option --rounds needs 1 or more, not " + rounds);
            }
            int readBuffer = line.integer("--read-buffer", EchoBenchmarkServer.READ_BUFFER_SIZE);
            if (readBuffer < 1) {
                throw new IllegalArgumentException("option --read-buffer needs 1 or more, not " + readBuffer);
            }
            if (line.string("--driver", "c").contains(",")) {
                throw new IllegalArgumentException("option --driver takes one of c, java");
            }
            return new Options(
                    line.seconds("--warmup", quick ? QUICK_WARMUP : DEFAULT_WARMUP),
                    line.seconds("--duration", quick ? QUICK_DURATION : DEFAULT_DURATION),
                    rounds,
                    pick(line.string("--scenarios", null), Scenario.values(), s -> s.argument, "scenario"),
                    line.string("--servers", null) == null ? Server.BY_DEFAULT
                            : pick(line.string("--servers", null), Server.values(), s -> s.letter, "server"),
                    !line.flag("--no-pin"),
                    Path.of(line.string("--agent", "fiber-agent/target/fiber-agent.jar")).toAbsolutePath(),
                    pick(line.string("--driver", Driver.C.argument), Driver.values(), d -> d.argument, "driver").getFirst(),
                    readBuffer);
        }

        /** The named choices in the order of {@code all}; all of them when {@code list} is null. */
        private static <T> List<T> pick(String list, T[] all, Function<T, String> name, String what) {
            if (list == null) {
                return List.of(all);
            }
            List<String> names = Arrays.asList(list.split(","));
            List<T> picked = new ArrayList<>();
            for (T choice : all) {
                if (names.contains(name.apply(choice))) {
                    picked.add(choice);
                }
            }
            for (String n : names) {
                if (Arrays.stream(all).noneMatch(choice -> name.apply(choice).equals(n))) {
                    throw new IllegalArgumentException("unknown " + what + " '" + n + "'");
                }
            }
            return picked;
        }
    }

    /**
     * One server under one scenario, in round {@code round} (from 1). CPU times and wall time are over
     * the measured period, the server's user-space part apart ({@code serverUserCpuSeconds}): the rest
     * is kernel time, mostly the loopback TCP work every server pays alike. A failed run has a
     * {@code failure} and no result.
     */
    record Measurement(Scenario scenario, Server server, int round, Result result, double serverCpuSeconds, double serverUserCpuSeconds,
                       double driverCpuSeconds, double otherCpuSeconds, double wallSeconds, long serverRssKib, String failure) {
        static Measurement failed(Scenario scenario, Server server, int round, String failure) {
            return new Measurement(scenario, server, round, null, 0, 0, 0, 0, 0, 0, failure);
        }

        boolean ok() {
            return failure == null;
        }

        double serverCpuSecondsPerMillion() {
            return serverCpuSeconds / result.roundTrips() * 1e6;
        }

        /** The user-space part of {@link #serverCpuSecondsPerMillion}, where the runtimes differ most. */
        double serverUserCpuSecondsPerMillion() {
            return serverUserCpuSeconds / result.roundTrips() * 1e6;
        }

        /** Share of one core the server used while measured, in percent. */
        double serverCpuPercent() {
            return 100 * serverCpuSeconds / wallSeconds;
        }

        double driverCpuPercent() {
            return 100 * driverCpuSeconds / wallSeconds;
        }

        /** What everything else on the machine used meanwhile, in percent of one core: noise. */
        double otherCpuPercent() {
            return 100 * otherCpuSeconds / wallSeconds;
        }
    }

    private static final Pattern PORT = Pattern.compile("\\bport=(\\d+)");

    private final Options options;
    private final ProcessStats stats;
    private final PrintStream log;
    private final boolean pinned;
    private final String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    private final String classPath = System.getProperty("java.class.path");
    /** How the run is set up, for the head of the log and of the report. */
    private final String setup;

    private EchoBenchmark(Options options, ProcessStats stats, PrintStream log) {
        this.options = options;
        this.stats = stats;
        this.log = log;
        this.pinned = options.pin() && tasksetAvailable() && Runtime.getRuntime().availableProcessors() >= 2;
        this.setup = describeSetup();
    }

    public static void main(String[] args) throws Exception {
        if (Arrays.asList(args).contains("--help")) {
            System.out.println(Options.USAGE);
            return;
        }
        Options options;
        try {
            options = Options.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("echo benchmark: " + e.getMessage() + "\n" + Options.USAGE);
            System.exit(2);
            return;
        }
        if (options.servers().stream().anyMatch(Server::usesAgent) && !Files.isRegularFile(options.agentJar())) {
            System.err.println("echo benchmark: no agent jar at " + options.agentJar()
                    + "; build it with ./run mvn -B -ntp -q -pl benchmarks,fiber-agent -am package -DskipTests");
            System.exit(2);
        }
        EchoBenchmark benchmark = new EchoBenchmark(options, ProcessStats.create(), System.out);
        List<Measurement> measurements = benchmark.runAll();
        EchoReport.print(System.out, benchmark.setup, options, measurements);
        System.exit(measurements.stream().allMatch(Measurement::ok) ? 0 : 1);
    }

    private List<Measurement> runAll() throws InterruptedException {
        log.println(setup);
        List<Measurement> measurements = new ArrayList<>();
        int rounds = options.rounds();
        int total = options.scenarios().size() * rounds * options.servers().size();
        for (Scenario scenario : options.scenarios()) {
            for (int round = 1; round <= rounds; round++) {
                for (Server server : options.servers()) {
                    log.printf("%n== run %d/%d: %s, %s%s%n", measurements.size() + 1, total, scenario.title, server.label(),
                            rounds == 1 ? "" : ", round " + round + "/" + rounds);
                    Measurement m = run(scenario, server, round);
                    log.println("== " + (m.ok() ? EchoReport.summary(m) : "FAILED: " + m.failure()));
                    measurements.add(m);
                }
            }
        }
        return measurements;
    }

    /** Runs one server under one scenario; a failure is part of the measurement, not an exception. */
    private Measurement run(Scenario scenario, Server server, int round) throws InterruptedException {
        try (ChildProcess serverProcess = ChildProcess.start("server " + server.letter, serverCommand(server), log)) {
            String ready = serverProcess.awaitLine(EchoBenchmarkServer.READY, READY_LIMIT);
            Matcher port = PORT.matcher(ready);
            if (!port.find()) {
                return Measurement.failed(scenario, server, round, "no port in the ready line: " + ready);
            }
            try (ChildProcess driver = ChildProcess.start("driver", driverCommand(scenario, Integer.parseInt(port.group(1))), log)) {
                driver.awaitLine(EchoLoadDriver.CONNECTED, CONNECT_LIMIT);
                driver.awaitLine(EchoLoadDriver.MEASURE_START, options.warmup().plus(SLACK));
                long start = System.nanoTime();
                ProcessStats.CpuTime serverCpuStart = stats.cpuTime(serverProcess.pid());
                double driverCpuStart = stats.cpuSeconds(driver.pid());
                double machineCpuStart = stats.machineBusySeconds();
                driver.awaitLine(EchoLoadDriver.MEASURE_END, options.duration().plus(SLACK));
                ProcessStats.CpuTime serverCpu = stats.cpuTime(serverProcess.pid()).minus(serverCpuStart);
                double driverCpu = stats.cpuSeconds(driver.pid()) - driverCpuStart;
                double otherCpu = stats.machineBusySeconds() - machineCpuStart - serverCpu.total() - driverCpu;
                double wall = (System.nanoTime() - start) / 1e9;
                long rss = ProcessStats.residentKib(serverProcess.pid());
                Result result = Result.parse(driver.awaitLine(EchoLoadDriver.RESULT, SLACK));
                if (result.roundTrips() == 0) {
                    return Measurement.failed(scenario, server, round, "no round trip completed in the measured period");
                }
                return new Measurement(scenario, server, round, result, serverCpu.total(), serverCpu.user(), driverCpu, Math.max(0, otherCpu), wall, rss, null);
            }
        } catch (IOException | RuntimeException e) {
            return Measurement.failed(scenario, server, round, String.valueOf(e.getMessage()));
        }
    }

    private List<String> serverCommand(Server server) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(pinTo(SERVER_CPU));
        if (server == Server.C_EPOLL) {
            command.addAll(List.of(CPrograms.binary(CPrograms.SERVER, log).toString(), "0"));
            return command;
        }
        command.add(java);
        command.addAll(COMMON_JVM_OPTIONS);
        command.addAll(server.jvmOptions(options.agentJar()));
        command.addAll(List.of("-cp", classPath, EchoBenchmarkServer.class.getName(), server.mode.argument(), "0",
                Integer.toString(options.readBuffer())));
        return command;
    }

    private List<String> driverCommand(Scenario scenario, int port) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(pinTo(DRIVER_CPU));
        if (options.driver() == Driver.C) {
            command.add(CPrograms.binary(CPrograms.DRIVER, log).toString());
        } else {
            command.add(java);
            command.addAll(COMMON_JVM_OPTIONS);
            command.addAll(List.of("-cp", classPath, EchoLoadDriver.class.getName()));
        }
        command.addAll(List.of("--port", Integer.toString(port), "--connections", Integer.toString(scenario.active),
                "--idle", Integer.toString(scenario.idle), "--warmup", seconds(options.warmup()),
                "--duration", seconds(options.duration()), "--hold-until-stdin-eof"));
        return command;
    }

    private List<String> pinTo(String cpu) {
        return pinned ? List.of("taskset", "-c", cpu) : List.of();
    }

    private static String seconds(Duration d) {
        return Double.toString(d.toNanos() / 1e9);
    }

    private static boolean tasksetAvailable() {
        String path = System.getenv().getOrDefault("PATH", "");
        return Arrays.stream(path.split(File.pathSeparator)).anyMatch(dir -> Files.isExecutable(Path.of(dir, "taskset")));
    }

    private String describeSetup() {
        StringBuilder s = new StringBuilder();
        s.append("Echo benchmark, ").append(Instant.now().truncatedTo(ChronoUnit.SECONDS)).append('\n');
        s.append("- JDK: ").append(System.getProperty("java.vm.name")).append(' ').append(System.getProperty("java.runtime.version"))
                .append('\n');
        s.append("- machine: ").append(Runtime.getRuntime().availableProcessors()).append(" processors; CPU times from /proc, CLK_TCK = ")
                .append((long) stats.ticksPerSecond()).append('\n');
        s.append("- pinning: ").append(pinned
                ? "server on core " + SERVER_CPU + ", driver on core " + DRIVER_CPU + " (taskset -c); each sees 1 processor"
                : "none (" + (options.pin() ? "taskset or a second core is missing" : "--no-pin") + "); server and driver share all cores")
                .append('\n');
        s.append("- per run: ").append(seconds(options.warmup())).append(" s warm-up, ").append(seconds(options.duration()))
                .append(" s measured; 64-byte messages, closed loop, 1 message in flight per active connection; blocking servers read through ")
                .append(options.readBuffer()).append(" bytes per connection\n");
        if (options.rounds() > 1) {
            s.append("- rounds: ").append(options.rounds()).append(" per scenario, each running every server once, in turn;"
                    + " a ratio is the median of its same-round ratios\n");
        }
        s.append("- load driver: ").append(options.driver() == Driver.C ? CPrograms.DRIVER_DESCRIPTION
                : "EchoLoadDriver (Java NIO selector loops)").append('\n');
        s.append("- JVM options, every server").append(options.driver() == Driver.JAVA ? " and the driver" : "").append(": ")
                .append(String.join(" ", COMMON_JVM_OPTIONS)).append('\n');
        for (Server server : options.servers()) {
            List<String> extra = server.jvmOptions(options.agentJar());
            s.append("- ").append(server.label()).append(": ").append(server.mode == null ? CPrograms.SERVER_DESCRIPTION : "mode " + server.mode.argument())
                    .append(extra.isEmpty() ? "" : ", " + ChildProcess.portable(String.join(" ", extra))).append('\n');
        }
        return s.toString();
    }
}
