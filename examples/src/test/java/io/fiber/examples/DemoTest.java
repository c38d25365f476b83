package io.fiber.examples;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Runs the demo in-process, small, the way {@code ./run demo} runs it big: its exit code, its
 * self-check and its summary. Surefire passes --add-opens (parent pom), so the fibers must run on
 * our own carriers here.
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
        Run r = demo("--fibers", "2000", "--carriers", "2");
        assertEquals(0, r.exit, "exit code; output:\n" + r.out + r.err);
        assertTrue(r.out.contains("fiber demo: 2,000 fibers on 2 carriers; fibers run on our own carriers: yes"), r.out);
        assertTrue(r.out.contains("2,000 fibers spawned in "), r.out);
        assertTrue(r.out.contains("slow ones cancelled"), r.out);
        assertTrue(r.out.contains("scheduler demo: 2 carrier loops, 2000 fibers spawned, 0 alive"), r.out);
        assertTrue(r.out.contains("demo-carrier-0") && r.out.contains("demo-carrier-1"), "per-carrier table:\n" + r.out);
        assertTrue(r.out.contains("OK: every count adds up"), r.out);
        assertTrue(!r.out.contains("FAILED"), r.out);
        assertTrue(r.out.lines().count() < 20, "the summary stays short:\n" + r.out);
    }

    @Test
    void unknownOptionIsNamedAndValidOnesListed() {
        Run r = demo("--fibers", "2000", "--bogus");
        assertEquals(2, r.exit);
        assertTrue(r.err.contains("unknown option '--bogus'"), r.err);
        assertTrue(r.err.contains("--fibers N") && r.err.contains("--carriers N") && r.err.contains("--help"), r.err);
        assertEquals("", r.out, "nothing runs on a usage error");
    }

    @Test
    void badNumbersAreUsageErrors() {
        assertEquals(2, demo("--fibers").exit);
        assertEquals(2, demo("--fibers", "lots").exit);
        assertEquals(2, demo("--fibers", "10").exit);
        assertEquals(2, demo("--carriers", "0").exit);
        assertTrue(demo("--fibers", "lots").err.contains("--fibers needs a number, got 'lots'"));
    }

    @Test
    void helpListsTheOptions() {
        Run r = demo("--help");
        assertEquals(0, r.exit);
        assertTrue(r.out.contains("--fibers N") && r.out.contains("--carriers N"), r.out);
    }
}
