package io.fiber.compat;

import io.fiber.Fiber;
import io.fiber.FiberException;
import io.fiber.FiberScheduler;

import java.time.Duration;
import java.util.concurrent.Callable;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** Runs a test body in a fiber and hands back its value, or throws its own exception (not a FiberException around it). */
final class InFiber {
    private InFiber() { }

    static <T> T call(FiberScheduler scheduler, Callable<T> body) throws Exception {
        Fiber<T> fiber = scheduler.spawn(body);
        assertTrue(fiber.join(Duration.ofSeconds(30)), "fiber did not finish within 30 s");
        try {
            return fiber.get();
        } catch (FiberException e) {
            if (e.getCause() instanceof Exception cause) {
                throw cause;
            }
            throw e;
        }
    }
}
