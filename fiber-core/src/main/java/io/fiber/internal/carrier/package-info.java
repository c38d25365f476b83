/**
 * The scheduler proper (docs/design.md section 2): {@link io.fiber.internal.carrier.Carriers} is
 * what the carriers of one scheduler share; each {@link io.fiber.internal.carrier.CarrierLoop}
 * owns its {@link io.fiber.internal.carrier.RunQueue} and run-next slot and takes work from the
 * shared {@link io.fiber.internal.carrier.InjectQueue}, sleeping by the
 * {@link io.fiber.internal.carrier.IdleCarriers} handshake. Each fiber is a
 * {@link io.fiber.internal.carrier.FiberTask} here; the {@link io.fiber.internal.carrier.CarrierWatchdog}
 * asks held runs to yield and hands held carriers off (section 5).
 */
package io.fiber.internal.carrier;
