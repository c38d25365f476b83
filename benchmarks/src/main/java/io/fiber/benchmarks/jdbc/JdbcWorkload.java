package io.fiber.benchmarks.jdbc;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.fiber.Fiber;
import io.fiber.FiberScheduler;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.LongAdder;

/**
 * One side of the JDBC benchmark, in a JVM of its own: rounds of N concurrent tasks (10,000
 * by default), each running three queries through a HikariCP pool of 20 connections to a real
 * PostgreSQL, the workload of the {@code ConcurrentQueriesIT} load test. Every result is checked; a
 * wrong one or an SQLException makes the run fail.
 *
 * <p>What runs the tasks ({@code MODE}):
 * <ul>
 *   <li>{@code fiber}: a fiber per task on a {@link FiberScheduler} with one carrier per available
 *       processor; run it under the agent, so pgjdbc's socket waits and HikariCP's timed waits go to
 *       the carriers' reactors and timers;</li>
 *   <li>{@code vthread}: a JDK virtual thread per task, the JDK's default scheduler;</li>
 *   <li>{@code platform}: the tasks submitted to a fixed pool of 200 platform threads;</li>
 *   <li>{@code interleaved}: the three in one JVM (under the agent), taking turns round by round in a
 *       rotating order, so load from other processes falls on all three alike; one result line each.</li>
 * </ul>
 *
 * <p>After the warm-up rounds it measures the next rounds and prints one {@code result} line: queries,
 * seconds, this JVM's CPU time (all threads, JIT and GC included), the CPU time of the PostgreSQL
 * server's processes (the postmaster's children, from {@code /proc}), and the busy CPU time of the
 * whole machine ({@code /proc/stat}), and the context switches of this JVM's threads and of the server's
 * processes. Tables are recreated at start and the
 * visit table emptied before every round, outside the timing, so every run and round starts alike.
 *
 * <p>usage: {@code JdbcWorkload fiber|vthread|platform|interleaved JDBC_URL [--tasks N] [--warmup-rounds N]
 * [--rounds N] [--pool N] [--threads N]}
 */
public final class JdbcWorkload {
    private static final int ACCOUNTS = 1_000;
    private static final int QUERIES_PER_TASK = 3;
    /** Linux's USER_HZ, the unit of the CPU times in {@code /proc}: 100 on x86_64. */
    private static final double CLOCK_TICKS_PER_SECOND = 100.0;

    private final HikariDataSource pool;
    private final int tasks;
    private final LongAdder wrong = new LongAdder();

