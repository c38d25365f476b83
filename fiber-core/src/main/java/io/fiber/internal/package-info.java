/**
 * The runtime's machinery, one package per mechanism. Public only so the packages can reach each
 * other (as Netty's and Okio's internals are): not an application API, and it changes without notice.
 *
 * <h2>Layers</h2>
 * Each package uses only the ones below it, never the API in {@code io.fiber} above them all;
 * {@code LayeringTest} checks it on the compiled classes.
 * <pre>
 *   agent      what the agent's patches of the JDK call (the bridge's hooks)
 *   console    the live console's web server: its page, its JSON, its token (the API hands it the data)
 *   dump       fiber dumps: a scheduler's fibers grouped by state, what they wait on, and stack
 *   dns        the JDK resolver SPI: lookups offloaded, or over DNS from the fiber
 *   carrier    carrier loops, their queues, the idle handshake, live fibers, the watchdog
 *   management the runtime's MXBeans in the platform MBean server, registered once it exists
 *   group      groups of fibers: their run queues, the weighted pick, the bounds' admission lines
 *   time       a carrier's timers; the runtime's deadline timer
 *   io         the carriers' reactors (implemented by fiber-io)
 *   offload    the offload pool
 *   jdk        every access to JDK internals: one adapter per internal
 *   bridge     the boot-class-path class the patched JDK calls (depends on nothing)
 *   (this)     settings and the runtime's log
 * </pre>
 * The design, with the reasons, is docs/design.md.
 */
package io.fiber.internal;
