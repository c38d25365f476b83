/**
 * Adapters that let executor-based code and JDBC run on fibers unchanged. Not built yet: see the
 * handoff/offload/JDBC issue.
 */
package io.fiber.compat;
