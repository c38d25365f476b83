package io.fiber.junit;

import io.fiber.detector.BlockingCallDetector;
import io.fiber.detector.BlockingCallDetector.Mode;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.testkit.engine.EngineTestKit;
import org.junit.platform.testkit.engine.Events;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

/**
 * Sample test classes are small test classes nested in this module's tests, with one test each,
 * that fail on purpose. They run only when a test launches them with the configuration parameter
 * {@value #LAUNCHED}: never in the build's own test run, nor when an IDE runs the whole package.
 */
final class Samples {
    static final String LAUNCHED = "fiber.junit.samples";

    private Samples() { }

    /** Marks a sample class. */
    @Target(ElementType.TYPE)
    @Retention(RetentionPolicy.RUNTIME)
    @ExtendWith(OnlyWhenLaunched.class)
    @interface Sample {
    }

    static final class OnlyWhenLaunched implements ExecutionCondition {
        @Override
        public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
            return context.getConfigurationParameter(LAUNCHED).isPresent()
                    ? ConditionEvaluationResult.enabled("launched by a test")
                    : ConditionEvaluationResult.disabled("a sample that fails on purpose; a test launches it");
        }
    }

    /** How the sample's test ended, and the detector's mode right after it. */
    record Outcome(TestExecutionResult.Status status, Throwable failure, Mode modeAfter) {
    }

    /** Runs a sample through the Jupiter engine in this JVM with the detector in {@code mode}, then restores the mode. */
    static Outcome run(Class<?> sample, Mode mode) {
        BlockingCallDetector detector = BlockingCallDetector.get();
        Mode before = detector.mode();
        detector.mode(mode);
        try {
            Events tests = EngineTestKit.engine("junit-jupiter").selectors(selectClass(sample))
                    .configurationParameter(LAUNCHED, "true").execute().testEvents();
            assertEquals(1, tests.started().count(), "tests of " + sample.getSimpleName() + " that ran");
            TestExecutionResult result = tests.finished().stream().findFirst().orElseThrow().getRequiredPayload(TestExecutionResult.class);
            return new Outcome(result.getStatus(), result.getThrowable().orElse(null), detector.mode());
        } finally {
            detector.mode(before);
        }
    }
}
