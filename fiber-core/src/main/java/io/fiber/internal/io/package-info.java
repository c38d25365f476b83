/**
 * The carriers' reactors (docs/design.md section 3): the interface a reactor implements
 * ({@link io.fiber.internal.io.CarrierReactor}; fiber-io's epoll reactor is the one there is), the
 * provider found with {@link java.util.ServiceLoader}, and the set of open reactors.
 */
package io.fiber.internal.io;
