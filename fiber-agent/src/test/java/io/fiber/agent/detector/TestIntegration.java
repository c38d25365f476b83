package io.fiber.agent.detector;

import io.fiber.detector.BlockingCallDetector;
import io.fiber.detector.BlockingCallIntegration;

/** Registered in this module's test resources: what a library would ship for its own known blocking. */
public final class TestIntegration implements BlockingCallIntegration {
    @Override
    public void applyTo(BlockingCallDetector detector) {
        detector.allowBlockingInside(ModesAndApiIT.AllowedByIntegration.class.getName(), "read");
        // A native the agent's own table does not list, marked before its class loads.
        detector.markAsBlocking("org.sqlite.core.NativeDB", "prepare_utf8", "([B)J");
    }
}
