/**
 * Name lookups from fibers that do not hold a carrier: {@link io.fiber.internal.dns.FiberResolverProvider},
 * the JDK's resolver SPI, offloads them (the default) or resolves them over DNS from the fiber
 * itself ({@code -Dfiber.dns=nonblocking}). See docs/dns.md.
 */
package io.fiber.internal.dns;
