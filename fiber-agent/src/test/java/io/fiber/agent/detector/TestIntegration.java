package io.fiber.agent.detector;

import io.fiber.detector.BlockingCallDetector;
import io.fiber.detector.BlockingCallIntegration;

/** Registered in this module's test resources: what a library would ship for its own known blocking. */
public final class TestIntegration implements BlockingCallIntegration {
    @Override
    public void applyTo(BlockingCallDetector detector) {
        detector.allowBlockingInside(ModesAndApiIT.AllowedByIntegration.class.getName(), "read");
    }
}
