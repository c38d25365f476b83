package io.fiber.junit;

import io.fiber.detector.BlockingCallDetector;
import io.fiber.detector.BlockingCallDetector.Mode;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestPlan;

import java.util.concurrent.atomic.LongAdder;

/**
 * Turns the blocking-call detector on for a whole test run: the JUnit launcher finds this listener
 * through {@code META-INF/services} as soon as fiber-junit is on the test class path.
 *
 * <p>When the run starts, under the agent, and nobody chose a mode (no {@code detector=} agent
 * option, so no {@code fiber.detector} property), it sets {@link Mode#FAIL} until the run ends: a
 * blocking call in a fiber then throws {@code BlockingCallError} where it is made, in every test,
 * annotated or not. It counts the calls flagged during the run and, if there were any, prints one
 * line to stderr at the end. Without the agent it prints one warning line and does nothing else: a
 * test run without the agent is not an error by itself (the annotated tests do fail, saying why).
 */
public final class BlockingCallTestListener implements TestExecutionListener {
    /** Set by the agent from its {@code detector=} option: a mode chosen explicitly. */
    static final String MODE_PROPERTY = io.fiber.internal.Settings.DETECTOR.property();

    private final LongAdder flagged = new LongAdder();
    private AutoCloseable counter;
    private Mode restore;

    @Override
    public void testPlanExecutionStarted(TestPlan testPlan) {
        BlockingCallDetector detector = BlockingCallDetector.get();
        if (!detector.isAvailable()) {
            System.err.println("fiber-junit: blocking calls in fibers go unnoticed in this test run: " + BlockingCallExtension.NO_AGENT);
            return;
        }
        if (System.getProperty(MODE_PROPERTY) == null) {
            restore = detector.mode();
            detector.mode(Mode.FAIL);
        }
        flagged.reset();
        counter = detector.addListener(call -> flagged.increment());
    }

    @Override
    public void testPlanExecutionFinished(TestPlan testPlan) {
        if (counter == null) {
            return;
        }
        BlockingCallDetector detector = BlockingCallDetector.get();
        Mode mode = detector.mode();
        try {
            counter.close();
        } catch (Exception e) {
            throw new IllegalStateException("could not remove the blocking-call listener", e);
        }
        counter = null;
        if (restore != null) {
            detector.mode(restore);
            restore = null;
        }
        long n = flagged.sum();
        if (n > 0) {
            System.err.println("fiber-junit: the blocking-call detector flagged " + n + " blocking call(s) during this test run"
                    + " (mode " + mode + "); @DetectBlockingCalls on a test class lists them per test, with their stacks");
        }
    }
}
