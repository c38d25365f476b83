/**
 * The offload pool (docs/design.md section 5): platform threads for calls that would hold a carrier,
 * run while the fiber waits ({@code Fibers.blocking}, the agent option {@code offload=}).
 */
package io.fiber.internal.offload;
