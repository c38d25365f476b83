package io.fiber.examples;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Runs the demo in-process, small, the way {@code ./run demo} runs it big: its exit code, its
 * self-check and its summary, then its load run, briefly. Surefire passes --add-opens (parent pom)
 * but not the agent, so the fibers must run on our own carriers here, and the load run must say the
 * agent did not reroute socket I/O without failing for it ({@link DemoUnderAgentTest} runs it with
 * the agent).
 */
class DemoTest {

    /** Exit code, stdout and stderr of one in-process run. */
    private record Run(int exit, String out, String err) { }

    private static Run demo(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = Demo.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void smallRunChecksOutAndSummarises() {
        Run r = demo("--fibers", "2000", "--carriers", "2", "--load-seconds", "0", "--unmodified-connections", "0");
        assertEquals(0, r.exit, "exit code; output:\n" + r.out + r.err);
        assertTrue(r.out.contains("fiber demo: 2,000 fibers on 2 carriers; fibers run on our own carriers: yes"), r.out);
        assertTrue(r.out.contains("2,000 fibers spawned in "), r.out);
        assertTrue(r.out.contains("slow ones cancelled"), r.out);
        assertTrue(r.out.contains("scheduler demo: 2 carrier loops, 2000 fibers spawned, 0 alive"), r.out);
        assertTrue(r.out.contains("demo-carrier-0") && r.out.contains("demo-carrier-1"), "per-carrier table:\n" + r.out);
        assertTrue(r.out.contains("OK: every count adds up"), r.out);
        assertTrue(!r.out.contains("FAILED"), r.out);
        assertTrue(r.out.startsWith("live console while the demo runs: http://127.0.0.1:"), "its address first:\n" + r.out);
        assertTrue(r.out.lines().count() < 20, "the summary stays short:\n" + r.out);
        assertTrue(!r.out.contains("load:"), "--load-seconds 0 skips the load run:\n" + r.out);
    }

    @Test
    void loadRunReportsThroughputLatencyAndStatsWithoutErrors() {
        Run r = demo("--fibers", "100", "--carriers", "2", "--load-seconds", "1", "--unmodified-connections", "0");
        assertEquals(0, r.exit, "exit code; output:\n" + r.out + r.err);
        assertTrue(r.out.contains("OK: every count adds up"), r.out);
        assertTrue(r.out.contains("load: servers on fibers, clients on platform threads of this JVM; 0.5 s warm-up, then 1 s measured, per server"), r.out);
        String latency = "\\s+latency p50 [\\d.]+  p90 [\\d.]+  p99 [\\d.]+  p99.9 [\\d.]+  max [\\d.]+ ms \\([\\d,]+ samples\\)";
        assertMatches(r.out, "  echo  100 connections x 64-byte round trips: [\\d,]+ round trips/s, errors 0\n" + latency
                + "\nscheduler echo: 2 carrier loops, 101 fibers spawned, 0 alive, .*");
        assertMatches(r.out, "  http  25 clients x GET /hello, keep-alive: [\\d,]+ requests/s, errors 0\n" + latency
                + "\n  db    25 clients x GET /db\\?id=N at the same time, each answer checked \\(H2 in memory, 10 pooled"
                + " connections\\): [\\d,]+ requests/s, errors 0\n" + latency
                + "\nscheduler http: 2 carrier loops, \\d+ fibers spawned, 0 alive, .*");
        assertTrue(r.out.contains("echo-carrier-0") && r.out.contains("http-carrier-1"), "per-carrier tables:\n" + r.out);
        assertTrue(r.out.contains("agent rerouted the servers' socket I/O: no, not launched with -javaagent:fiber-agent.jar"), r.out);
        assertTrue(!r.out.substring(r.out.indexOf('\n') + 1).contains("detector"), // the first line is the console's address
                "without the agent there is no detector to report:\n" + r.out);
        assertTrue(r.out.endsWith("OK: no errors under load, every server fiber ended\n"), r.out);
        assertTrue(!r.out.contains("FAILED"), r.out);
    }

    private static void assertMatches(String out, String regex) {
        assertTrue(Pattern.compile(regex).matcher(out).find(), "no match for\n" + regex + "\nin\n" + out);
    }

    @Test
    void unknownOptionIsNamedAndValidOnesListed() {
        Run r = demo("--fibers", "2000", "--bogus");
        assertEquals(2, r.exit);
        assertTrue(r.err.contains("unknown option '--bogus'"), r.err);
        assertTrue(r.err.contains("--fibers N") && r.err.contains("--carriers N") && r.err.contains("--load-seconds N")
                && r.err.contains("--help"), r.err);
        assertEquals("", r.out, "nothing runs on a usage error");
    }

    @Test
    void badNumbersAreUsageErrors() {
        assertEquals(2, demo("--fibers").exit);
        assertEquals(2, demo("--fibers", "lots").exit);
        assertEquals(2, demo("--fibers", "10").exit);
        assertEquals(2, demo("--carriers", "0").exit);
        assertEquals(2, demo("--load-seconds", "-1").exit);
        assertTrue(demo("--fibers", "lots").err.contains("--fibers needs a number, got 'lots'"));
        assertTrue(demo("--load-seconds=601").err.contains("--load-seconds must be at most 600, got 601"));
        assertTrue(demo("--unmodified-connections", "10001").err.contains("--unmodified-connections must be at most 10000, got 10001"));
    }

    @Test
    void helpListsTheOptions() {
        Run r = demo("--help");
        assertEquals(0, r.exit);
        assertTrue(r.out.contains("--fibers N") && r.out.contains("--carriers N") && r.out.contains("--load-seconds N")
                && r.out.contains("--show-detector") && r.out.contains("--db JDBC-URL") && r.out.contains("--db-user NAME")
                && r.out.contains("--db-password PASSWORD"), r.out);
    }

    @Test
    void badDatabaseOptionsAreUsageErrors() {
        Run notJdbc = demo("--db", "postgresql://localhost/db");
        assertEquals(2, notJdbc.exit);
        assertTrue(notJdbc.err.contains("--db needs a JDBC URL such as jdbc:postgresql://localhost:5432/db, got"
                + " 'postgresql://localhost/db'"), notJdbc.err);
        Run userAlone = demo("--db-user", "me");
        assertEquals(2, userAlone.exit);
        assertTrue(userAlone.err.contains("--db-user and --db-password go with --db URL"), userAlone.err);
        Run noValue = demo("--db");
        assertEquals(2, noValue.exit);
        assertTrue(noValue.err.contains("option --db needs a value"), noValue.err);
    }

    @Test
    void aDatabaseThatCannotBeOpenedIsNamedBeforeAnyLoadRuns() {
        Run r = demo("--fibers", "100", "--load-seconds", "1", "--db", "jdbc:nosuchdb://localhost/db");
        assertEquals(1, r.exit, r.out + r.err);
        assertTrue(r.err.contains("demo: could not open the database jdbc:nosuchdb://localhost/db"), r.err);
        assertTrue(!r.out.contains("load:"), "no load runs without the database:\n" + r.out);
    }
}
