package io.fiber.agent;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The agent option {@code max-fibers}: an unmodified program's virtual threads (fibers under the
 * agent) are bounded, its starters wait (a platform thread in {@code Thread.start}, a fiber parked
 * before it, never pinned) or are refused with the {@code RejectedExecutionException} that
 * {@code Thread.start} and executors already throw for a rejecting scheduler ({@link MaxFibersProbe}).
 */
class MaxFibersIT {
    private static String probe(String agentOptions, String mode) throws Exception {
        return ChildJvm.run(List.of(ChildJvm.agent(agentOptions)), ChildJvm.testClassPath(), MaxFibersProbe.class,
                List.of(mode), 60).completed();
    }

    private static int figure(String line, String name) {
        for (String part : line.split(" ")) {
            if (part.startsWith(name + "=")) {
                return Integer.parseInt(part.substring(name.length() + 1));
            }
        }
        throw new AssertionError("no " + name + " in " + line);
    }

    @Test
    void startersWaitAtTheBound() throws Exception {
        String out = probe("max-fibers=8", "wait");
        String platform = ChildJvm.line(out, "platform starter");
        assertTrue(figure(platform, "max") <= 8, out);
        assertEquals(200, figure(platform, "completed"), out);
        String fiber = ChildJvm.line(out, "fiber starter");
        assertTrue(figure(fiber, "max") <= 7, "the starting fiber holds one of the 8: " + out);
        assertEquals(200, figure(fiber, "completed"), out);
        assertEquals(0, figure(fiber, "pinnedParks"), "a fiber waits at the bound unpinned: " + out);
        assertEquals("stats: bounded=true limit=8 waitedSome=true rejected=0", ChildJvm.line(out, "stats"));
    }

    @Test
    void withoutTheOptionNothingIsBounded() throws Exception {
        String out = probe("", "wait");
        assertTrue(figure(ChildJvm.line(out, "platform starter"), "max") > 8, out);
        assertTrue(ChildJvm.line(out, "stats").startsWith("stats: bounded=false"), out);
    }

    @Test
    void rejectRefusesStartsWithARejectedExecutionException() throws Exception {
        String out = probe("max-fibers=4:reject", "reject");
        assertEquals("start: io.fiber.FiberRejectedException names max-fibers=true", ChildJvm.line(out, "start"));
        assertEquals("submit: io.fiber.FiberRejectedException", ChildJvm.line(out, "submit"));
        assertEquals("after: started", ChildJvm.line(out, "after"));
    }

    @Test
    void aBadValueIsRefusedWithTheGrammar() throws Exception {
        ChildJvm.Run run = ChildJvm.run(List.of(ChildJvm.agent("max-fibers=8:later")), ChildJvm.testClassPath(),
                MaxFibersProbe.class, List.of("wait"), 60);
        assertEquals(1, run.exit(), run.out() + run.err());
        assertTrue(run.err().contains("option max-fibers=8:later is invalid") && run.err().contains(":reject"), run.err());
    }
}
