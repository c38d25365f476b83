package io.fiber.agent;

import org.junit.jupiter.api.Test;
import threadsprobe.ThreadsProbe;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code threads=fibers}: the platform threads application code starts become fibers and keep what a
 * platform thread has, each checked in a fresh JVM against {@link ThreadsProbe}, a program outside
 * {@code io.fiber} that starts threads the ways applications do; without the option, and with
 * exclusions, they stay platform threads.
 */
class ApplicationThreadsIT {
    private static final String START_LINE = "fiber-agent: threads=fibers: application threads (new Thread, Thread.ofPlatform(),"
            + " the JDK's default thread factory) become fibers";

    private static ChildJvm.Run probe(String agentOptions, String... args) throws Exception {
        List<String> jvm = agentOptions == null ? List.of() : List.of(ChildJvm.agent(agentOptions));
        return ChildJvm.run(jvm, ChildJvm.testClassPath(), ThreadsProbe.class, List.of(args), 60);
    }

    private static String basics(String agentOptions) throws Exception {
        return probe(agentOptions).completed();
    }

    private static String line(String out, String kind) {
        return ChildJvm.line(out, kind);
    }

    @Test
    void newThreadOfPlatformAndThePoolsThreadsBecomeFibersAndKeepWhatAPlatformThreadHas() throws Exception {
        String out = basics("threads=fibers");
        assertEquals("newThread: virtual=true name=Thread-0 daemon=false inherited=from-main loader=true state=NEW alive=false"
                + " daemon=false after=TERMINATED/false named=true", line(out, "newThread"));
        assertEquals("named: virtual=true name=worker daemon=false", line(out, "named"));
        assertEquals("setDaemon: virtual=true name=Thread-1 daemon=true", line(out, "setDaemon"));
        assertEquals("inheritsDaemon: child daemon=true", line(out, "inheritsDaemon"));
        assertEquals("setDaemonWhileAlive: IllegalThreadStateException", line(out, "setDaemonWhileAlive"));
        assertEquals("interrupt: interrupted", line(out, "interrupt"));
        assertEquals("runDirectly: ran in main state=NEW", line(out, "runDirectly"));
        assertEquals("uncaught: failing boom", line(out, "uncaught"));
        assertEquals("defaultUncaught: default failing-too bang", line(out, "defaultUncaught"));
        assertEquals("ofPlatform: virtual=true name=built daemon=false", line(out, "ofPlatform"));
        assertEquals("ofPlatformFactory: name=made-1 daemon=true factory handler pow", line(out, "ofPlatformFactory"));
        assertEquals("callersGroup: virtual=true name=same-group daemon=false", line(out, "callersGroup"));
        assertEquals("scheduled: virtual=true name=pool-2-thread-1 daemon=false", line(out, "scheduled"));
        assertEquals("package legacy: virtual=true", line(out, "package legacy"));
        assertEquals("hidingLoader: virtual=false", line(out, "hidingLoader"), "a loader that hides the bridge keeps its classes as they were");
        assertEquals("constructorReference: virtual=true name=Thread-N daemon=false", line(out, "constructorReference"));
        String report = line(out, "report");
        // The factory's pool replaces workers as they die, so its count of new Threads varies: at least three.
        assertTrue(report.matches("report: enabled=true converted=\\{new Thread=(1[6-9]|2\\d), Thread.ofPlatform\\(\\)=2,"
                + " default thread factory=5} leftAlone=\\{.*"), report);
        assertEquals("factoryWithGroup: allVirtual=true replaced=true", line(out, "factoryWithGroup"));
        assertEquals("poolFedByTheJdk: virtual=true name=pool-N-thread-M daemon=false status=204", line(out, "poolFedByTheJdk"),
                "a pool the program made is the program's, whoever feeds it");
        assertTrue(report.contains("given a thread group=1"), report);
    }

    @Test
    void aPoolOfNIsAPoolOfNFibers() throws Exception {
        String out = basics("threads=fibers");
        assertEquals("pool: virtual=true name=pool-N-thread-M daemon=false allVirtual=true mostAtOnce=3 poolSize=3", line(out, "pool"));
    }

    @Test
    void subclassesAndThreadsOfTheirOwnGroupStayPlatformThreads() throws Exception {
        String out = basics("threads=fibers");
        assertEquals("subclass: virtual=false name=Thread-7 daemon=false", line(out, "subclass"));
        assertEquals("ownGroup: virtual=false name=grouped daemon=false", line(out, "ownGroup"));
    }

    @Test
    void withoutTheOptionEveryThreadStaysAPlatformThreadAsWithoutTheAgent() throws Exception {
        String without = basics(null);
        String withAgent = basics("");
        assertEquals(without, withAgent);
        assertTrue(line(without, "pool").startsWith("pool: virtual=false"), without);
        assertTrue(line(without, "report").equals("report: enabled=false converted={} leftAlone={}"), without);
        String converted = basics("threads=fibers");
        // What the program prints is the same but for where the threads ran and the report.
        assertEquals(without.replace("virtual=false", "virtual=?").replace("allVirtual=false", "allVirtual=?").lines()
                        .filter(l -> !l.startsWith("report: ")).toList(),
                converted.replace("virtual=true", "virtual=?").replace("virtual=false", "virtual=?")
                        .replace("allVirtual=true", "allVirtual=?").lines().filter(l -> !l.startsWith("report: ")).toList());
    }

