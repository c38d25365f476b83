package io.fiber;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The fallback path, end to end: a child JVM without {@code --add-opens} (surefire's own JVM has it,
 * so this cannot be tested in-process) runs {@link FallbackMain}. Its fibers must still work, on the
 * JDK's default scheduler, and the one warning must name the fix.
 *
 * <p>Classpath: surefire's fork is started from a manifest-only jar, but its booter sets
 * {@code java.class.path} to the real test classpath, so the child gets it as is.
 */
class FallbackTest {
    private static final String WARNING = "Fibers run on the JDK's default virtual thread scheduler";
    private static final long CHILD_TIMEOUT_SECONDS = 60;

    @Test
    void withoutAddOpensFibersWorkOnTheJdkSchedulerAfterOneWarning(@TempDir Path dir) throws Exception {
        String warning = runFallbackMain(dir, System.getProperty("java.class.path"));
        assertTrue(warning.startsWith("WARN") || warning.contains(" WARN "), "logged as a warning: " + warning);
    }

    /**
     * A user who puts only the fiber-core jar on the class path, with no SLF4J: the runtime works,
     * and its log goes to standard error instead.
     */
    @Test
    void withoutSlf4jTheRuntimeWorksAndLogsToStandardError(@TempDir Path dir) throws Exception {
        String classpath = String.join(java.io.File.pathSeparator, java.util.Arrays.stream(
                System.getProperty("java.class.path").split(java.io.File.pathSeparator)).filter(e -> !e.contains("slf4j")).toList());
        assertTrue(classpath.contains("fiber-core"), classpath);
        String warning = runFallbackMain(dir, classpath);
        assertTrue(warning.startsWith("WARN io.fiber.FiberScheduler - " + WARNING), "logged to standard error: " + warning);
    }

    /** Runs {@link FallbackMain} in a child JVM, checks what it printed, and returns the warning's line. */
    private static String runFallbackMain(Path dir, String classpath) throws Exception {
        Path out = dir.resolve("stdout.txt");
        Path err = dir.resolve("stderr.txt");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(java, "-Xmx128m", "-cp", classpath, FallbackMain.class.getName())
                .redirectOutput(out.toFile())
                .redirectError(err.toFile());
        // Options from the environment could open java.lang behind our back.
        pb.environment().keySet().removeAll(List.of("JDK_JAVA_OPTIONS", "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS"));

        Process child = pb.start();
        String stdout;
        String stderr;
        try {
            boolean exited = child.waitFor(CHILD_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            stdout = Files.readString(out);
            stderr = Files.readString(err);
            if (!exited) {
                fail("child JVM still running after " + CHILD_TIMEOUT_SECONDS + " s\nstdout:\n" + stdout + "\nstderr:\n" + stderr);
            }
        } finally {
            if (child.isAlive()) {
                child.destroyForcibly();
            }
        }
        String both = "\nstdout:\n" + stdout + "\nstderr:\n" + stderr + "\nclasspath: " + classpath;
        assertEquals(0, child.exitValue(), "child exit code" + both);

        Map<String, String> r = results(stdout);
        assertEquals("true", r.get("done"), both);
        assertEquals("false", r.get("first.usesOwnCarriers"), both);
        assertEquals("false", r.get("second.usesOwnCarriers"), both);
        assertEquals("false", r.get("default.usesOwnCarriers"), both);
        assertEquals("0", r.get("first.carrierCount"), both);
        assertEquals("42", r.get("spawn"), both);
        assertEquals("true", r.get("virtual"), "fibers are still virtual threads" + both);
        assertEquals("true", r.get("childScheduler"), both);
        assertEquals("385", r.get("scope"), both);
        assertEquals("5050", r.get("channel"), both);
        assertEquals("timed out", r.get("timeout"), both);
        assertEquals("slow fiber CANCELLED", r.get("deadline"), both);
        assertEquals("16", r.get("first.stats.spawned"), "6 fibers and 10 scope forks" + both);
        assertEquals("100 overlap false inOrder true finished 100", r.get("serialLane"),
                "a serial lane holds on the JDK's scheduler too" + both);
        assertEquals("refused CANCELLED true false", r.get("laneSelfWait"),
                "a lane fiber's wait for its child in the lane refused, a fiber cancelled in line ended, the child still waiting" + both);
        assertEquals("true 4", r.get("unstartedFiber"),
                "runs as a fiber of its scheduler, counted with the consumer, the deadline fiber and its fork" + both);

        assertEquals(1, occurrences(stderr, WARNING), "the warning exactly once, with three schedulers built" + both);
        String warning = stderr.lines().filter(l -> l.contains(WARNING)).findFirst().orElseThrow();
        assertTrue(warning.contains("--add-opens java.base/java.lang=ALL-UNNAMED"), "names the JVM option: " + warning);
        assertTrue(warning.contains("-javaagent:fiber-agent.jar"), "names the agent: " + warning);
        assertTrue(warning.contains("does not open java.lang"), "says why: " + warning);
        assertEquals(0, occurrences(stdout, WARNING), "the warning goes to stderr only" + both);
        return warning;
    }

    private static Map<String, String> results(String stdout) {
        Map<String, String> r = new HashMap<>();
        stdout.lines().filter(l -> l.contains("=")).forEach(l -> {
            int eq = l.indexOf('=');
            r.put(l.substring(0, eq), l.substring(eq + 1));
        });
        return r;
    }

    private static int occurrences(String text, String what) {
        int n = 0;
        for (int i = text.indexOf(what); i >= 0; i = text.indexOf(what, i + 1)) {
            n++;
        }
        return n;
    }
}
