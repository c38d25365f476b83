package io.fiber.agent;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Under the agent every JDK virtual thread is a fiber ({@code virtual=fibers}, the default), however
 * it was created, and keeps what its creator and builder gave it; {@code virtual=jdk} leaves them all
 * on the JDK's scheduler. {@link VirtualThreadsProbe} never asks for a fiber.
 */
class VirtualThreadsIT {
    private static final List<String> CREATED = List.of("ofVirtual.start", "startVirtualThread", "perTaskExecutor",
            "factory", "mapConcurrent", "fromFiber");

    private static String probe(String agentOptions, String... args) throws Exception {
        return ChildJvm.run(List.of(ChildJvm.agent(agentOptions)), ChildJvm.testClassPath(), VirtualThreadsProbe.class, List.of(args), 60)
                .completed();
    }

    private static String line(String out, String kind) {
        return ChildJvm.line(out, kind);
    }

    @Test
    void everyVirtualThreadIsAFiberOfTheDefaultScheduler() throws Exception {
        String out = probe("");
        for (String kind : CREATED) {
            assertTrue(line(out, kind).startsWith(kind + ": fiber=true carrier=fiber-carrier scheduler=fiber"), out);
        }
        assertTrue(line(out, "fromFiber").endsWith("ownFiber=true"), "a thread created in a fiber is a fiber of its own: " + out);
        assertTrue(line(out, "fromOwnScheduler").startsWith("fromOwnScheduler: fiber=true carrier=mine-carrier scheduler=mine"),
                "a thread created in a fiber of another scheduler joins that scheduler: " + out);
        assertTrue(line(out, "ofVirtual.start").endsWith("name=vt-start"), out);
        assertTrue(line(out, "factory").endsWith("name=vt-factory-0"), out);
        assertTrue(line(out, "mapConcurrent").endsWith("all=true"), out);
    }

    @Test
    void aVirtualThreadKeepsWhatItsCreatorAndBuilderGaveIt() throws Exception {
        String out = probe("");
        assertEquals("inherits: inherited=from-main loader=true daemon=true virtual=true name=kept state=TERMINATED alive=false",
                line(out, "inherits"));
        assertEquals("inheritsNothing: inherited=null loader=true", line(out, "inheritsNothing"));
        assertEquals("uncaught: failing boom", line(out, "uncaught"));
        assertEquals("interrupt: yes", line(out, "interrupt"));
    }

    @Test
    void itsSleepsAndSocketWaitsGoToTheCarriers() throws Exception {
        String out = probe("");
        assertEquals("io: answer=7 reactorWaits=true carrierTimers=true", line(out, "io"));
        assertEquals("alive at the end: 0", line(out, "alive at the end"), out);
    }

    @Test
    void theJdksOwnPollerThreadsStayTheJdks() throws Exception {
        // Another scheduler first: the JDK's pollers then start while the default scheduler could take them.
        String out = probe("", "ownSchedulerFirst");
        assertTrue(line(out, "ofVirtual.start").startsWith("ofVirtual.start: fiber=true carrier=fiber-carrier"), out);
        assertEquals("alive at the end: 0", line(out, "alive at the end"),
                "the JDK's socket sub-pollers, virtual threads that never end, are not fibers: " + out);
    }

    @Test
    void virtualJdkLeavesThemOnTheJdksScheduler() throws Exception {
        String out = probe("virtual=jdk");
        for (String kind : CREATED) {
            if (!kind.equals("fromFiber")) {
                assertTrue(line(out, kind).startsWith(kind + ": fiber=false carrier=ForkJoinPool-1-worker scheduler=-"), out);
            }
        }
        // Created in a fiber, a JDK virtual thread takes its creator's executor, as it always did: our carrier, no fiber of its own.
        assertTrue(line(out, "fromFiber").startsWith("fromFiber: fiber=false carrier=fiber-carrier"), out);
        assertEquals("inherits: inherited=from-main loader=true daemon=true virtual=true name=kept state=TERMINATED alive=false",
                line(out, "inherits"));
        assertEquals("io: answer=7 reactorWaits=false carrierTimers=false", line(out, "io"));
        assertEquals("detector: unwatched=false watched=true fibers=false", line(out, "detector"),
                "a JDK virtual thread is watched only on request (watchVirtualThreads)");
    }

    @Test
    void theDetectorWatchesThemAsFibers() throws Exception {
        assertEquals("detector: unwatched=true watched=true fibers=true", line(probe(""), "detector"));
    }
}
