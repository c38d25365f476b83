package io.fiber.agent;

import io.fiber.bridge.FiberBridge;
import net.bytebuddy.asm.Advice;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Advice inlined at the entry of every blocking method the detector watches ({@link BlockingMethods}):
 * it hands the call to the runtime's {@link FiberBridge.Detector}, which returns at once for threads
 * it does not watch, or throws {@code BlockingCallError} in FAIL mode. The method's display name,
 * category and rule are constants bound per entry, so the patched code does no lookups. Like all
 * advice here, it may reference only boot class path types.
 */
final class BlockingCallAdvice {
    private BlockingCallAdvice() { }

    @Retention(RetentionPolicy.RUNTIME)
    @Target(ElementType.PARAMETER)
    @interface MethodName { }

    @Retention(RetentionPolicy.RUNTIME)
    @Target(ElementType.PARAMETER)
    @interface Category { }

    @Retention(RetentionPolicy.RUNTIME)
    @Target(ElementType.PARAMETER)
    @interface Rule { }

    /** The advice class with this entry's constants bound. */
    static Advice to(Class<?> advice, String method, int category, int rule) {
        return Advice.withCustomMapping()
                .bind(MethodName.class, method)
                .bind(Category.class, category)
                .bind(Rule.class, rule)
                .to(advice);
    }

    /** Every listed method but one: report on entry. */
    static final class OnEntry {
        @Advice.OnMethodEnter
        static void enter(@MethodName String method, @Category int category, @Rule int rule,
                          @Advice.This(optional = true) Object self) {
            FiberBridge.Detector detector = FiberBridge.detector();
            if (detector != null) {
                detector.blockingCall(method, category, rule, self);
            }
        }
    }

    /**
     * A listed method of a call family the agent option {@code offload=} names: the runtime may move
     * the calling fiber onto an offload-pool thread for the call ({@code offloadEnter}), and moves it
     * back when the call returns or throws. The detector's check comes after the move, so a call the
     * runtime moved off its carrier is not flagged (it no longer holds a carrier).
     */
    static final class Offloaded {
        @Advice.OnMethodEnter
        static boolean enter(@MethodName String method, @Category int category, @Rule int rule,
                             @Advice.This(optional = true) Object self) {
            FiberBridge.Hooks hooks = FiberBridge.hooks();
            boolean moved = hooks != null && hooks.offloadEnter(category);
            FiberBridge.Detector detector = FiberBridge.detector();
            if (detector != null) {
                try {
                    detector.blockingCall(method, category, rule, self);
                } catch (RuntimeException | Error e) {
                    if (moved) {
                        hooks.offloadExit(); // the method body will not run, so its exit advice will not either
                    }
                    throw e;
                }
            }
            return moved;
        }

        @Advice.OnMethodExit(onThrowable = Throwable.class)
        static void exit(@Advice.Enter boolean moved) {
            if (moved) {
                FiberBridge.hooks().offloadExit();
            }
        }
    }

    /**
     * {@code VirtualThread.parkOnCarrierThread(boolean timed, long nanos)}, where a pinned virtual
     * thread parks its carrier: reported only when it will really park (no permit, time left).
     */
    static final class PinnedPark {
        @Advice.OnMethodEnter
        static void enter(@MethodName String method, @Category int category, @Rule int rule,
                          @Advice.This Object self, @Advice.Argument(0) boolean timed, @Advice.Argument(1) long nanos,
                          @Advice.FieldValue("parkPermit") boolean permit) {
            FiberBridge.Detector detector = FiberBridge.detector();
            if (detector != null && !permit && (!timed || nanos > 0)) {
                detector.blockingCall(method, category, rule, self);
            }
        }
    }
}
