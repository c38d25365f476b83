/**
 * The bridge (docs/design.md section 7): the one class the agent defines in the boot class loader,
 * so patched {@code java.base} code can call the runtime. It depends on nothing of the runtime.
 */
package io.fiber.internal.bridge;
