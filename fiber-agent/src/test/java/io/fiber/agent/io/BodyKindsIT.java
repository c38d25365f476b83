package io.fiber.agent.io;

import io.fiber.Fiber;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The set-up the other io tests rely on: a {@link Kind#FIBER} body is a fiber on our carriers, a
 * {@link Kind#VIRTUAL} body a plain virtual thread, which the agent makes a fiber of the default
 * scheduler and which runs on the JDK's scheduler without it, and this JVM runs with the agent
 * exactly when the failsafe execution says so ({@code fiber.test.agent}).
 */
class BodyKindsIT {

    @Test
    void fiberBodiesRunOnOurCarriers() {
        String where = Body.run(Kind.FIBER, () -> {
            assertNotNull(Fiber.current());
            return Thread.currentThread().toString();
        }).value();
        assertTrue(where.contains("@io-it-carrier-"), where);
    }

    @Test
    void virtualBodiesAreFibersOfTheDefaultSchedulerUnderTheAgentOnly() {
        boolean agent = Boolean.parseBoolean(System.getProperty("fiber.test.agent"));
        String where = Body.run(Kind.VIRTUAL, () -> {
            assertEquals(agent, Fiber.current() != null);
            return Thread.currentThread().toString();
        }).value();
        assertTrue(where.contains(agent ? "@fiber-carrier-" : "ForkJoinPool"), where);
    }

    @Test
    void theAgentIsLoadedExactlyInTheAgentExecution() {
        String expected = System.getProperty("fiber.test.agent");
        assertNotNull(expected, "failsafe sets fiber.test.agent");
        boolean agent = ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .anyMatch(a -> a.startsWith("-javaagent:") && a.contains("fiber-agent"));
        assertEquals(Boolean.parseBoolean(expected), agent, ManagementFactory.getRuntimeMXBean().getInputArguments().toString());
    }
}
