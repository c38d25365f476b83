package io.fiber.detector;

/**
 * A library's settings for the detector, found with {@link java.util.ServiceLoader} (register the
 * class in {@code META-INF/services/io.fiber.detector.BlockingCallIntegration}) when the detector
 * starts: allowances for its known harmless blocking, methods to mark as blocking, threads to watch.
 * Applied in ascending {@link #priority()}, ties in class path order.
 */
public interface BlockingCallIntegration {
    void applyTo(BlockingCallDetector detector);

    default int priority() {
        return 0;
    }
}
