package io.fiber.examples;

import io.fiber.load.ProcessPeaks;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Unmodified servers in their virtual-thread mode run on our carriers under the agent, at scale: a
 * classic {@code ServerSocket} accept loop with a {@code Thread.ofVirtual()} thread per connection,
 * Jetty 12 with a {@code VirtualThreadPool}, Tomcat 11 with {@code useVirtualThreads=true}, and the
 * JDK's {@code HttpServer} on {@code Executors.newVirtualThreadPerTaskExecutor()} ({@link AtScaleServer},
 * which references nothing of the fiber runtime). Each runs in a child JVM launched with
 * {@code -javaagent:fiber-agent.jar=detector=fail}, and
 * once without the agent for comparison. So do five servers of platform threads, under the agent
 * with {@code threads=fibers}, which makes their threads fibers: the classic accept loop with a
 * {@code new Thread} per connection, Jetty 12 on its default {@code QueuedThreadPool}, Tomcat 11 on
 * its default executor (whose {@code TaskThread}s, a {@code Thread} subclass known to be safe, the
 * agent converts at their factory), the JDK's {@code HttpServer} on
 * {@code Executors.newCachedThreadPool()}, and H2's TCP server, a
 * {@code new Thread} per JDBC connection, whose request is the query {@code SELECT DOWNSTREAM(N)},
 * a Java function registered with {@code CREATE ALIAS}. Every request waits 100 ms on a downstream socket call to a
 * {@link DelayServer}, a process of its own.
 *
 * <p>This JVM is the load: it opens all the connections first, each on a JDK virtual thread, and only
 * when every one is open do they all send their request, so the server holds them all at once (H2's
 * JDBC connections are opened {@link #H2_CONNECTING_AT_ONCE} at a time, as its listen backlog is
 * fixed at 50; its queries are sent all at once too). Every
 * answer is checked: its own number, the downstream's answer to that number, and the thread that ran
 * the handler, a virtual thread whose carrier (after '@' in its {@code toString}) is one of ours,
 * {@code fiber-carrier-N}, under the agent, and one of the JDK's {@code ForkJoinPool} workers without.
 * While the load runs, the child's {@code /proc/PID/status} is sampled for its OS threads and its
 * resident memory; under the agent the peak thread count must stay within {@link #MAX_THREADS}, however
 * many requests wait at once. With {@code detector=fail} a blocking call that holds a carrier fails
 * its request, and the child's standard error must have no report of one ("Blocking call!") and
 * nothing else; the detector's reports of long runs, which measure wall time on a machine the load
 * keeps busy, are printed, not asserted. The child must stop, status 0, when its standard input ends.
 * Each run prints one line: the requests served, how long opening the connections and answering
 * them took, the most downstream calls at once (as the delay server counted them), the OS threads,
 * resident memory and open files of the child when idle and at the peak, and the carriers seen; the
 * figures are printed, not asserted, as speed is for benchmarks.
 *
 * <p>The connections: {@link #TARGET}, 10,000, unless file descriptors forbid. The child holds two per
 * request at the peak (the client's connection and its own downstream one), plus its JVM's own (jars,
 * epoll instances, pipes: {@link #FD_RESERVE} leaves room for them), so under the common limit of
 * 20,000 open files 10,000 requests at once do not fit: the test runs the most that fit, in hundreds
 * (9,900 at 20,000), and its line says why. A JVM raises its limit to the hard one by itself; past
 * that, raising it needs privileges. The servers' own limits are raised to the connections, as their
 * users would: the listen backlog (the accept loop's and the JDK server's), Jetty's accept queue and
 * its thread pool's maximum (200 by default), Tomcat's acceptCount (100) and maxConnections (8,192),
 * H2's open transactions (255). H2's child gets a 2 GB heap (the others 1 GB): each of its
 * connections holds a 64 KB read buffer and a session.
 * The kernel caps a backlog at {@code net.core.somaxconn} (4,096 here); a connection that finds the
 * queue full retries its SYN a second later (the line counts them: {@link #listenOverflows}).
 *
 * <p>To see it fail, give the children {@code detector=fail,virtual=jdk}: the virtual threads stay
 * the JDK's, and every answer names a {@code ForkJoinPool} worker instead of a carrier of ours.
 */
class VirtualThreadServersAtScaleTest {
    private static final int TARGET = 10_000;
    /** Open files a child JVM may have besides its connections: its idle count, printed, is under 40. */
    private static final int FD_RESERVE = 150;
    /**
     * The most OS threads a child under the agent may have at the peak. What it runs: the JVM's own
     * threads (GC, JIT compilers, reference handling, signals: about 20 on 2 cores), the carriers (one
     * per core) and the runtime's few others (its watchdog; a thread per handoff, while the held
     * one finishes its call), and the server's own platform threads (Tomcat's acceptor, poller and
     * utility threads; the accept loop's and the JDK server's dispatcher; Jetty's acceptor and
     * selectors are virtual threads of its pool). 64 holds all of that with room to spare and stays
     * well under a hundredth of the requests waiting at once: a thread per request, or a carrier
     * added per blocked one, would cross it at once.
     */
    private static final int MAX_THREADS = 64 + Runtime.getRuntime().availableProcessors();
    /**
     * How many JDBC connections the load opens at once, under H2's listen backlog: H2 listens with the
     * JDK's default backlog, 50, and has no option to raise it. Opened all at once, as the HTTP loads
     * open theirs, 9,900 connections overflow it by tens of thousands of dropped SYNs, each retried
     * 1, 3, 7, 15, 31 s later (the kernel's backoff), and the last connections open a minute after
     * the first or not at all (H2's driver gives up connecting after 2 s, {@code h2.socketConnectTimeout}).
     * All of them are open still before any query is sent.
     */
    private static final int H2_CONNECTING_AT_ONCE = 32;
    private static final long LOAD_TIMEOUT_SECONDS = 120;
    private static final int SOCKET_TIMEOUT_MILLIS = 60_000;
    private static final long START_TIMEOUT_SECONDS = 30;
    private static final long STOP_TIMEOUT_SECONDS = 20;

    private static Path dir;
    private static Process delayServer;
    private static int delayPort;

    @BeforeAll
    static void startDelayServer() throws Exception {
        dir = Files.createTempDirectory("servers-at-scale");
        Path out = dir.resolve("delay-out.txt");
        Path err = dir.resolve("delay-err.txt");
        delayServer = processBuilder(List.of(java(), "-Xmx512m", "-cp", RealServersUnderAgentTest.serverClassPath(),
                DelayServer.class.getName(), String.valueOf(TARGET)))
                .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        delayPort = RealServersUnderAgentTest.awaitPort(delayServer, out, err, "the delay server");
    }

    @AfterAll
    static void stopDelayServer() throws Exception {
        if (delayServer != null) {
            delayServer.getOutputStream().close();
            if (!delayServer.waitFor(STOP_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                delayServer.destroyForcibly();
            }
            String err = Files.readString(dir.resolve("delay-err.txt"));
            assertTrue(err.isEmpty(), "the delay server's standard error: " + RealServersUnderAgentTest.head(err));
        }
        RealServersUnderAgentTest.deleteTree(dir);
    }

    static Stream<Arguments> serversAndAgents() {
        List<Arguments> cases = new ArrayList<>();
        for (String server : List.of("plain", "jetty", "tomcat", "jdk")) {
            for (String agent : List.of("detector=fail", "none")) {
                cases.add(Arguments.of(server, agent));
            }
        }
        // Servers of platform threads, which the agent makes fibers with threads=fibers. Run under the
        // agent only: without it each would start 9,900 OS threads, which the benchmarks measure
        // (./run bench), not the test suite.
        for (String server : List.of("classic", "jetty-pool", "tomcat-pool", "jdk-pool", "h2")) {
            cases.add(Arguments.of(server, "detector=fail,threads=fibers"));
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0}, agent options: {1}")
    @MethodSource("serversAndAgents")
    void servesTenThousandRequestsAtOnceOnFewThreads(String server, String agent) throws Exception {
        boolean underAgent = !agent.equals("none");
        List<String> command = new ArrayList<>(List.of(java()));
        if (underAgent) {
            command.add("-javaagent:" + RealServersUnderAgentTest.agentJar() + "=" + agent);
        }
        // H2 holds more per connection than the HTTP servers: its 64 KB read buffer and a session (about 640 MB for 10,000).
        command.addAll(List.of(server.equals("h2") ? "-Xmx2g" : "-Xmx1g", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                "-cp", RealServersUnderAgentTest.serverClassPath(), AtScaleServer.class.getName(),
                server, String.valueOf(delayPort), String.valueOf(TARGET), Files.createTempDirectory(dir, server).toString()));
        Path out = Files.createTempFile(dir, server + "-out", ".txt");
        Path err = Files.createTempFile(dir, server + "-err", ".txt");
        Process child = processBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        String what = server + " (" + (underAgent ? "-javaagent:fiber-agent.jar=" + agent : "without the agent") + ")";
        try {
            int port = RealServersUnderAgentTest.awaitPort(child, out, err, what);
            // Two descriptors per request in the child at the peak, one in this JVM and in the delay server's.
            long childFds = ProcessPeaks.openFilesLimit(child.pid());
            long fewestFds = Math.min(ProcessPeaks.openFilesLimit(ProcessHandle.current().pid()), ProcessPeaks.openFilesLimit(delayServer.pid()));
            int requests = (int) Math.min(TARGET, Math.min((childFds - FD_RESERVE) / 2, fewestFds - FD_RESERVE) / 100 * 100);
            String why = requests == TARGET ? "" : " (not " + TARGET + ": the child may open " + childFds
                    + " files, two per request and " + FD_RESERVE + " for itself)";
            ProcessPeaks.Status idle = ProcessPeaks.status(child.pid());
            long idleFds = ProcessPeaks.openFiles(child.pid());
            ProcessPeaks peaks = ProcessPeaks.watch(child.pid(), 5);
            long overflowsBefore = listenOverflows();
            Semaphore connecting = new Semaphore(H2_CONNECTING_AT_ONCE);
            Load load = server.equals("h2") ? load(n -> jdbc(port, n, connecting), JDBC_ANSWER, requests, underAgent)
                    : load(n -> http(port, n), HTTP_ANSWER, requests, underAgent);
            long overflows = listenOverflows() - overflowsBefore;
            peaks.close();
            child.getOutputStream().close(); // the child stops its server when its standard input ends
            boolean exited = child.waitFor(STOP_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            String stdout = Files.readString(out, StandardCharsets.UTF_8);
            String stderr = Files.readString(err, StandardCharsets.UTF_8);
            StandardError errors = StandardError.of(stderr);
            String line = String.format("%s: served %d of %d%s; all open in %d ms, all answered %d ms later (listen queue overflows %d); downstream calls at once: %d; OS threads idle %d, peak %d;"
                            + " VmRSS idle %d MB, peak %d MB; open files idle %d, peak %d; carriers %s (%d answers from a handed-off one);"
                            + " long runs reported %d",
                    what, requests - load.failures.size(), requests, why, load.openMillis, load.answerMillis, overflows, load.peakInFlight, idle.threads(),
                    peaks.threads(), idle.residentKib() / 1024, peaks.residentKib() / 1024, idleFds, peaks.openFiles(), load.carriers, load.handedOff,
                    errors.longRuns.size());
            System.out.println(line);
            errors.longRuns.forEach(run -> System.out.println("  " + run));
            String report = line + (load.failures.isEmpty() ? "" : "\nthe first failures:\n  "
                    + String.join("\n  ", load.failures.subList(0, Math.min(5, load.failures.size()))))
                    + "\nchild stdout:\n" + stdout + "child stderr:\n" + RealServersUnderAgentTest.head(stderr);
            assertTrue(load.failures.isEmpty(), report);
            assertTrue(errors.flagged.isEmpty(), "the detector flagged:\n" + RealServersUnderAgentTest.head(String.join("", errors.flagged)) + report);
            assertTrue(errors.rest.isEmpty(), "the child's standard error has more than the detector's reports:\n"
                    + RealServersUnderAgentTest.head(errors.rest) + report);
            assertTrue(exited, "the child did not stop in " + STOP_TIMEOUT_SECONDS + " s once its input ended: " + report);
            assertEquals(0, child.exitValue(), report);
            assertTrue(stdout.endsWith("stopped\n"), report);
            if (underAgent) {
                assertTrue(peaks.threads() <= MAX_THREADS, "at most " + MAX_THREADS + " OS threads expected: " + report);
            }
        } finally {
            child.destroyForcibly();
            child.waitFor(10, TimeUnit.SECONDS);
        }
    }

    private static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    private static ProcessBuilder processBuilder(List<String> command) {
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().keySet().removeAll(List.of("JDK_JAVA_OPTIONS", "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS"));
        return pb;
    }

    /**
     * The kernel's count of connections dropped because a listen queue was full (TcpExt
     * ListenOverflows, for this network namespace, so other programs' too): each such connection
     * retries its SYN a second later, which the load's timings then include.
     */
    private static long listenOverflows() throws IOException {
        List<String> lines = Files.readAllLines(Path.of("/proc/net/netstat")).stream().filter(l -> l.startsWith("TcpExt:")).toList();
        List<String> names = List.of(lines.get(0).split("\\s+"));
        return Long.parseLong(lines.get(1).split("\\s+")[names.indexOf("ListenOverflows")]);
    }

    /** What a load found: what was wrong, how long the connections took to open and then the requests to be answered, and what the answers said. */
    private record Load(List<String> failures, long openMillis, long answerMillis, int peakInFlight, Set<String> carriers, int handedOff) { }

    /**
     * A child's standard error, sorted: the detector's reports of blocking calls (each with its
     * stack), its reports of long runs (their first lines), and every other line but the agent's own
     * report of what {@code threads=fibers} converted.
     */
    private record StandardError(List<String> flagged, List<String> longRuns, String rest) {
        /** The detector's line for a stack it logged in full before. */
        private static final Pattern REPEAT = Pattern.compile("\\(the same stack seen [1-9]\\d* times; logged in full the first time\\)$");

        static StandardError of(String stderr) {
            List<String> flagged = new ArrayList<>();
            List<String> longRuns = new ArrayList<>();
            StringBuilder rest = new StringBuilder();
            List<String> lines = stderr.lines().toList();
            for (int i = 0; i < lines.size(); i++) {
                String line = lines.get(i);
                if (line.startsWith("fiber-agent: threads=fibers: ")) {
                    continue; // the agent's own lines: what threads=fibers converts, and at exit what it did
                }
                if (!line.contains("Blocking call!")) {
                    rest.append(line).append('\n');
                    continue;
                }
                int end = i + 1;
                while (end < lines.size() && lines.get(end).startsWith("\t")) {
                    end++;
                }
                String stack = String.join("\n", lines.subList(i + 1, end));
                i = end - 1;
                if (REPEAT.matcher(line).find()) {
                    continue; // its stack, logged in full the first time, was sorted then
                }
                if (line.contains(" (ran without yielding) ")) {
                    longRuns.add(line.substring(line.indexOf("Blocking call!")));
                } else {
                    flagged.add(line + "\n" + stack + "\n");
                }
            }
            return new StandardError(flagged, longRuns, rest.toString());
        }
    }

    /** An answer's body: {@code n=N downstream=ANSWER thread=THREAD}. */
    private static final String BODY = "n=(\\d+) downstream=delayed (\\d+) in-flight (\\d+) thread=(VirtualThread\\[#\\d+[^\\]]*\\]/\\w+@(\\S+))";
    private static final Pattern HTTP_ANSWER = Pattern.compile("HTTP/1\\.1 200 .*?\r\n\r\n" + BODY + "\n", Pattern.DOTALL);
    private static final Pattern JDBC_ANSWER = Pattern.compile(BODY);

    /** One connection of a load, open: {@link #ask} sends its request and returns the whole answer. */
    private interface Connection extends AutoCloseable {
        String ask() throws Exception;
    }

    /** Opens the connection of the load's request {@code n}. */
    private interface Opener {
        Connection open(int n) throws Exception;
    }

    /** An HTTP/1.1 connection that sends {@code GET /?n=N} and reads the answer to its end. */
    private static Connection http(int port, int n) throws IOException {
        Socket socket = new Socket();
        try {
            socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), SOCKET_TIMEOUT_MILLIS);
            socket.setSoTimeout(SOCKET_TIMEOUT_MILLIS);
        } catch (IOException e) {
            socket.close();
            throw e;
        }
        return new Connection() {
            @Override
            public String ask() throws IOException {
                socket.getOutputStream().write(("GET /?n=" + n + " HTTP/1.1\r\nHost: 127.0.0.1:" + port
                        + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                return new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            }

            @Override
            public void close() throws IOException {
                socket.close();
            }
        };
    }

    /**
     * A JDBC connection to H2's TCP server, opened once {@code connecting} lets it (its network
     * timeout, the socket's read timeout, that of the other loads), which runs {@code SELECT DOWNSTREAM(N)}.
     */
    private static Connection jdbc(int port, int n, Semaphore connecting) throws SQLException, InterruptedException {
        java.sql.Connection c;
        connecting.acquire();
        try {
            c = DriverManager.getConnection("jdbc:h2:tcp://127.0.0.1:" + port + "/mem:atscale;NETWORK_TIMEOUT="
                    + SOCKET_TIMEOUT_MILLIS, "sa", "");
        } finally {
            connecting.release();
        }
        return new Connection() {
            @Override
            public String ask() throws SQLException {
                try (PreparedStatement query = c.prepareStatement("SELECT DOWNSTREAM(?)")) {
                    query.setString(1, String.valueOf(n));
                    try (ResultSet rs = query.executeQuery()) {
                        return rs.next() ? rs.getString(1) : "(no row)";
                    }
                }
            }

            @Override
            public void close() throws SQLException {
                c.close();
            }
        };
    }

    /**
     * Opens {@code requests} connections to the server, each on a virtual thread of this JVM; once all
     * are open, each sends its request (the {@code n}-th, {@code n}) and reads the whole answer, which
     * must match {@code expected}. Returns what was wrong with each answer that was not the expected one.
     */
    private static Load load(Opener opener, Pattern expected, int requests, boolean underAgent) throws Exception {
        CountDownLatch allOpen = new CountDownLatch(requests);
        AtomicInteger handedOff = new AtomicInteger();
        java.util.concurrent.atomic.AtomicLong allOpenAt = new java.util.concurrent.atomic.AtomicLong();
        AtomicInteger peakInFlight = new AtomicInteger();
        Set<String> carriers = new ConcurrentSkipListSet<>();
        // A carrier that a long call held was handed to a new thread (see blocking-calls.md); the held
        // thread, renamed, keeps its fiber until it parks: one of ours still, a carrier no longer.
        Pattern carrier = Pattern.compile(underAgent ? "fiber-carrier-\\d+(-handed-off)?" : "ForkJoinPool-\\d+-worker-\\d+");
        List<String> failures = new ArrayList<>();
        long start = System.nanoTime();
        try (ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<String>> answers = new ArrayList<>();
            for (int i = 0; i < requests; i++) {
                int n = i;
                answers.add(clients.submit(() -> {
                    Connection connection;
                    try {
                        connection = opener.open(n);
                    } finally {
                        allOpen.countDown();
                    }
                    try (connection) {
                        if (!allOpen.await(SOCKET_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS)) {
                            return "the connections were not all open within " + SOCKET_TIMEOUT_MILLIS + " ms";
                        }
                        allOpenAt.compareAndSet(0, System.nanoTime());
                        String answer = connection.ask();
                        Matcher m = expected.matcher(answer);
                        if (!m.matches() || !m.group(1).equals(String.valueOf(n)) || !m.group(2).equals(String.valueOf(n))) {
                            return "unexpected answer " + RealServersUnderAgentTest.head(answer);
                        }
                        if (!carrier.matcher(m.group(5)).matches()) {
                            return "handled on " + m.group(4) + ", not a virtual thread on a carrier " + carrier;
                        }
                        carriers.add(m.group(5));
                        if (m.group(5).endsWith("-handed-off")) {
                            handedOff.incrementAndGet();
                        }
                        peakInFlight.accumulateAndGet(Integer.parseInt(m.group(3)), Math::max);
                        return null;
                    }
                }));
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(LOAD_TIMEOUT_SECONDS);
            for (int i = 0; i < answers.size(); i++) {
                try {
                    String wrong = answers.get(i).get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                    if (wrong != null) {
                        failures.add("#" + i + ": " + wrong);
                    }
                } catch (ExecutionException e) {
                    failures.add("#" + i + ": " + e.getCause());
                } catch (TimeoutException e) {
                    failures.add("#" + i + ": no answer within " + LOAD_TIMEOUT_SECONDS + " s of the first connection");
                }
            }
            clients.shutdownNow();
        }
        long end = System.nanoTime();
        long opened = allOpenAt.get() == 0 ? end : allOpenAt.get();
        return new Load(failures, TimeUnit.NANOSECONDS.toMillis(opened - start), TimeUnit.NANOSECONDS.toMillis(end - opened),
                peakInFlight.get(), new TreeSet<>(carriers), handedOff.get());
    }
}
