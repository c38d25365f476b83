package io.fiber;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The issue's requirement: {@code jcmd <pid> Thread.dump_to_file} lists live fibers with their
 * stacks. Fibers park inside a distinctively named method; jcmd (a separate process, attaching to
 * this JVM the ordinary way) dumps this JVM's threads in JSON and plain text, and each fiber must be
 * there under its thread id, as a virtual thread, with that method on its stack.
 *
 * <p>Why they are listed: a fiber is a virtual thread started with {@code Thread.start()}, which
 * puts it in the JDK's root thread container; the dump walks the containers. The root container
 * tracks every virtual thread unless {@code -Djdk.trackAllThreads=false} (JDK 25:
 * {@code jdk.internal.vm.ThreadContainers}; unset or empty means true).
 */
class ThreadDumpTest {
    private static final int FIBERS = 3;
    private static final String FRAME = "io.fiber.ThreadDumpTest.parkedInDistinctiveMethodForDump(";

    private static volatile boolean released;

    /** The frame the dump must show; parks until the test releases it (loops on spurious wakeups). */
    private static void parkedInDistinctiveMethodForDump() {
        while (!released) {
            LockSupport.park();
        }
    }

    @Test
    void jcmdThreadDumpListsLiveFibersWithTheirStacks(@TempDir Path dir) throws Exception {
        released = false;
        try (FiberScheduler s = FiberScheduler.builder().carriers(2).name("dump").build()) {
            assertTrue(s.usesOwnCarriers(), "surefire passes --add-opens");
            List<Fiber<Void>> fibers = new ArrayList<>();
            for (int i = 0; i < FIBERS; i++) {
                fibers.add(s.spawn("dump-fiber-" + i, () -> {
                    parkedInDistinctiveMethodForDump();
                    return null;
                }));
            }
            try {
                for (Fiber<Void> f : fibers) {
                    awaitParkedInFrame(f.thread());
                }
                String json = dump(dir.resolve("threads.json"), "json");
                String text = dump(dir.resolve("threads.txt"), "plain");
                for (Fiber<Void> f : fibers) {
                    long tid = f.thread().threadId();
                    String entry = jsonEntry(json, tid);
                    assertTrue(entry.contains("\"virtual\": true"), "listed as virtual: " + entry);
                    assertTrue(entry.contains("\"name\": \"" + f.name() + "\""), "listed with its name: " + entry);
                    assertTrue(entry.contains(FRAME), "its stack has the parking frame: " + entry);

                    String section = textSection(text, tid);
                    assertTrue(section.startsWith("#" + tid + " \"" + f.name() + "\" virtual WAITING"), section);
                    assertTrue(section.contains(FRAME), "its stack has the parking frame: " + section);
                }
            } finally {
                released = true;
                for (Fiber<Void> f : fibers) {
                    LockSupport.unpark(f.thread());
                }
                for (Fiber<Void> f : fibers) {
                    if (!f.join(java.time.Duration.ofSeconds(10))) {
                        s.shutdownNow();
                        fail(f + " did not end after it was released");
                    }
                }
            }
        }
    }

    /** Runs {@code jcmd <our pid> Thread.dump_to_file -format=<format> <file>} and returns the file. */
    private static String dump(Path file, String format) throws Exception {
        String jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd").toString();
        Path log = file.resolveSibling(file.getFileName() + ".jcmd.log");
        Process p = new ProcessBuilder(jcmd, Long.toString(ProcessHandle.current().pid()),
                "Thread.dump_to_file", "-format=" + format, file.toString())
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        try {
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                fail("jcmd did not finish within 60 s: " + Files.readString(log));
            }
        } finally {
            if (p.isAlive()) {
                p.destroyForcibly();
            }
        }
        String output = Files.readString(log);
        assertEquals(0, p.exitValue(), "jcmd exit code; its output:\n" + output);
        assertTrue(output.contains("Created " + file), "jcmd output:\n" + output);
        String dump = Files.readString(file);
        String track = System.getProperty("jdk.trackAllThreads");
        assertTrue(dump.contains(FRAME), "no fiber in the " + format + " dump (jdk.trackAllThreads="
                + track + "; false hides virtual threads started directly):\n" + dump);
        return dump;
    }

    /** The JSON object of thread {@code tid}: from its "tid" to the next thread's. */
    private static String jsonEntry(String json, long tid) {
        Matcher m = Pattern.compile("\"tid\":\\s*\"?" + tid + "\"?[,\\s]").matcher(json);
        assertTrue(m.find(), "thread " + tid + " missing from the JSON dump:\n" + json);
        int next = json.indexOf("\"tid\":", m.end());
        return json.substring(m.start(), next < 0 ? json.length() : next);
    }

    /** The plain-text section of thread {@code tid}: its "#tid" header line up to the blank line. */
    private static String textSection(String text, long tid) {
        Matcher m = Pattern.compile("(?m)^#" + tid + " ").matcher(text);
        assertTrue(m.find(), "thread " + tid + " missing from the text dump:\n" + text);
        int end = text.indexOf("\n\n", m.start());
        return text.substring(m.start(), end < 0 ? text.length() : end);
    }

    /** Waits until {@code t} is parked inside the distinctive method (not merely on its way there). */
    private static void awaitParkedInFrame(Thread t) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!(t.getState() == Thread.State.WAITING && stackHasFrame(t))) {
            if (System.nanoTime() - deadline > 0) {
                fail(t + " did not park in parkedInDistinctiveMethodForDump: " + t.getState());
            }
            LockSupport.parkNanos(1_000_000);
        }
    }

    private static boolean stackHasFrame(Thread t) {
        for (StackTraceElement e : t.getStackTrace()) {
            if (e.getMethodName().equals("parkedInDistinctiveMethodForDump")) {
                return true;
            }
        }
        return false;
    }
}
