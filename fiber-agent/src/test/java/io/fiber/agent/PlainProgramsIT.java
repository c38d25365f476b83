package io.fiber.agent;

import org.junit.jupiter.api.BeforeAll;
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
    @ValueSource(strings = {"", "detector=fail", "detector=report", "detector=off", "handoff=off", "handoff=1ms",
            "offload=file+dns+process", "offload=file", "offload=process", "offload=none", "dns=nonblocking", "dns=off", "carriers=1"})
    void printsExactlyAsWithoutTheAgent(String options) throws Exception {
        ChildJvm.Run r = java(List.of(ChildJvm.agent(options)));
        assertEquals(0, r.exit(), r.out() + r.err());
        assertEquals(baseline, r.out());
        assertEquals("", r.err(), "the agent adds nothing to standard error");
    }

    @ParameterizedTest(name = "attached with {0}")
    @ValueSource(strings = {"", "detector=fail,offload=file+dns+process"})
    void attachedLateItBreaksNothingThatRanBeforeOrAfter(String options) throws Exception {
        // EnableDynamicAgentLoading: without it the JDK warns on standard error of any agent loaded late.
        ChildJvm.Run r = java(List.of("-Djdk.attach.allowAttachSelf=true", "-XX:+EnableDynamicAgentLoading"), "attach", ChildJvm.agentJar().toString(), options);
        assertEquals(0, r.exit(), r.out() + r.err());
        String expected = baseline.replace("done\n", "attached\n") + baseline.substring(baseline.indexOf('\n') + 1)
                .replace("org.opentest4j.AssertionFailedError", "org.junit.jupiter.api.Assertions")
                .replace("org.opentest4j.ValueWrapper", "org.junit.jupiter.api.AssertionFailureBuilder");
        assertEquals(expected, r.out());
        assertEquals("", r.err(), "the agent adds nothing to standard error");
    }
}