    @Test
    void theAgentSaysWhatItConvertsAtStartAndWhatItDidAtExit() throws Exception {
        ChildJvm.Run r = probe("threads=fibers");
        assertEquals(0, r.exit(), r.err());
        List<String> agentLines = r.err().lines().filter(l -> l.startsWith("fiber-agent: ")).toList();
        assertEquals(2, agentLines.size(), r.err());
        assertTrue(agentLines.get(0).startsWith(START_LINE), r.err());
        assertTrue(agentLines.get(1).matches("fiber-agent: threads=fibers: \\d+ application threads became fibers \\(\\d+ new Thread,"
                + " 2 Thread.ofPlatform\\(\\), 5 default thread factory\\); \\d+ left platform threads \\(.*given a thread group.*\\)"),
                agentLines.get(1));
        ChildJvm.Run off = probe("");
        assertFalse(off.err().contains("fiber-agent"), "nothing without threads=fibers: " + off.err());
    }

    @Test
    void aNonDaemonFiberKeepsTheJvmAliveAfterMainReturns() throws Exception {
        ChildJvm.Run r = probe("threads=fibers", "keepAlive");
        assertEquals(0, r.exit(), r.out() + r.err());
        assertEquals("main returns\nworker done: virtual=true name=late-worker daemon=false\n", r.out());
    }

    @Test
    void aDaemonFiberDoesNot() throws Exception {
        long start = System.nanoTime();
        ChildJvm.Run r = probe("threads=fibers", "daemon");
        assertEquals(0, r.exit(), r.out() + r.err());
        assertEquals("main returns, worker virtual\n", r.out());
        assertTrue(System.nanoTime() - start < 30_000_000_000L, "the JVM ended without waiting for the 60 s sleeper");
    }

    @Test
    void systemExitEndsTheJvmWhileAConvertedWorkerRunsAndTheShutdownHooksRun() throws Exception {
        ChildJvm.Run r = probe("threads=fibers", "exit");
        assertEquals(3, r.exit(), r.out() + r.err());
        assertEquals("exiting, worker virtual alive=true\nhook ran\n", r.out());
    }

    @Test
    void anUncaughtExceptionAfterMainReturnedIsPrintedBeforeTheJvmEnds() throws Exception {
        ChildJvm.Run r = probe("threads=fibers", "uncaughtAtTheEnd");
        assertEquals(0, r.exit(), r.out() + r.err());
        assertTrue(r.err().contains("Exception in thread \"late-failing\" java.lang.IllegalStateException: late failure"), r.err());
    }

    @Test
    void exclusionsByPackageClassAndNameAndOnlyByName() throws Exception {
        String out = basics("threads=fibers,threads.exclude=threadsprobe.legacy.*+name:keep-*");
        assertEquals("package legacy: virtual=false", line(out, "package legacy"));
        assertEquals("keep-me: virtual=false name=keep-me daemon=false", line(out, "keep-me"));
        assertEquals("named: virtual=true name=worker daemon=false", line(out, "named"));
        assertTrue(line(out, "report").contains("excluded by threads.exclude=2"), out);

        String byClass = basics("threads=fibers,threads.exclude=threadsprobe.ThreadsProbe");
        assertEquals("named: virtual=false name=worker daemon=false", line(byClass, "named"));
        assertEquals("pool: virtual=false name=pool-N-thread-M daemon=false allVirtual=false mostAtOnce=3 poolSize=3", line(byClass, "pool"));
        assertEquals("package legacy: virtual=true", line(byClass, "package legacy"));

        String only = basics("threads=fibers,threads.only=name:worker+name:pool-*");
        assertEquals("named: virtual=true name=worker daemon=false", line(only, "named"));
        assertTrue(line(only, "pool").contains("allVirtual=true"), only);
        assertEquals("keep-me: virtual=false name=keep-me daemon=false", line(only, "keep-me"));
        assertTrue(line(only, "report").contains("not named by threads.only="), only);
    }

    /** A refused start: status 1, and on standard error one line from the agent. */
    private static void assertRefused(String options, String message) throws Exception {
        ChildJvm.Run r = probe(options);
        assertEquals(1, r.exit(), r.err());
        assertEquals(1, r.err().lines().count(), "one line: " + r.err());
        assertTrue(r.err().startsWith("fiber-agent: "), r.err());
        assertTrue(r.err().contains(message), r.err());
        assertTrue(r.out().isEmpty(), "the application must not have run: " + r.out());
    }

    @Test
    void badValuesStopTheJvmWithOneLine() throws Exception {
        assertRefused("threads=virtual", "option threads=virtual is invalid: it must be platform or fibers");
        assertRefused("threads=fibers,threads.exclude=com..x", "option threads.exclude=com..x is invalid: 'com..x' is neither a class,"
                + " a package.* nor name:GLOB; it must be one or more selectors joined by +");
        assertRefused("threads=fibers,threads.only=name:", "option threads.only=name: is invalid: 'name:' names no pattern");
        assertRefused("threads.exclude=com.example.*", "option threads.exclude selects application threads to make fibers,"
                + " which only threads=fibers does; add threads=fibers or drop threads.exclude");
        assertRefused("threads=platform,threads.only=name:x", "drop threads.only");
    }
}
