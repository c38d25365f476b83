package io.fiber.agent;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A fresh JVM for the tests that must start one: the agent at start-up, a program in which nothing
 * of the runtime ran first. Standard input is {@code /dev/null}; the {@code JAVA_TOOL_OPTIONS}-like
 * variables are dropped, so nothing but the given options reaches the child.
 */
final class ChildJvm {
    /** What the child did: its exit status and everything it printed. */
    record Run(int exit, String out, String err) {
        /** Standard output of a probe that must exit 0 and print {@code done} last; fails with all it printed otherwise. */
        String completed() {
            assertEquals(0, exit, out + err);
            assertTrue(out.endsWith("done\n"), out + err);
            return out;
        }
    }

    /** The first line of a probe's output {@code out} that reads {@code KIND: ...}; fails naming the kind otherwise. */
    static String line(String out, String kind) {
        return out.lines().filter(l -> l.startsWith(kind + ": ")).findFirst()
                .orElseThrow(() -> new AssertionError("no line for " + kind + " in:\n" + out));
    }

    private ChildJvm() { }

    /** {@code -javaagent:} with the built agent jar and {@code options} ("" for none). */
    static String agent(String options) {
        Path jar = agentJar();
        return "-javaagent:" + jar + (options.isEmpty() ? "" : "=" + options);
    }

    /** The agent jar the build made; the tests run after {@code package}. */
    static Path agentJar() {
        Path jar = Path.of(System.getProperty("fiber.agent.jar"));
        assertTrue(Files.isRegularFile(jar), "the agent jar is built before the integration tests: " + jar);
        return jar;
    }

    /** This JVM's class path, which the tests' child programs need. */
    static String testClassPath() {
        return System.getProperty("java.class.path");
    }

    /** Runs {@code main} with {@code jvmArgs} and {@code args} on {@code classPath}; fails if it runs past {@code timeoutSeconds}. */
    static Run run(List<String> jvmArgs, String classPath, Class<?> main, List<String> args, int timeoutSeconds)
            throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(jvmArgs);
        cmd.add("-cp");
        cmd.add(classPath);
        cmd.add(main.getName());
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().keySet().removeAll(List.of("JDK_JAVA_OPTIONS", "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS"));
        Path out = Files.createTempFile("child-out", ".txt");
        Path err = Files.createTempFile("child-err", ".txt");
        Process p = pb.redirectInput(new File("/dev/null")).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        try {
            boolean exited = p.waitFor(timeoutSeconds, TimeUnit.SECONDS);
            String o = Files.readString(out, StandardCharsets.UTF_8);
            String e = Files.readString(err, StandardCharsets.UTF_8);
            assertTrue(exited, "the child JVM (" + main.getSimpleName() + ") did not finish in " + timeoutSeconds
                    + " s; so far it printed:\n" + o + e);
            return new Run(p.exitValue(), o, e);
        } finally {
            p.destroyForcibly();
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }
}
