package io.fiber.junit;

import io.fiber.Fiber;
import io.fiber.FiberScheduler;
import org.junit.jupiter.api.Test;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.testkit.engine.EngineTestKit;
import org.junit.platform.testkit.engine.Events;
import org.opentest4j.AssertionFailedError;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.locks.ReentrantLock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

/** {@link StallExtension}, through sample test classes that the Jupiter engine runs in this JVM. */
class StallExtensionTest {

    @Test
    void aTestWhoseFibersDeadlockFailsWithTheStallReportInsteadOfHanging() {
        TestExecutionResult result = run(DeadlockSample.class);
        assertEquals(TestExecutionResult.Status.FAILED, result.getStatus());
        AssertionFailedError failure = assertInstanceOf(AssertionFailedError.class, result.getThrowable().orElseThrow());
        String message = failure.getMessage();
        assertTrue(message.startsWith("joinsTwoDeadlockedFibers(): its fibers stalled, and the test was stopped waiting for them\n"), message);
        assertTrue(message.contains("Scheduler 'sample-deadlock' looks stuck: all 2 fibers"), message);
        assertTrue(message.contains("\"left\"") && message.contains("\"right\""), message);
        assertInstanceOf(InterruptedException.class, failure.getSuppressed()[0], "what the interrupted join threw");
        assertTrue(!Thread.currentThread().isInterrupted());
    }

    @Test
    void aTestWhoseFibersFinishPasses() {
        assertEquals(TestExecutionResult.Status.SUCCESSFUL, run(FinishingSample.class).getStatus());
    }

    private static TestExecutionResult run(Class<?> sample) {
        Events tests = EngineTestKit.engine("junit-jupiter").selectors(selectClass(sample))
                .configurationParameter(Samples.LAUNCHED, "true").execute().testEvents();
        assertEquals(1, tests.started().count(), "tests of " + sample.getSimpleName() + " that ran");
        return tests.finished().stream().findFirst().orElseThrow().getRequiredPayload(TestExecutionResult.class);
    }

    @Samples.Sample
    @FailOnStall
    static class DeadlockSample {
        @Test
        void joinsTwoDeadlockedFibers() throws Exception {
            FiberScheduler s = FiberScheduler.builder().carriers(1).name("sample-deadlock").stallReportAfter(Duration.ofMillis(300)).build();
            ReentrantLock a = new ReentrantLock();
            ReentrantLock b = new ReentrantLock();
            CountDownLatch both = new CountDownLatch(2);
            Fiber<Void> left = s.spawn("left", () -> lockBoth(a, b, both));
            Fiber<Void> right = s.spawn("right", () -> lockBoth(b, a, both));
            try {
                left.join();
                right.join();
            } finally {
                s.shutdownNow(); // interrupts them: lockInterruptibly lets them go
            }
        }
    }

    @Samples.Sample
    @FailOnStall
    static class FinishingSample {
        @Test
        void joinsFibersThatFinish() throws Exception {
            try (FiberScheduler s = FiberScheduler.builder().carriers(1).name("sample-finishing").stallReportAfter(Duration.ofMillis(300)).build()) {
                s.spawn(() -> {
                    Thread.sleep(500); // longer than the stall threshold: a sleeper is not a stall
                    return null;
                }).join();
            }
        }
    }

    private static Void lockBoth(ReentrantLock mine, ReentrantLock theirs, CountDownLatch both) throws InterruptedException {
        mine.lock();
        try {
            both.countDown();
            both.await();
            theirs.lockInterruptibly();
            theirs.unlock();
        } finally {
            mine.unlock();
        }
        return null;
    }
}
