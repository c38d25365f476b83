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
 * One side of the JDBC benchmark (issue 5), in a JVM of its own: rounds of N concurrent tasks (10,000
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
 *   <li>{@code platform}: the tasks submitted to a fixed pool of 200 platform threads.</li>
 * </ul>
 *
 * <p>After the warm-up rounds it measures the next rounds and prints one {@code result} line: queries,
 * seconds, this JVM's CPU time (all threads, JIT and GC included), the CPU time of the PostgreSQL
 * server's processes (the postmaster's children, from {@code /proc}), and the busy CPU time of the
 * whole machine ({@code /proc/stat}: user, nice, system, steal). Tables are recreated at start and the
 * visit table emptied before every round, outside the timing, so every run and round starts alike.
 *
 * <p>usage: {@code JdbcWorkload fiber|vthread|platform JDBC_URL [--tasks N] [--warmup-rounds N]
 * [--rounds N] [--pool N] [--threads N]}
 */
public final class JdbcWorkload {
    private static final int ACCOUNTS = 1_000;
    private static final int QUERIES_PER_TASK = 3;

    private final String mode;
    private final HikariDataSource pool;
    private final int tasks;
    private final int platformThreads;
    private final LongAdder wrong = new LongAdder();

    private JdbcWorkload(String mode, HikariDataSource pool, int tasks, int platformThreads) {
        this.mode = mode;
        this.pool = pool;
        this.tasks = tasks;
        this.platformThreads = platformThreads;
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 2 || !List.of("fiber", "vthread", "platform").contains(args[0])) {
            System.err.println("usage: JdbcWorkload fiber|vthread|platform JDBC_URL [--tasks N] [--warmup-rounds N] [--rounds N] [--pool N] [--threads N]");
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
        try (HikariDataSource pool = new HikariDataSource(config)) {
            JdbcWorkload workload = new JdbcWorkload(mode, pool, tasks, threads);
            try (Runner runner = workload.runner()) {
                System.out.printf("mode=%s tasks=%d pool=%d processors=%d %s%n", mode, tasks, poolSize,
                        Runtime.getRuntime().availableProcessors(), runner.describe());
                for (int r = 1; r <= warmupRounds; r++) {
                    System.out.printf("warm-up round %d: %.3f s%n", r, workload.round(runner));
                }
                double seconds = 0;
                double clientCpu = processCpuSeconds(), serverCpu = childrenCpuSeconds(serverPid), machine = machineBusySeconds();
                for (int r = 1; r <= rounds; r++) {
                    double s = workload.round(runner);
                    seconds += s;
                    System.out.printf("round %d: %.3f s, %,.0f queries/s%n", r, s, QUERIES_PER_TASK * tasks / s);
                }
                clientCpu = processCpuSeconds() - clientCpu;
                serverCpu = childrenCpuSeconds(serverPid) - serverCpu;
                machine = machineBusySeconds() - machine;
                long queries = (long) QUERIES_PER_TASK * tasks * rounds;
                System.out.print(runner.after());
                System.out.printf("result mode=%s queries=%d seconds=%.4f client_cpu=%.3f server_cpu=%.3f machine_cpu=%.3f wrong=%d%n",
                        mode, queries, seconds, clientCpu, serverCpu, machine, workload.wrong.sum());
                if (workload.wrong.sum() > 0) {
                    System.exit(1);
                }
            }
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

        String describe();

        default String after() {
            return "";
        }

        @Override
        void close();
    }

    private Runner runner() {
        return switch (mode) {
            case "fiber" -> new FiberRunner();
            case "vthread" -> new VirtualThreadRunner();
            default -> new PlatformPoolRunner(platformThreads);
        };
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
        try (var pids = Files.list(Path.of("/proc"))) {
            for (Path p : (Iterable<Path>) pids::iterator) {
                String name = p.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                try {
                    String[] f = statFields(Long.parseLong(name));
                    if (Long.parseLong(f[1]) == parent) {
                        ticks += Long.parseLong(f[11]) + Long.parseLong(f[12]);
                    }
                } catch (IOException | RuntimeException gone) {
                    // the process ended while we listed /proc
                }
            }
        }
        return ticks / 100.0;
    }

    /** Fields of {@code /proc/PID/stat} after the command name: [0] state, [1] ppid, ..., [11] utime, [12] stime. */
    private static String[] statFields(long pid) throws IOException {
        String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
        return stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    }

    /** Busy CPU time of the whole machine so far (user, nice, system, steal of {@code /proc/stat}), in seconds. */
    private static double machineBusySeconds() throws IOException {
        String[] f = Files.readAllLines(Path.of("/proc/stat")).getFirst().trim().split(" +");
        return (Long.parseLong(f[1]) + Long.parseLong(f[2]) + Long.parseLong(f[3]) + Long.parseLong(f[8])) / 100.0;
    }
}
