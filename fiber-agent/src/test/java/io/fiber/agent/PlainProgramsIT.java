package io.fiber.agent;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The agent must never break a program: {@link PlainProgram}, which never uses fibers, prints exactly
 * the same in a fresh child JVM under the agent, with each documented option value, launched with
 * {@code -javaagent} or attached late, as without it. Nothing of the runtime ran in those JVMs
 * before the program's first virtual thread, which is how the detector's check once recursed into
 * class loading and killed every virtual thread that read a file.
 */
class PlainProgramsIT {
    private static String baseline;

    private record Run(int exit, String out, String err) { }

    private static Run java(List<String> jvmArgs, String... programArgs) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(jvmArgs);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(PlainProgram.class.getName());
        cmd.addAll(List.of(programArgs));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().remove("JDK_JAVA_OPTIONS");
        pb.environment().remove("JAVA_TOOL_OPTIONS");
        pb.environment().remove("_JAVA_OPTIONS");
        Path out = Files.createTempFile("plain-out", ".txt");
        Path err = Files.createTempFile("plain-err", ".txt");
        Process p = pb.redirectInput(new File("/dev/null")).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        try {
            boolean exited = p.waitFor(120, TimeUnit.SECONDS);
            String o = Files.readString(out, StandardCharsets.UTF_8);
            String e = Files.readString(err, StandardCharsets.UTF_8);
            assertTrue(exited, "the program did not finish in 120 s; so far it printed:\n" + o + e);
            return new Run(p.exitValue(), o, e);
        } finally {
            p.destroyForcibly();
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    private static String agentJar() {
        Path jar = Path.of(System.getProperty("fiber.agent.jar"));
        assertTrue(Files.isRegularFile(jar), "the agent jar is built before the integration tests: " + jar);
        return jar.toString();
    }

    @BeforeAll
    static void withoutTheAgent() throws Exception {
        Run r = java(List.of());
        assertEquals(0, r.exit(), r.out() + r.err());
        assertEquals("", r.err(), "the program prints nothing on standard error by itself");
        assertFalse(r.out().contains("FAILED"), r.out());
        assertTrue(r.out().endsWith("done\n"), r.out());
        baseline = r.out();
    }

    /** Every documented option value at least once; "" is the agent with no options. */
    @ParameterizedTest(name = "-javaagent:fiber-agent.jar={0}")
    @ValueSource(strings = {"", "detector=fail", "detector=report", "detector=off", "handoff=off", "handoff=1ms",
            "offload=file+dns+process", "offload=none", "dns=nonblocking", "dns=off", "carriers=1"})
    void printsExactlyAsWithoutTheAgent(String options) throws Exception {
        Run r = java(List.of("-javaagent:" + agentJar() + (options.isEmpty() ? "" : "=" + options)));
        assertEquals(0, r.exit(), r.out() + r.err());
        assertEquals(baseline, r.out());
        assertEquals("", r.err(), "the agent adds nothing to standard error");
    }

    @ParameterizedTest(name = "attached with {0}")
    @ValueSource(strings = {"", "detector=fail,offload=file+dns+process"})
    void attachedLateItBreaksNothingThatRanBeforeOrAfter(String options) throws Exception {
        // EnableDynamicAgentLoading: without it the JDK warns on standard error of any agent loaded late.
        Run r = java(List.of("-Djdk.attach.allowAttachSelf=true", "-XX:+EnableDynamicAgentLoading"), "attach", agentJar(), options);
        assertEquals(0, r.exit(), r.out() + r.err());
        String expected = baseline.replace("done\n", "attached\n") + baseline.substring(baseline.indexOf('\n') + 1)
                .replace("org.opentest4j.AssertionFailedError", "org.junit.jupiter.api.Assertions")
                .replace("org.opentest4j.ValueWrapper", "org.junit.jupiter.api.AssertionFailureBuilder");
        assertEquals(expected, r.out());
        assertEquals("", r.err(), "the agent adds nothing to standard error");
    }
}
