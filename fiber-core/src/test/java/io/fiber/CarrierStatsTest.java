package io.fiber;

import org.junit.jupiter.api.Test;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;

import static io.fiber.TestFibers.await;
import static io.fiber.TestFibers.result;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A carrier's busy and idle time and the watchdog's yield requests, as {@link CarrierStats} reports them. */
class CarrierStatsTest {

    @Test
    void anIdleCarrierCountsIdleTimeAndABusyOneBusyTime() throws Exception {
        try (FiberScheduler s = FiberScheduler.builder().carriers(1).name("busy-idle").build()) {
            result(s.spawn(() -> { }));
            Thread.sleep(300);
            CarrierStats idle = s.stats().carriers().getFirst();
            assertTrue(idle.idleNanos() > idle.busyNanos(), "asleep with nothing to do: " + idle);
            assertTrue(idle.idleNanos() >= 200_000_000, "most of the 300 ms: " + idle);

            AtomicBoolean stop = new AtomicBoolean();
            CountDownLatch spinning = new CountDownLatch(1);
            Fiber<Void> spinner = s.spawn(() -> {
                spinning.countDown();
                while (!stop.get()) {
                    Thread.onSpinWait();
                }
            });
            await(spinning);
            Thread.sleep(300);
            CarrierStats during = s.stats().carriers().getFirst();
            stop.set(true);
            result(spinner);
            long busy = during.busyNanos() - idle.busyNanos();
            long slept = during.idleNanos() - idle.idleNanos();
            assertTrue(busy >= 250_000_000 && slept < 50_000_000, "awake the whole 300 ms, not asleep: busy " + busy + " ns, idle " + slept + " ns");
            assertEquals(0, during.yieldRequests(), "nothing waited behind the spinner, so no request to yield: " + during);
        }
    }

    @Test
    void aRunHoldingTheCarrierWithWorkWaitingCountsAYieldRequest() throws Exception {
        try (FiberScheduler s = FiberScheduler.builder().carriers(1).name("yield-requests").build()) {
            AtomicBoolean stop = new AtomicBoolean();
            CountDownLatch spinning = new CountDownLatch(1);
            Fiber<Void> spinner = s.spawn(() -> {
                spinning.countDown();
                while (!stop.get()) {
                    Thread.onSpinWait(); // no safe point: asked to yield, it cannot
                }
            });
            await(spinning);
            Fiber<Void> waiting = s.spawn(() -> { });
            long deadline = System.nanoTime() + 20_000_000_000L;
            while (s.stats().carriers().getFirst().yieldRequests() == 0 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            stop.set(true);
            result(spinner);
            result(waiting);
            CarrierStats c = s.stats().carriers().getFirst();
            assertTrue(c.yieldRequests() >= 1, c.toString());
            assertTrue(s.stats().toString().contains("yield requests"), s.stats().toString());
        }
    }
}
