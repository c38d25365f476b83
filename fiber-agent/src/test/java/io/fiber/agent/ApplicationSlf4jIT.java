package io.fiber.agent;

import org.junit.jupiter.api.Test;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The agent jar carries slf4j-api 2 unrelocated, on purpose: the runtime's messages belong in the
 * application's logging. An application that brings its own SLF4J, an older major version with its
 * binding, comes first on the class path (the agent jar is appended to it), and both its own log
 * lines and the runtime's go through its binding, with no SLF4J complaint and no linkage error.
 */
class ApplicationSlf4jIT {
    @Test
    void anApplicationWithSlf4j17AndItsBindingLogsTheRuntimesMessagesThroughIt() throws Exception {
        Path jars = Path.of(System.getProperty("fiber.test.application.slf4j"));
        List<String> classPath = new ArrayList<>();
        classPath.add(Path.of(Slf4jApplication.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString());
        try (var listing = Files.list(jars)) {
            listing.map(Path::toString).sorted().forEach(classPath::add);
        }
        assertEquals(3, classPath.size(), "slf4j-api and slf4j-simple 1.7: " + classPath);
        ChildJvm.Run r = ChildJvm.run(List.of(ChildJvm.agent("detector=report")), String.join(File.pathSeparator, classPath),
                Slf4jApplication.class, List.of(), 60);
        String o = r.out();
        String e = r.err();
        assertEquals(0, r.exit(), o + e);
        assertEquals("read by a fiber\n", o);
        // slf4j-simple 1.7's format: "[thread] LEVEL logger - message"
        assertTrue(e.contains("[main] INFO application - the application's own log line"), e);
        assertTrue(e.lines().anyMatch(l -> l.contains("WARN io.fiber.detector.BlockingCallDetector - Blocking call! sun.nio.fs.UnixNativeDispatcher.open (file I/O) in fiber")),
                "the detector's report went through the application's binding: " + e);
        assertFalse(e.contains("SLF4J:"), "no complaint from SLF4J: " + e);
        assertFalse(e.contains("Error"), e);
    }
}
