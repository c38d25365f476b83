package io.fiber.agent.io;

/**
 * The kind of thread a test's blocking body runs on. Every behaviour test runs once per kind and
 * expects the same result, in both failsafe executions (with and without the agent).
 */
enum Kind {
    /** A fiber on a shared 2-carrier {@code FiberScheduler}; the agent (when present) reroutes its socket waits. */
    FIBER,
    /**
     * A plain {@code Thread.ofVirtual()} thread: on the JDK's scheduler without the agent, a fiber of
     * the default scheduler under it (the agent's {@code virtual=fibers}).
     */
    VIRTUAL
}
