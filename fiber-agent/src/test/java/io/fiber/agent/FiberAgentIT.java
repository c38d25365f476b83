package io.fiber.agent;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The packaged agent jar, in child JVMs launched without {@code --add-opens}: it opens the hook,
 * applies its options, refuses bad ones at start-up, and leaves applications that do not use fibers
 * as they are.
 */
class FiberAgentIT {
    private static final String WARNING = "Fibers run on the JDK's default virtual thread scheduler";

    private static ChildJvm.Run java(String agentArgs, String... probeArgs) throws Exception {
        return java(null, List.of(), agentArgs, probeArgs);
    }

    private static ChildJvm.Run java(Path classPathFirst, String agentArgs, String... probeArgs) throws Exception {
        return java(classPathFirst, List.of(), agentArgs, probeArgs);
    }

    private static Path agentJar() {
        return ChildJvm.agentJar();
    }

    /**
     * Runs {@link AgentProbe} in a child JVM with {@code jvmArgs}, the agent with {@code agentArgs}
     * (none when null), and {@code classPathFirst} (if any) ahead of this JVM's class path.
     */
    private static ChildJvm.Run java(Path classPathFirst, List<String> jvmArgs, String agentArgs, String... probeArgs) throws Exception {
        List<String> args = new ArrayList<>(jvmArgs);
        if (agentArgs != null) {
            args.add(ChildJvm.agent(agentArgs));
        }
        String classPath = (classPathFirst == null ? "" : classPathFirst + java.io.File.pathSeparator) + ChildJvm.testClassPath();
        return ChildJvm.run(args, classPath, AgentProbe.class, List.of(probeArgs), 60);
    }

