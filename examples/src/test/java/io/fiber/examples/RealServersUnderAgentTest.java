package io.fiber.examples;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Unmodified servers that run their requests on JDK virtual threads must serve every request under
 * the agent, as they do without it (the detector's check once recursed into class loading: under the agent each of them served none, because
 * the detector's check recursed into class loading on a virtual thread's first file read). Each
 * server runs in a child JVM ({@link VirtualThreadServer}) launched without the agent, with
 * {@code -javaagent} and its default options (the servers' virtual threads are fibers then, and the
 * detector reports their file reads), with {@code detector=fail,offload=file} (the file reads move to
 * the offload pool, so nothing is flagged and nothing fails), and with {@code detector=fail,virtual=jdk}
 * (the virtual threads stay the JDK's, which the detector does not watch). This JVM is
 * the client, over loopback: HTTP requests whose handler reads a file from disk on the request's
 * virtual thread (Jetty 12, Tomcat 11), JDBC connections each running queries (H2's TCP server),
 * line-echo connections that first get the file's content, read on the connection's virtual thread
 * (a plain accept loop). Every answer is checked, and the child's standard error must be free of JPLIS
 * assertion failures, stack overflows and exceptions.
 *
 * <p>To see it fail, build the agent from 028fbe1 (before the fix) and pass its jar:
 * {@code -Dfiber.agent.jar=/path/to/fiber-agent.jar} on the Maven command line overrides the pom's.
 */
class RealServersUnderAgentTest {
    private static final int HTTP_REQUESTS = 300;
    private static final int JDBC_CONNECTIONS = 100;
    private static final int ECHO_CONNECTIONS = 300;
    /** Client threads at once. */
    private static final int CONCURRENCY = 8;
    /** How long the clients of one server may take in all; what has not been answered by then counts as not served. */
    private static final Duration CLIENTS_DEADLINE = Duration.ofSeconds(25);
    /** One request's, connection's or read's limit. */
    private static final Duration CALL_TIMEOUT = Duration.ofSeconds(5);
    private static final Duration START_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(15);

    private static Path dir;
    private static Path file;
    private static String fileContent;

    @BeforeAll
    static void fileToServe() throws IOException {
        dir = Files.createTempDirectory("real-servers");
        file = dir.resolve("served.txt");
        fileContent = "read from disk on the request's thread, " + ProcessHandle.current().pid() + "\n";
        Files.writeString(file, fileContent, StandardCharsets.UTF_8);
        System.out.println("the agent: " + System.getProperty("fiber.agent.jar"));
    }

    @AfterAll
    static void removeFiles() throws IOException {
        deleteTree(dir);
    }

    /** Deletes {@code root} and everything under it (the children's temporary files). */
    static void deleteTree(Path root) throws IOException {
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    static Stream<Arguments> serversAndAgents() {
        List<Arguments> cases = new ArrayList<>();
        for (String server : List.of("jetty", "tomcat", "h2", "plain")) {
            for (String agent : List.of("none", "", "detector=fail,offload=file", "detector=fail,virtual=jdk")) {
                cases.add(Arguments.of(server, agent));
            }
        }
        // Tomcat on its own pool of TaskThreads, a Thread subclass the agent knows to be safe: fibers
        // under threads=fibers, unless the user excludes Tomcat's package, and platform threads without the agent.
        for (String agent : List.of("none", "threads=fibers", "threads=fibers,threads.exclude=org.apache.tomcat.*")) {
            cases.add(Arguments.of("tomcat-pool", agent));
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0}, agent options: {1}")
    @MethodSource("serversAndAgents")
    void servesEveryRequest(String server, String agent) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        if (!agent.equals("none")) {
            command.add("-javaagent:" + agentJar() + (agent.isEmpty() ? "" : "=" + agent));
        }
        command.addAll(List.of("-Xmx256m", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                "-cp", serverClassPath(), VirtualThreadServer.class.getName(),
                server, file.toString(), Files.createTempDirectory(dir, server).toString()));
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().keySet().removeAll(List.of("JDK_JAVA_OPTIONS", "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS"));
        Path out = Files.createTempFile(dir, server + "-out", ".txt");
        Path err = Files.createTempFile(dir, server + "-err", ".txt");
        Process child = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        String what = server + " (" + (agent.equals("none") ? "without the agent" : "-javaagent:fiber-agent.jar"
                + (agent.isEmpty() ? "" : "=" + agent)) + ")";
        try {
            int port = awaitPort(child, out, err, what);
            long start = System.nanoTime();
            List<String> failures = switch (server) {
                case "jetty", "tomcat" -> httpRequests(port, "virtual");
                case "tomcat-pool" -> httpRequests(port, agent.equals("threads=fibers") ? "virtual" : "platform");
                case "h2" -> jdbcConnections(port);
                case "plain" -> echoConnections(port);
                default -> throw new IllegalArgumentException(server);
            };
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            int total = server.equals("h2") ? JDBC_CONNECTIONS : server.equals("plain") ? ECHO_CONNECTIONS : HTTP_REQUESTS;
            child.getOutputStream().close(); // the child stops its server when its standard input ends
            boolean exited = child.waitFor(STOP_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            String stdout = Files.readString(out, StandardCharsets.UTF_8);
            String stderr = Files.readString(err, StandardCharsets.UTF_8);
            String report = what + ": served " + (total - failures.size()) + " of " + total + " in " + millis + " ms"
                    + (failures.isEmpty() ? "" : "; the first failures:\n  " + String.join("\n  ", failures.subList(0, Math.min(5, failures.size()))))
                    + "\nchild stdout:\n" + stdout + "child stderr:\n" + head(stderr);
            System.out.println(report.lines().findFirst().orElseThrow());
            assertTrue(failures.isEmpty(), report);
            for (String bad : List.of("ASSERTION FAILED", "StackOverflowError", "Exception")) {
                assertTrue(!stderr.contains(bad), "the child's standard error contains " + bad + ": " + report);
            }
            assertTrue(exited, "the child did not stop in " + STOP_TIMEOUT.toSeconds() + " s once its input ended: " + report);
            assertEquals(0, child.exitValue(), report);
            assertTrue(stdout.endsWith("stopped\n"), report);
            // The runtime under test is the agent jar's own copy: nothing else of it is on the child's class path.
            String runtime = agent.equals("none") ? "fiber runtime: none\n"
                    : "fiber runtime: jar:file:" + agentJar() + "!/io/fiber/Fibers.class\n";
            assertTrue(stdout.contains(runtime), "expected " + runtime + report);
        } finally {
            child.destroyForcibly();
            child.waitFor(10, TimeUnit.SECONDS);
        }
    }

    static Path agentJar() {
        Path jar = Path.of(System.getProperty("fiber.agent.jar", "(fiber.agent.jar not set by the pom)")).toAbsolutePath().normalize();
        assertTrue(Files.isRegularFile(jar), "the agent jar " + jar + " is missing: it is built by the fiber-agent"
                + " module, so run the full build (./run test), or build it first with"
                + " ./run mvn -B -ntp -q -pl fiber-core,fiber-io,fiber-agent -am package -DskipTests");
        return jar;
    }

    /**
     * This JVM's class path without the fiber runtime (fiber-core, and the examples' main classes,
     * which use it): the servers never use it, and under the agent the child must run the agent jar's
     * own copy, as an unmodified server would. Left on the class path, fiber-core's classes would come
     * first and shadow the agent's (with {@code -pl examples} alone, an older installed snapshot of them).
     */
    static String serverClassPath() throws Exception {
        Set<Path> runtime = Set.of(codeSource(io.fiber.Fibers.class), codeSource(Demo.class));
        List<String> kept = new ArrayList<>();
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            if (!entry.isEmpty() && !runtime.contains(Path.of(entry).toAbsolutePath().normalize())) {
                kept.add(entry);
            }
        }
        return String.join(File.pathSeparator, kept);
    }

    private static Path codeSource(Class<?> c) throws Exception {
        return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI()).toAbsolutePath().normalize();
    }

    /** Waits for the child's {@code port N} line; fails if it exits or takes longer than {@link #START_TIMEOUT}. */
    static int awaitPort(Process child, Path out, Path err, String what) throws Exception {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            String stdout = Files.readString(out, StandardCharsets.UTF_8);
            int at = stdout.indexOf("port ");
            int end = stdout.indexOf('\n', Math.max(at, 0));
            if (at >= 0 && end > at) {
                return Integer.parseInt(stdout.substring(at + 5, end).trim());
            }
            if (!child.isAlive()) {
                fail(what + " exited with status " + child.exitValue() + " before it listened:\n" + stdout
                        + head(Files.readString(err, StandardCharsets.UTF_8)));
            }
            Thread.sleep(50);
        }
        fail(what + " did not print its port in " + START_TIMEOUT.toSeconds() + " s:\n" + Files.readString(out, StandardCharsets.UTF_8)
                + head(Files.readString(err, StandardCharsets.UTF_8)));
        throw new AssertionError();
    }

    static String head(String s) {
        return s.length() <= 4000 ? s : s.substring(0, 4000) + "\n[... " + (s.length() - 4000) + " more characters]\n";
    }

    /**
     * Runs the calls, {@link #CONCURRENCY} at a time, for at most {@link #CLIENTS_DEADLINE}; returns one
     * line per call that did not return {@code null} (a call returns what was wrong with its answer).
     */
    private static List<String> runAll(List<Callable<String>> calls) throws InterruptedException {
        ExecutorService clients = Executors.newFixedThreadPool(CONCURRENCY, Thread.ofPlatform().name("client-", 0).daemon().factory());
        try {
            List<Future<String>> results = clients.invokeAll(calls, CLIENTS_DEADLINE.toMillis(), TimeUnit.MILLISECONDS);
            List<String> failures = new ArrayList<>();
            for (int i = 0; i < results.size(); i++) {
                try {
                    String wrong = results.get(i).get();
                    if (wrong != null) {
                        failures.add("#" + i + ": " + wrong);
                    }
                } catch (CancellationException e) {
                    failures.add("#" + i + ": no answer within " + CLIENTS_DEADLINE.toSeconds() + " s of the first call");
                } catch (ExecutionException e) {
                    // H2's exceptions carry the server's stack trace in their message: its first lines say enough.
                    String cause = e.getCause().toString();
                    failures.add("#" + i + ": " + (cause.length() <= 1500 ? cause : cause.substring(0, 1500) + " [...]"));
                }
            }
            return failures;
        } finally {
            // A call stuck in a socket read ends when the child is destroyed; its thread is a daemon.
            clients.shutdownNow();
        }
    }

    /** HTTP/1.1 GETs with {@code n=i}; each answer must name its {@code n}, the kind of thread it ran on, and carry the file's content. */
    private static List<String> httpRequests(int port, String threadKind) throws InterruptedException {
        try (HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(CALL_TIMEOUT).build()) {
            List<Callable<String>> calls = new ArrayList<>();
            for (int i = 0; i < HTTP_REQUESTS; i++) {
                int n = i;
                calls.add(() -> {
                    HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/file?n=" + n))
                            .timeout(CALL_TIMEOUT).build();
                    HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
                    String expected = "n=" + n + " on a " + threadKind + " thread: " + fileContent;
                    return response.statusCode() == 200 && response.body().equals(expected) ? null
                            : "status " + response.statusCode() + ", body " + head(response.body());
                });
            }
            return runAll(calls);
        }
    }

    /** A table made through a first connection, then a connection per call, each running two queries. */
    private static List<String> jdbcConnections(int port) throws Exception {
        String url = "jdbc:h2:tcp://127.0.0.1:" + port + "/./served";
        DriverManager.setLoginTimeout((int) CALL_TIMEOUT.toSeconds());
        List<String> failures = runAll(List.of(() -> {
            try (Connection c = DriverManager.getConnection(url, "sa", ""); Statement s = c.createStatement()) {
                s.execute("CREATE TABLE ITEMS(ID INT PRIMARY KEY, V VARCHAR(100))");
                s.execute("INSERT INTO ITEMS SELECT X, 'row ' || X FROM SYSTEM_RANGE(0, " + (JDBC_CONNECTIONS - 1) + ")");
            }
            return null;
        }));
        if (!failures.isEmpty()) {
            // Without the table no query can succeed: none is served.
            List<String> none = new ArrayList<>();
            none.add("the first connection, which makes the table: " + failures.getFirst());
            for (int i = 1; i < JDBC_CONNECTIONS; i++) {
                none.add("#" + i + ": not tried, the table could not be made");
            }
            return none;
        }
        List<Callable<String>> calls = new ArrayList<>();
        for (int i = 0; i < JDBC_CONNECTIONS; i++) {
            int id = i;
            calls.add(() -> {
                try (Connection c = DriverManager.getConnection(url, "sa", "");
                     PreparedStatement row = c.prepareStatement("SELECT V FROM ITEMS WHERE ID = ?");
                     Statement count = c.createStatement()) {
                    c.setNetworkTimeout(Runnable::run, (int) CALL_TIMEOUT.toMillis());
                    row.setInt(1, id);
                    String v;
                    try (ResultSet rs = row.executeQuery()) {
                        v = rs.next() ? rs.getString(1) : "(no row)";
                    }
                    long n;
                    try (ResultSet rs = count.executeQuery("SELECT COUNT(*) FROM ITEMS")) {
                        rs.next();
                        n = rs.getLong(1);
                    }
                    return v.equals("row " + id) && n == JDBC_CONNECTIONS ? null : "row " + id + " read as " + v + ", count " + n;
                }
            });
        }
        return runAll(calls);
    }

    /** A connection per call: the file's content first, read on the connection's virtual thread, then two lines sent, both echoed. */
    private static List<String> echoConnections(int port) throws InterruptedException {
        List<Callable<String>> calls = new ArrayList<>();
        for (int i = 0; i < ECHO_CONNECTIONS; i++) {
            int n = i;
            calls.add(() -> {
                try (Socket socket = new Socket()) {
                    socket.connect(new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), port), (int) CALL_TIMEOUT.toMillis());
                    socket.setSoTimeout((int) CALL_TIMEOUT.toMillis());
                    PrintWriter out = new PrintWriter(socket.getOutputStream(), true, StandardCharsets.UTF_8);
                    BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
                    String greeting = in.readLine() + "\n";
                    String expectedGreeting = "n=echo on a virtual thread: " + fileContent;
                    List<String> echoed = new ArrayList<>();
                    for (String line : List.of("hello " + n, "line two of connection " + n)) {
                        out.println(line);
                        echoed.add(in.readLine());
                    }
                    socket.shutdownOutput();
                    String eof = in.readLine();
                    return greeting.equals(expectedGreeting) && echoed.equals(List.of("hello " + n, "line two of connection " + n))
                            && eof == null ? null : "greeted with " + greeting.strip() + ", echoed " + echoed + ", then " + eof;
                }
            });
        }
        return runAll(calls);
    }
}
