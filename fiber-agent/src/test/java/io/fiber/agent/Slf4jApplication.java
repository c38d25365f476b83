package io.fiber.agent;

import io.fiber.Fibers;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Run by {@link ApplicationSlf4jIT} under the agent, with the application's own SLF4J on its class
 * path: logs through it, then makes a fiber read a file, which the detector reports through the same
 * SLF4J.
 */
public final class Slf4jApplication {
    private Slf4jApplication() { }

    public static void main(String[] args) throws Exception {
        org.slf4j.LoggerFactory.getLogger("application").info("the application's own log line");
        Path file = Files.createTempFile("slf4j-app", ".txt");
        Files.writeString(file, "read by a fiber");
        System.out.println(Fibers.spawn(() -> Files.readString(file)).get());
        Files.delete(file);
    }
}
