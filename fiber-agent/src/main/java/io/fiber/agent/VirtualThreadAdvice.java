package io.fiber.agent;

import io.fiber.bridge.FiberBridge;
import net.bytebuddy.asm.Advice;

import java.util.concurrent.Executor;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * Advice inlined into {@code java.lang.VirtualThread} (DESIGN.md section 4).
 *
 * <p>{@code private Future<?> schedule(Runnable task, long delay, TimeUnit unit)} is where a timed
 * park, sleep or timed wait of a virtual thread whose scheduler is not a ForkJoinPool gets its
 * timer (JDK 25: on the JDK's {@code VirtualThread-unparker} threads). For our fibers the runtime
 * returns a timer of the carrier the fiber runs on, and the JDK's body is skipped.
 */
final class VirtualThreadAdvice {
    private VirtualThreadAdvice() { }

    static final class Schedule {
        @Advice.OnMethodEnter(skipOn = Advice.OnNonDefaultValue.class)
        static Future<?> enter(@Advice.FieldValue("scheduler") Executor scheduler, @Advice.Argument(0) Runnable task,
                               @Advice.Argument(1) long delay, @Advice.Argument(2) TimeUnit unit) {
            FiberBridge.Hooks hooks = FiberBridge.hooks();
            return hooks == null ? null : hooks.schedule(scheduler, task, delay, unit);
        }

        @Advice.OnMethodExit
        static void exit(@Advice.Enter Future<?> ours, @Advice.Return(readOnly = false) Future<?> returned) {
            if (ours != null) {
                returned = ours;
            }
        }
    }
}
