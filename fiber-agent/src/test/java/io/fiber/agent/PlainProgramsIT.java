package io.fiber.agent;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The agent must never break a program: {@link PlainProgram}, which never uses fibers, prints exactly
 * the same in a fresh child JVM under the agent, with each documented option value, launched with
 * {@code -javaagent} or attached late, as without it. Nothing of the runtime ran in those JVMs
 * before the program's first virtual thread, which is how the detector's check once recursed into
 * class loading and killed every virtual thread that read a file.
 *
 * <p>Under the agent the program's virtual threads are fibers ({@code virtual=fibers}, the default),
 * so the detector sees their blocking calls: with {@code detector=report} its reports are all the
 * agent adds to standard error, and with {@code detector=fail} those calls fail, as documented; the
 * exact-output claim for {@code detector=fail} holds with {@code virtual=jdk}. So does the claim for
 * {@code handoff=off}: with it nothing makes up for a carrier held by a blocking call, and the
 * program's virtual threads, which pipe data to each other through a child process, would hold both
 * carriers and wait for each other for good (docs/agent.md says so).
 *
 * <p>With {@code threads=fibers} the program's platform threads (its single-thread executor) are fibers
 * too, and print the same; the agent adds its start-up line and its exit summary to standard error,
 * and the detector's reports of their blocking calls.
 */
class PlainProgramsIT {
    private static String baseline;

    private static ChildJvm.Run java(List<String> jvmArgs, String... programArgs) throws Exception {
        return ChildJvm.run(jvmArgs, ChildJvm.testClassPath(), PlainProgram.class, List.of(programArgs), 120);
    }

    @BeforeAll
    static void withoutTheAgent() throws Exception {
        ChildJvm.Run r = java(List.of());
        assertEquals(0, r.exit(), r.out() + r.err());
        assertEquals("", r.err(), "the program prints nothing on standard error by itself");
        assertFalse(r.out().contains("FAILED"), r.out());
        assertTrue(r.out().endsWith("done\n"), r.out());
        baseline = r.out();
    }

    /** Every documented option value at least once; "" is the agent with no options. */
    @ParameterizedTest(name = "-javaagent:fiber-agent.jar={0}")
    @ValueSource(strings = {"", "detector=fail,virtual=jdk", "detector=report", "detector=off", "handoff=off,virtual=jdk", "handoff=1ms",
            "offload=file+dns+process", "offload=file", "offload=process", "offload=none", "dns=nonblocking", "dns=off", "carriers=1",
            "virtual=fibers", "virtual=jdk", "threads=platform", "threads=fibers", "threads=fibers,virtual=jdk,detector=off",
            "threads=fibers,threads.exclude=io.fiber.agent.PlainProgram+name:x-*", "threads=fibers,threads.only=name:pool-*",
            "console=0", "threads=fibers,console=127.0.0.1:0,console.token=plain-programs-token-0123"})
    void printsExactlyAsWithoutTheAgent(String options) throws Exception {
        ChildJvm.Run r = java(List.of(ChildJvm.agent(options)));
        assertEquals(0, r.exit(), r.out() + r.err());
        assertEquals(baseline, r.out());
        assertAddsAtMostDetectorReports(options, r.err());
    }

    /**
     * Standard error holds nothing, or, where the program's virtual threads are fibers and the
     * detector reports, the detector's reports only: a line per blocking call, then its stack.
     */
    private static void assertAddsAtMostDetectorReports(String options, String err) {
        if (options.contains("console=")) {
            // Its address at start-up (ConsoleIT checks what it says).
            List<String> consoleLines = err.lines().filter(l -> l.startsWith("fiber-agent: console at http://127.0.0.1:")).toList();
            assertEquals(1, consoleLines.size(), "console= says where the console is: " + err);
            err = err.lines().filter(l -> !l.startsWith("fiber-agent: console at ")).map(l -> l + "\n").reduce("", String::concat);
        }
        if (options.contains("threads=fibers")) {
            // Its line at start-up and its summary at exit (ApplicationThreadsIT checks what they say).
            List<String> agentLines = err.lines().filter(l -> l.startsWith("fiber-agent: threads=fibers: ")).toList();
            assertEquals(2, agentLines.size(), "threads=fibers says what it converts at start-up and what it did at exit: " + err);
            err = err.lines().filter(l -> !l.startsWith("fiber-agent: threads=fibers: ")).map(l -> l + "\n").reduce("", String::concat);
        }
        if (options.contains("detector=off") || options.contains("virtual=jdk") && !options.contains("threads=fibers")) {
            assertEquals("", err, "the agent adds nothing to standard error");
            return;
        }
        for (String line : err.lines().toList()) {
            assertTrue(line.matches("\\[[^]]*] WARN io\\.fiber\\.detector\\.BlockingCallDetector - Blocking call! .* in fiber .*")
                    || line.startsWith("\tat ") || line.matches("\t\\.\\.\\. \\d+ more"),
                    "the agent adds only the detector's reports to standard error, not: " + line + "\nin:\n" + err);
        }
    }

    @Test
    void withDetectorFailTheBlockingCallsOfItsVirtualThreadsFailAndNothingElse() throws Exception {
        ChildJvm.Run r = java(List.of(ChildJvm.agent("detector=fail")));
        assertEquals(0, r.exit(), r.out() + r.err());
        assertTrue(r.out().endsWith("done\n"), r.out());
        assertTrue(r.out().contains("FAILED io.fiber.detector.BlockingCallError: Blocking call!"), r.out());
        for (String line : r.out().lines().toList()) {
            if (line.contains("FAILED")) {
                assertTrue(line.contains("FAILED io.fiber.detector.BlockingCallError: Blocking call!"),
                        "a blocking call of a virtual thread fails, nothing else does: " + line);
            }
        }
        for (String line : baseline.lines().toList()) {
            if (line.startsWith("platform ") && !line.contains("process")) {
                assertTrue(r.out().contains(line + "\n"), "platform threads are untouched (the process line's pipe writer is a virtual thread): " + line);
            }
        }
    }

    @ParameterizedTest(name = "attached with {0}")
    @ValueSource(strings = {"virtual=jdk", "detector=fail,offload=file+dns+process,virtual=jdk", "", "threads=fibers"})
    void attachedLateItBreaksNothingThatRanBeforeOrAfter(String options) throws Exception {
        // EnableDynamicAgentLoading: without it the JDK warns on standard error of any agent loaded late.
        ChildJvm.Run r = java(List.of("-Djdk.attach.allowAttachSelf=true", "-XX:+EnableDynamicAgentLoading"), "attach", ChildJvm.agentJar().toString(), options);
        assertEquals(0, r.exit(), r.out() + r.err());
        String expected = baseline.replace("done\n", "attached\n") + baseline.substring(baseline.indexOf('\n') + 1)
                .replace("org.opentest4j.AssertionFailedError", "org.junit.jupiter.api.Assertions")
                .replace("org.opentest4j.ValueWrapper", "org.junit.jupiter.api.AssertionFailureBuilder");
        assertEquals(expected, r.out());
        assertAddsAtMostDetectorReports(options, r.err());
    }
}
