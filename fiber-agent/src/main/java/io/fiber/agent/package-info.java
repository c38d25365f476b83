/**
 * The {@code -javaagent}: opens the JDK hook to the runtime and reroutes fibers' blocking calls.
 * Not built yet: see the fiber-agent + fiber-io issue. Until then, run with
 * {@code --add-opens java.base/java.lang=ALL-UNNAMED}.
 */
package io.fiber.agent;