    private JdbcWorkload(HikariDataSource pool, int tasks) {
        this.pool = pool;
        this.tasks = tasks;
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 2 || !List.of("fiber", "vthread", "platform", "interleaved").contains(args[0])) {
            System.err.println("usage: JdbcWorkload fiber|vthread|platform|interleaved JDBC_URL [--tasks N] [--warmup-rounds N] [--rounds N] [--pool N] [--threads N]");
            System.exit(2);
        }
        String mode = args[0];
        String url = args[1];
        int tasks = 10_000, warmupRounds = 3, rounds = 5, poolSize = 20, threads = 200;
        for (int i = 2; i + 1 < args.length; i += 2) {
            int value = Integer.parseInt(args[i + 1]);
            switch (args[i]) {
                case "--tasks" -> tasks = value;
                case "--warmup-rounds" -> warmupRounds = value;
                case "--rounds" -> rounds = value;
                case "--pool" -> poolSize = value;
                case "--threads" -> threads = value;
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        createTables(url);
        long serverPid = postmasterPid(url);

        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(url);
        config.setMaximumPoolSize(poolSize);
        config.setMinimumIdle(poolSize);
        config.setConnectionTimeout(Duration.ofSeconds(120).toMillis());
        config.setPoolName("bench-" + mode);
        List<Runner> runners = new ArrayList<>();
        try (HikariDataSource pool = new HikariDataSource(config)) {
            JdbcWorkload workload = new JdbcWorkload(pool, tasks);
            for (String m : mode.equals("interleaved") ? List.of("fiber", "vthread", "platform") : List.of(mode)) {
                runners.add(switch (m) {
                    case "fiber" -> new FiberRunner();
                    case "vthread" -> new VirtualThreadRunner();
                    default -> new PlatformPoolRunner(threads);
                });
            }
            for (Runner runner : runners) {
                System.out.printf("mode=%s tasks=%d pool=%d processors=%d %s%n", runner.mode(), tasks, poolSize,
                        Runtime.getRuntime().availableProcessors(), runner.describe());
            }
            for (int r = 1; r <= warmupRounds; r++) {
                for (Runner runner : runners) {
                    System.out.printf("warm-up round %d, %s: %.3f s%n", r, runner.mode(), workload.round(runner));
                }
            }
            // Interleaved, each measured round runs the modes in a rotated order, so none always follows another.
            List<Totals> totals = runners.stream().map(Totals::new).toList();
            for (int r = 1; r <= rounds; r++) {
                for (int k = 0; k < totals.size(); k++) {
                    Totals t = totals.get((r + k) % totals.size());
                    Sample before = Sample.take(serverPid);
                    double seconds = workload.round(t.runner);
                    t.add(seconds, before, Sample.take(serverPid));
                    System.out.printf("round %d, %s: %.3f s, %,.0f queries/s%n", r, t.runner.mode(), seconds, QUERIES_PER_TASK * tasks / seconds);
                }
            }
            for (Totals t : totals) {
                System.out.print(t.runner.after());
                System.out.printf("result mode=%s queries=%d seconds=%.4f client_cpu=%.3f server_cpu=%.3f machine_cpu=%.3f"
                                + " client_switches=%d server_switches=%d wrong=%d%n",
                        t.runner.mode(), (long) QUERIES_PER_TASK * tasks * rounds, t.seconds, t.clientCpu, t.serverCpu, t.machineCpu,
                        t.clientSwitches, t.serverSwitches, workload.wrong.sum());
            }
            if (workload.wrong.sum() > 0) {
                throw new IllegalStateException(workload.wrong.sum() + " wrong results or failed queries (lines starting 'wrong:' above)");
            }
        } finally {
            runners.forEach(Runner::close);
        }
    }

    /** The CPU times and context switches counted at one moment. */
    private record Sample(double clientCpu, double serverCpu, double machineCpu, long clientSwitches, long serverSwitches) {
        static Sample take(long serverPid) throws IOException {
            return new Sample(processCpuSeconds(), childrenCpuSeconds(serverPid), machineBusySeconds(),
                    contextSwitches(ProcessHandle.current().pid()), childrenContextSwitches(serverPid));
        }
    }

    /** One mode's measured rounds, summed. */
    private static final class Totals {
        final Runner runner;
        double seconds, clientCpu, serverCpu, machineCpu;
        long clientSwitches, serverSwitches;

        Totals(Runner runner) {
            this.runner = runner;
        }

        void add(double roundSeconds, Sample before, Sample after) {
            seconds += roundSeconds;
            clientCpu += after.clientCpu - before.clientCpu;
            serverCpu += after.serverCpu - before.serverCpu;
            machineCpu += after.machineCpu - before.machineCpu;
            clientSwitches += after.clientSwitches - before.clientSwitches;
            serverSwitches += after.serverSwitches - before.serverSwitches;
        }
    }

    /** Runs one round: all tasks started at once, all awaited; the seconds it took. */
    private double round(Runner runner) throws Exception {
        try (Connection c = pool.getConnection(); Statement s = c.createStatement()) {
            s.execute("truncate visit");
        }
        long start = System.nanoTime();
        runner.runAll(tasks, this::task);
        double seconds = (System.nanoTime() - start) / 1e9;
        try (Connection c = pool.getConnection(); Statement s = c.createStatement();
             ResultSet r = s.executeQuery("select count(*), count(distinct task_no) from visit")) {
            r.next();
            if (r.getInt(1) != tasks || r.getInt(2) != tasks) {
                wrong.increment();
                System.out.println("wrong: " + r.getInt(1) + " visits from " + r.getInt(2) + " tasks, expected " + tasks);
            }
        }
        return seconds;
    }

    /** One task: read an account, record a visit, read the visit back; three borrows from the pool. */
    private void task(int taskNo) {
        int account = 1 + taskNo % ACCOUNTS;
        try {
            try (Connection c = pool.getConnection();
                 PreparedStatement read = c.prepareStatement("select balance from account where id = ?")) {
                read.setInt(1, account);
                check(single(read) == account * 7L, "balance of account " + account);
            }
            try (Connection c = pool.getConnection();
                 PreparedStatement insert = c.prepareStatement("insert into visit (task_no, account) values (?, ?)")) {
                insert.setInt(1, taskNo);
                insert.setInt(2, account);
                check(insert.executeUpdate() == 1, "insert of task " + taskNo);
            }
            try (Connection c = pool.getConnection();
                 PreparedStatement check = c.prepareStatement("select count(*) from visit where task_no = ? and account = ?")) {
                check.setInt(1, taskNo);
                check.setInt(2, account);
                check(single(check) == 1, "visit of task " + taskNo);
            }
        } catch (SQLException e) {
            wrong.increment();
            System.out.println("wrong: task " + taskNo + ": " + e);
        }
    }

    private void check(boolean ok, String what) {
        if (!ok) {
            wrong.increment();
            System.out.println("wrong: " + what);
        }
    }

    private static long single(PreparedStatement statement) throws SQLException {
        try (ResultSet rows = statement.executeQuery()) {
            return rows.next() ? rows.getLong(1) : -1;
        }
    }

    private interface Task {
        void run(int taskNo);
    }

    /** What runs a round's tasks, one implementation per mode. */
    private interface Runner extends AutoCloseable {
        void runAll(int count, Task task) throws Exception;

        String mode();

        String describe();

        default String after() {
            return "";
        }

        @Override
        void close();
    }

    private static final class FiberRunner implements Runner {
        private final FiberScheduler scheduler = FiberScheduler.builder()
                .carriers(Runtime.getRuntime().availableProcessors()).name("bench").build();

        FiberRunner() {
            if (!scheduler.usesOwnCarriers()) {
                throw new IllegalStateException("fibers would run on the JDK's scheduler: run mode fiber under the agent");
            }
        }

        @Override
        public void runAll(int count, Task task) throws Exception {
            List<Fiber<Void>> fibers = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                int n = i;
                fibers.add(scheduler.spawn(() -> task.run(n)));
            }
            for (Fiber<Void> fiber : fibers) {
                fiber.join();
            }
        }

        @Override
        public String mode() {
            return "fiber";
        }

        @Override
        public String describe() {
            return "fibers on " + scheduler.carrierCount() + " carriers";
        }

        @Override
        public String after() {
            return scheduler.stats().toString();
        }

        @Override
        public void close() {
            scheduler.close();
        }
    }

