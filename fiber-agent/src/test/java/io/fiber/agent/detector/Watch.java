package io.fiber.agent.detector;

import io.fiber.Fiber;
import io.fiber.FiberScheduler;
import io.fiber.detector.BlockingCall;
import io.fiber.detector.BlockingCallDetector;
import io.fiber.detector.BlockingCategory;

import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * One test's view of the detector: a scheduler of its own (two carriers, a unique name) and the
 * calls flagged on it, collected by a listener. The detector is global, so calls are told apart by
 * their carrier's name; the mode in force before is restored on close.
 */
final class Watch implements AutoCloseable {
    private static final AtomicInteger IDS = new AtomicInteger();

    final FiberScheduler scheduler;
    private final String name;
    private final BlockingCallDetector.Mode previousMode;
    private final List<BlockingCall> calls = new CopyOnWriteArrayList<>();
    private final AutoCloseable listener;

    Watch(BlockingCallDetector.Mode mode) {
        BlockingCallDetector detector = BlockingCallDetector.get();
        assertTrue(detector.isAvailable(), "these tests run with the agent");
        name = "detector-it-" + IDS.incrementAndGet();
        scheduler = FiberScheduler.builder().carriers(2).name(name).build();
        previousMode = detector.mode();
        detector.mode(mode);
        listener = detector.addListener(call -> {
            if (call.carrier() != null && call.carrier().startsWith(name + "-")) {
                calls.add(call);
            }
        });
    }

    /** Runs {@code body} in a fiber of this watch's scheduler and returns its result (or throws its failure). */
    <T> T inFiber(Callable<T> body) throws Exception {
        Fiber<T> fiber = scheduler.spawn(body);
        assertTrue(fiber.join(java.time.Duration.ofSeconds(20)), "fiber did not finish");
        try {
            return fiber.get();
        } catch (Exception e) {
            Throwable cause = e;
            while (cause.getCause() != null && !(cause instanceof Error)) {
                cause = cause.getCause();
            }
            if (cause instanceof Exception ex) {
                throw ex;
            }
            if (cause instanceof Error err) {
                throw err;
            }
            throw e;
        }
    }

    List<BlockingCall> calls() {
        return List.copyOf(calls);
    }

    /** The one flagged call of {@code category} naming {@code method}; fails listing what was flagged instead. */
    BlockingCall expect(BlockingCategory category, String method) {
        for (BlockingCall call : calls) {
            if (call.category() == category && call.method().equals(method)) {
                return call;
            }
        }
        return fail("expected " + method + " (" + category + ") to be flagged; flagged: " + describe());
    }

    void expectNone() {
        assertTrue(calls.isEmpty(), () -> "expected no blocking call; flagged: " + describe());
    }

    String describe() {
        return calls.isEmpty() ? "nothing" : calls.stream().map(BlockingCall::describe).collect(Collectors.joining("\n"));
    }

    @Override
    public void close() throws Exception {
        listener.close();
        BlockingCallDetector.get().mode(previousMode);
        scheduler.shutdown();
        scheduler.awaitTermination(java.time.Duration.ofSeconds(10));
    }
}