    @Test
    void withoutTheAgentFibersFallBack() throws Exception {
        ChildJvm.Run r = java(null);
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("ownCarriers=false"), r.out());
        assertTrue(r.err().contains(WARNING), r.err());
    }

    @Test
    void theAgentOpensTheHookSoFibersRunOnOurCarriers() throws Exception {
        ChildJvm.Run r = java("");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("ownCarriers=true"), r.out() + r.err());
        assertTrue(r.out().contains("@fiber-carrier-"), "the fiber ran on our carrier: " + r.out());
        assertTrue(r.out().contains("javaLangOpenToAll=false"), "java.lang must be opened to the runtime only: " + r.out());
        assertFalse(r.err().contains(WARNING), r.err());
    }

    @Test
    void attachedToARunningJvmTheAgentReroutesFibersAndASecondAttachChangesNothing() throws Exception {
        ChildJvm.Run r = java(null, List.of("-Djdk.attach.allowAttachSelf=true"), null, "attach", agentJar().toString());
        assertEquals(0, r.exit(), r.out() + r.err());
        assertTrue(r.out().contains("ownCarriers=true"), r.out() + r.err());
        assertFalse(r.out().contains("reactorWaits=0"), "the fiber's socket wait went to its carrier's reactor: " + r.out());
        assertTrue(r.out().contains("fileReadReports=1"), "one report per call, so patched once: " + r.out());
        assertTrue(r.err().contains("fiber-agent: already installed in this JVM"), r.err());
        assertFalse(r.err().contains("attached after the fiber runtime started"), r.err());
    }

    @Test
    void attachedToAJvmLaunchedWithTheAgentItChangesNothing() throws Exception {
        ChildJvm.Run r = java(null, List.of("-Djdk.attach.allowAttachSelf=true"), "", "attach", agentJar().toString());
        assertEquals(0, r.exit(), r.out() + r.err());
        assertFalse(r.out().contains("reactorWaits=0"), "the fiber's socket wait went to its carrier's reactor: " + r.out());
        assertTrue(r.out().contains("fileReadReports=1"), "one report per call, so patched once: " + r.out());
        assertEquals(2, r.err().split("fiber-agent: already installed in this JVM", -1).length - 1,
                "both attaches are refused: " + r.err());
    }

    @Test
    void attachedAfterFibersStartedTheAgentPatchesNothingAndSaysWhy() throws Exception {
        ChildJvm.Run r = java(null, List.of("-Djdk.attach.allowAttachSelf=true"), null, "attach", agentJar().toString(), "late");
        assertEquals(0, r.exit(), r.out() + r.err());
        assertTrue(r.err().contains("fiber-agent: started after the fiber runtime loaded its bridge"), r.err());
        assertTrue(r.err().contains("so nothing is patched. Launch with -javaagent instead."), r.err());
        assertFalse(r.err().contains("self-test failed"), r.err());
    }

    @Test
    void carriersOptionSizesTheDefaultScheduler() throws Exception {
        ChildJvm.Run r = java("carriers=3");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("carriers=3"), r.out());
    }

    @Test
    void handoffOptionReachesEveryScheduler() throws Exception {
        ChildJvm.Run r = java("handoff=25ms");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("handoffProperty=25ms"), r.out());
        ChildJvm.Run off = java("handoff=off");
        assertEquals(0, off.exit(), off.err());
        assertTrue(off.out().contains("handoffProperty=off"), off.out());
    }

    /** A refused start: status 1, and on standard error one line from the agent, nothing from the JDK's launcher. */
    private static void assertRefusedWithOneLine(ChildJvm.Run r) {
        assertEquals(1, r.exit(), r.err());
        assertEquals(1, r.err().lines().count(), "one line: " + r.err());
        assertTrue(r.err().startsWith("fiber-agent: "), r.err());
        assertFalse(r.err().contains("Exception") || r.err().contains("ASSERTION") || r.err().contains("FATAL"), r.err());
        assertTrue(r.out().isEmpty(), "the application must not have run: " + r.out());
    }

    @Test
    void unknownOptionStopsTheJvmNamingTheValidOnes() throws Exception {
        ChildJvm.Run r = java("carriers=2,bogus=1");
        assertRefusedWithOneLine(r);
        assertTrue(r.err().contains("fiber-agent: unknown option 'bogus'"), r.err());
        assertTrue(r.err().contains("valid options: carriers=N"), r.err());
        assertFalse(r.out().contains("ownCarriers"), "the application must not have run: " + r.out());
    }

    @Test
    void badValuesStopTheJvm() throws Exception {
        ChildJvm.Run zero = java("carriers=0");
        assertRefusedWithOneLine(zero);
        assertTrue(zero.err().contains("carriers=0 is invalid: it must be a whole number from 1 to 4096"), zero.err());
        ChildJvm.Run twice = java("carriers=1,carriers=2");
        assertRefusedWithOneLine(twice);
        assertTrue(twice.err().contains("'carriers' is given twice"), twice.err());
        ChildJvm.Run notPair = java("carriers");
        assertRefusedWithOneLine(notPair);
        assertTrue(notPair.err().contains("'carriers' is not key=value"), notPair.err());
        ChildJvm.Run detector = java("detector=loud");
        assertRefusedWithOneLine(detector);
        assertTrue(detector.err().contains("detector=loud is invalid: it must be fail, report or off"), detector.err());
        ChildJvm.Run offload = java("offload=file+disk");
        assertRefusedWithOneLine(offload);
        assertTrue(offload.err().contains("offload=file+disk is invalid: 'disk' is not a call family"), offload.err());
        ChildJvm.Run handoff = java("handoff=soon");
        assertRefusedWithOneLine(handoff);
        assertTrue(handoff.err().contains("handoff=soon is invalid: it must be off or a whole number of milliseconds"), handoff.err());
    }

    @Test
    void anotherCopyOfTheBridgeOnTheClassPathDoesNotReplaceTheAgentsOwn(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        // An application jar bundling another build of fiber-core comes first on the class path.
        Path bridge = dir.resolve("io/fiber/internal/bridge/FiberBridge.class");
        Files.createDirectories(bridge.getParent());
        Files.write(bridge, new byte[] {(byte) 0xCA, (byte) 0xFE, 0, 0});
        ChildJvm.Run r = java(dir, "");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("ownCarriers=true"), r.out());
    }

    @Test
    void consoleWritesAndStandardInputReadsAreToldApart() throws Exception {
        ChildJvm.Run r = java("detector=report", "console-and-stdin");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("printed by a fiber"), r.out());
        assertTrue(r.err().contains("Blocking call! java.io.FileOutputStream#write (console write) in fiber"), r.err());
        assertTrue(r.err().contains("Blocking call! java.io.FileInputStream#read (System.in read) in fiber"), r.err());
        assertTrue(r.err().contains("at io.fiber.agent.AgentProbe.lambda$main$"), "the report carries the stack: " + r.err());
    }

    @Test
    void applicationsThatDoNotUseFibersAreUntouchedButTheirVirtualThreadsAreFibers() throws Exception {
        ChildJvm.Run r = java("", "no-fibers");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("platformVirtual=false"), r.out());
        assertTrue(r.out().contains("@fiber-carrier-"), "a plain virtual thread is a fiber of the default scheduler: " + r.out());
        assertTrue(r.err().isBlank(), "no output from the agent: " + r.err());
        ChildJvm.Run jdk = java("virtual=jdk", "no-fibers");
        assertEquals(0, jdk.exit(), jdk.err());
        assertTrue(jdk.out().contains("ForkJoinPool"), "with virtual=jdk a plain virtual thread stays on the JDK scheduler: " + jdk.out());
        assertTrue(jdk.err().isBlank(), "no output from the agent: " + jdk.err());
    }
}
