package io.fiber.benchmarks.runner;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.file.Path;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A child process of a benchmark runner (a server, a load driver) whose output the runner
 * waits on line by line, with a time limit, so a hung or crashed child fails its run instead of the
 * whole benchmark. Every line it prints (stdout and stderr, merged) is also copied to the runner's
 * log with the child's label, so warnings and errors stay in the raw output.
 */
public final class ChildProcess implements AutoCloseable {
    private static final Duration EXIT_GRACE = Duration.ofSeconds(10);

    private final String label;
    private final Process process;
    /** The child's lines; an empty value once its output ends. */
    private final BlockingQueue<Optional<String>> lines = new LinkedBlockingQueue<>();

    private ChildProcess(String label, Process process, PrintStream log) {
        this.label = label;
        this.process = process;
        Thread.ofPlatform().daemon().name("output-" + label).start(() -> copyLines(log));
    }

    public static ChildProcess start(String label, List<String> command, PrintStream log) throws IOException {
        log.println("  [" + label + "] $ " + portable(String.join(" ", command)));
        return new ChildProcess(label, new ProcessBuilder(command).redirectErrorStream(true).start(), log);
    }

    /**
     * {@code text} as a report shows it: the JDK's home as {@code $JAVA_HOME}, paths below the
     * working directory (the repository root) relative, so a saved report names no machine's folders.
     */
    public static String portable(String text) {
        String cwd = Path.of("").toAbsolutePath() + "/";
        return text.replace(cwd, "").replace(System.getProperty("java.home"), "$JAVA_HOME");
    }

    private void copyLines(PrintStream log) {
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(process.getInputStream()))) {
            for (String line; (line = reader.readLine()) != null; ) {
                log.println("  [" + label + "] " + line);
                lines.add(Optional.of(line));
            }
        } catch (IOException e) {
            log.println("  [" + label + "] output unreadable: " + e);
        } finally {
            lines.add(Optional.empty());
        }
    }

    public long pid() {
        return process.pid();
    }

    /**
     * Waits for the next line that starts with {@code word} and returns it; earlier lines are skipped.
     *
     * @throws IOException if the child's output ends first, or the time limit passes
     */
    public String awaitLine(String word, Duration limit) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (true) {
            Optional<String> line = lines.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
            if (line == null) {
                throw new IOException(label + ": no '" + word + "' line within " + limit.toSeconds() + " s");
            }
            if (line.isEmpty()) {
                lines.add(line);   // keep the end-of-output mark for any later wait
                throw new IOException(label + ": exited (" + exitCode() + ") before printing '" + word + "'");
            }
            if (line.get().startsWith(word)) {
                return line.get();
            }
        }
    }

    private String exitCode() throws InterruptedException {
        return process.waitFor(EXIT_GRACE.toSeconds(), TimeUnit.SECONDS) ? "status " + process.exitValue() : "still running";
    }

    /** Closes the child's standard input: the servers and the holding driver take it as the signal to finish. */
    public void closeStdin() throws IOException {
        process.getOutputStream().close();
    }

    /**
     * Closes stdin and waits for the exit; then SIGTERM, then SIGKILL, each after a grace period.
     * Interrupted, it kills the child at once and keeps the interrupt for the caller.
     */
    @Override
    public void close() {
        try {
            closeStdin();
        } catch (IOException e) {
            // The child is gone already: nothing to tell it.
        }
        try {
            if (!process.waitFor(EXIT_GRACE.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroy();
                if (!process.waitFor(EXIT_GRACE.toMillis(), TimeUnit.MILLISECONDS)) {
                    process.destroyForcibly().waitFor();
                }
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