    private static final class VirtualThreadRunner implements Runner {
        @Override
        public void runAll(int count, Task task) throws Exception {
            List<Thread> threads = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                int n = i;
                threads.add(Thread.ofVirtual().start(() -> task.run(n)));
            }
            for (Thread thread : threads) {
                thread.join();
            }
        }

        @Override
        public String mode() {
            return "vthread";
        }

        @Override
        public String describe() {
            return "JDK virtual threads, default scheduler";
        }

        @Override
        public void close() {
        }
    }

    private static final class PlatformPoolRunner implements Runner {
        private final int size;
        private final ExecutorService executor;

        PlatformPoolRunner(int size) {
            this.size = size;
            this.executor = Executors.newFixedThreadPool(size);
        }

        @Override
        public void runAll(int count, Task task) throws Exception {
            List<Future<?>> futures = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                int n = i;
                futures.add(executor.submit(() -> task.run(n)));
            }
            for (Future<?> future : futures) {
                future.get();
            }
        }

        @Override
        public String mode() {
            return "platform";
        }

        @Override
        public String describe() {
            return "a fixed pool of " + size + " platform threads";
        }

        @Override
        public void close() {
            executor.close();
        }
    }

    private static void createTables(String url) throws SQLException {
        try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement()) {
            s.execute("drop table if exists account, visit");
            s.execute("create table account (id int primary key, balance bigint not null)");
            s.execute("insert into account select i, i * 7 from generate_series(1, " + ACCOUNTS + ") i");
            s.execute("create table visit (task_no int not null, account int not null)");
            s.execute("create index on visit (task_no)");
            s.execute("vacuum analyze account");
        }
    }

    /** The PostgreSQL server's main process: the parent of a backend serving us. */
    private static long postmasterPid(String url) throws SQLException, IOException {
        try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement();
             ResultSet r = s.executeQuery("select pg_backend_pid()")) {
            r.next();
            return Long.parseLong(statFields(r.getLong(1))[1]);
        }
    }

    private static double processCpuSeconds() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime() / 1e9;
    }

    /** User + system CPU of every live child of {@code parent} (the server's backends and workers), in seconds. */
    private static double childrenCpuSeconds(long parent) throws IOException {
        long ticks = 0;
        for (long child : children(parent)) {
            try {
                String[] f = statFields(child);
                ticks += Long.parseLong(f[11]) + Long.parseLong(f[12]);
            } catch (IOException | RuntimeException gone) {
                // the process ended meanwhile
            }
        }
        return ticks / CLOCK_TICKS_PER_SECOND;
    }

    /** Context switches (voluntary and involuntary) of every thread of a process so far. */
    private static long contextSwitches(long pid) throws IOException {
        long switches = 0;
        try (var tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
            for (Path task : (Iterable<Path>) tasks::iterator) {
                try {
                    switches += switchesIn(task.resolve("status"));
                } catch (IOException | RuntimeException gone) {
                    // the thread ended while we listed them
                }
            }
        }
        return switches;
    }

    /** Context switches of every live child of {@code parent} (single-threaded server processes). */
    private static long childrenContextSwitches(long parent) throws IOException {
        long switches = 0;
        for (long child : children(parent)) {
            try {
                switches += switchesIn(Path.of("/proc", Long.toString(child), "status"));
            } catch (IOException | RuntimeException gone) {
                // the process ended meanwhile
            }
        }
        return switches;
    }

    private static long switchesIn(Path status) throws IOException {
        long switches = 0;
        for (String line : Files.readAllLines(status)) {
            if (line.startsWith("voluntary_ctxt_switches:") || line.startsWith("nonvoluntary_ctxt_switches:")) {
                switches += Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
            }
        }
        return switches;
    }

    private static List<Long> children(long parent) throws IOException {
        List<Long> children = new ArrayList<>();
        try (var pids = Files.list(Path.of("/proc"))) {
            for (Path p : (Iterable<Path>) pids::iterator) {
                String name = p.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                try {
                    if (Long.parseLong(statFields(Long.parseLong(name))[1]) == parent) {
                        children.add(Long.parseLong(name));
                    }
                } catch (IOException | RuntimeException gone) {
                    // the process ended while we listed /proc
                }
            }
        }
        return children;
    }

    /** Fields of {@code /proc/PID/stat} after the command name: [0] state, [1] ppid, ..., [11] utime, [12] stime. */
    private static String[] statFields(long pid) throws IOException {
        String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
        return stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    }

    /**
     * Busy CPU time of the whole machine so far, in seconds: user, nice, system, irq, softirq and steal
     * of {@code /proc/stat}. Loopback TCP is processed in softirqs, which Linux may charge to the
     * sending process's system time too, so this is not exactly client + server + others.
     */
    private static double machineBusySeconds() throws IOException {
        String[] f = Files.readAllLines(Path.of("/proc/stat")).getFirst().trim().split(" +");
        long ticks = 0;
        for (int field : new int[] {1, 2, 3, 6, 7, 8}) {
            ticks += Long.parseLong(f[field]);
        }
        return ticks / CLOCK_TICKS_PER_SECOND;
    }
}
