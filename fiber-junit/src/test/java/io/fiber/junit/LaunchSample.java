package io.fiber.junit;

import io.fiber.detector.BlockingCallDetector;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherFactory;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;
import static org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder.request;

/**
 * The main class of {@link BlockingCallLauncherTest}'s child JVMs: runs the sample class named by
 * its argument through the JUnit launcher, as a build tool does (so with the listeners found
 * through {@code META-INF/services}), and prints the detector's mode as the test starts and how
 * the test ended.
 */
final class LaunchSample {
    private LaunchSample() { }

    public static void main(String[] args) {
        LauncherFactory.create().execute(request().selectors(selectClass(args[0])).configurationParameter(Samples.LAUNCHED, "true").build(),
                new TestExecutionListener() {
                    @Override
                    public void executionStarted(TestIdentifier test) {
                        if (test.isTest()) {
                            System.out.println("mode as " + test.getDisplayName() + " starts: " + BlockingCallDetector.get().mode());
                        }
                    }

                    @Override
                    public void executionFinished(TestIdentifier test, TestExecutionResult result) {
                        if (test.isTest()) {
                            System.out.println(test.getDisplayName() + ": " + result.getStatus() + result.getThrowable().map(t -> " " + t).orElse(""));
                        }
                    }
                });
    }
}
