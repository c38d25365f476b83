/**
 * What the agent's patches of the JDK call into (docs/design.md sections 3 to 5 and 7), installed in
 * the bridge by the first scheduler: socket waits to the carrier's reactor, timed parks to its
 * timers, offloaded calls to the offload pool.
 */
package io.fiber.internal.agent;
