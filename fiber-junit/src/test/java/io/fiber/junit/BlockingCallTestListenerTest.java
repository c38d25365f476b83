package io.fiber.junit;

import io.fiber.Fibers;
import io.fiber.detector.BlockingCallDetector;
import io.fiber.detector.BlockingCallDetector.Mode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.platform.launcher.TestExecutionListener;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ServiceLoader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link BlockingCallTestListener}, called directly (it ignores the test plan). This JVM runs under
 * the agent with no {@code detector=} option, as the pom says; each test restores the mode it found.
 */
class BlockingCallTestListenerTest {
    private final BlockingCallDetector detector = BlockingCallDetector.get();
    private final BlockingCallTestListener listener = new BlockingCallTestListener();
    private Mode before;

    @BeforeEach
    void startInReportMode() {
        before = detector.mode();
        detector.mode(Mode.REPORT);
    }

    @AfterEach
    void restoreTheMode() {
        detector.mode(before);
    }

    @Test
    void theLauncherFindsItThroughServiceLoader() {
        assertTrue(ServiceLoader.load(TestExecutionListener.class).stream().anyMatch(p -> p.type() == BlockingCallTestListener.class),
                "META-INF/services/" + TestExecutionListener.class.getName() + " names " + BlockingCallTestListener.class.getName());
    }

    @Test
    void withNoModeChosenTheRunIsInFailModeAndTheModeComesBackAfter() {
        assertNull(System.getProperty(BlockingCallTestListener.MODE_PROPERTY), "the pom's argLine gives the agent no detector= option");
        listener.testPlanExecutionStarted(null);
        assertEquals(Mode.FAIL, detector.mode());
        listener.testPlanExecutionFinished(null);
        assertEquals(Mode.REPORT, detector.mode());
    }

    @Test
    void aModeChosenThroughTheAgentOptionIsLeftAlone() {
        System.setProperty(BlockingCallTestListener.MODE_PROPERTY, "report");
        try {
            listener.testPlanExecutionStarted(null);
            assertEquals(Mode.REPORT, detector.mode());
            listener.testPlanExecutionFinished(null);
            assertEquals(Mode.REPORT, detector.mode());
        } finally {
            System.clearProperty(BlockingCallTestListener.MODE_PROPERTY);
        }
    }

    @Test
    void theRunEndsWithOneLineCountingTheCalls(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("data.txt"), "some data");
        String err = stderrOf(() -> {
            listener.testPlanExecutionStarted(null);
            Fibers.spawn(() -> Files.readString(file)).join(); // FAIL mode: the open throws in the fiber, one call
            listener.testPlanExecutionFinished(null);
        });
        assertEquals("fiber-junit: the blocking-call detector flagged 1 blocking call(s) during this test run (mode FAIL);"
                + " @DetectBlockingCalls on a test class lists them per test, with their stacks", err.strip());
    }

    @Test
    void aQuietRunEndsWithoutALine() throws Exception {
        String err = stderrOf(() -> {
            listener.testPlanExecutionStarted(null);
            Fibers.spawn(() -> {
                Thread.sleep(1);
                return null;
            }).join();
            listener.testPlanExecutionFinished(null);
        });
        assertEquals("", err);
    }

    private interface Body {
        void run() throws Exception;
    }

    private static String stderrOf(Body body) throws Exception {
        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            body.run();
        } finally {
            System.setErr(err);
        }
        return captured.toString(StandardCharsets.UTF_8);
    }
}
