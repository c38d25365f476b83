/**
 * Carrier-local reactors: each carrier loop's own epoll instance and timers, to which the agent
 * reroutes fibers' socket waits and timed parks. Not built yet: see the fiber-agent + fiber-io issue.
 */
package io.fiber.io;
