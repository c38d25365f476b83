package io.fiber.junit;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The module as a user's build meets it: a sample run through the real JUnit launcher in a child
 * JVM ({@link LaunchSample}), which finds {@link BlockingCallTestListener} by itself. Under the agent
 * and without it, since the detector's availability is fixed per JVM.
 */
class BlockingCallLauncherTest {
    private static final String SAMPLE = BlockingCallExtensionTest.FileReadSample.class.getName();

    @Test
    void underTheAgentTheRunIsInFailModeAndEndsWithACount() throws Exception {
        String out = launch(true);
        assertTrue(out.contains("mode as readsAFileInAFiber(Path) starts: FAIL"), out);
        assertTrue(out.contains("readsAFileInAFiber(Path): FAILED org.opentest4j.AssertionFailedError:"
                + " 1 blocking call(s) in fibers during readsAFileInAFiber(Path):"), out);
        assertTrue(out.contains("fiber-junit: the blocking-call detector flagged 1 blocking call(s) during this test run (mode FAIL)"), out);
    }

    @Test
    void withoutTheAgentTheListenerWarnsOnceAndTheAnnotatedTestFailsSayingWhy() throws Exception {
        String out = launch(false);
        assertTrue(out.contains("mode as readsAFileInAFiber(Path) starts: OFF"), out);
        assertTrue(out.contains("readsAFileInAFiber(Path): FAILED org.junit.jupiter.api.extension.ExtensionConfigurationException:"
                + " @DetectBlockingCalls: " + BlockingCallExtension.NO_AGENT), out);
        assertEquals(1, out.split("fiber-junit: blocking calls in fibers go unnoticed in this test run: ", -1).length - 1, out);
    }

    /** Runs the sample in a child JVM, with or without the agent; returns its stdout and stderr. */
    private static String launch(boolean agent) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        if (agent) {
            Path jar = Path.of(System.getProperty("fiber.agent.jar", "(fiber.agent.jar not set by the pom)"));
            assertTrue(Files.isRegularFile(jar), "the agent jar " + jar + " is missing: the fiber-agent module builds it");
            command.add("-javaagent:" + jar);
        }
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), LaunchSample.class.getName(), SAMPLE));
        Path output = Files.createTempFile("fiber-junit-launch", ".txt");
        try {
            Process child = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(output.toFile()).start();
            boolean finished = child.waitFor(60, TimeUnit.SECONDS);
            child.destroyForcibly();
            String out = Files.readString(output, StandardCharsets.UTF_8);
            assertTrue(finished, "the child JVM did not finish in 60 s:\n" + out);
            assertEquals(0, child.exitValue(), out);
            return out;
        } finally {
            Files.deleteIfExists(output);
        }
    }
}
