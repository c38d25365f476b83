package io.fiber.benchmarks;

import io.fiber.Fibers;

/**
 * The smallest fiber program, for {@code benchmarks/scripts/agent-startup.sh}: spawns one fiber, joins it
 * and exits, so a run's wall time is the JVM's start, the agent's start-up (with it) and the
 * runtime's first scheduler.
 */
public final class StartupMain {
    private StartupMain() { }

    public static void main(String[] args) throws Exception {
        if (!Fibers.spawn(() -> "ok").get().equals("ok")) {
            throw new AssertionError("the fiber did not return its value");
        }
    }
}
