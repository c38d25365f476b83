package io.fiber.compat.postgres;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The real PostgreSQL server the JDBC integration tests share: one throwaway cluster per test JVM,
 * created and started by {@code tools/throwaway-postgres.sh} on first use, stopped and deleted when the
 * JVM exits (a shutdown hook, and the script's own watcher of this JVM's pid if the JVM is killed).
 *
 * <p>When PostgreSQL is not installed, a test that asks for the server is skipped with a message that
 * names the fix, except under {@code FIBER_REQUIRE_POSTGRES=1} (set by {@code .ci/run}), where it fails:
 * CI must never pass by skipping the database tests. Any other failure to start fails the test.
 *
 * <p>The script runs on the calling (platform) thread, never in a fiber: starting, crashing and resuming
 * the server is the test's doing, not the workload's.
 */
final class ThrowawayPostgres {
    private static final int NOT_INSTALLED = 3;
    private static final Pattern READY = Pattern.compile("postgres ready port=(\\d+) user=(\\S+) database=(\\S+) version=(\\S+)");

    private static ThrowawayPostgres shared;
    private static String unavailable;

    private final Path script;
    private final Path state;
    private final int port;
    private final String user;
    private final String database;
    private final String version;

    private ThrowawayPostgres(Path script, Path state, Matcher ready) {
        this.script = script;
        this.state = state;
        this.port = Integer.parseInt(ready.group(1));
        this.user = ready.group(2);
        this.database = ready.group(3);
        this.version = ready.group(4);
    }

    /**
     * The running server, started on the first call. Skips the calling test when PostgreSQL is not
     * installed and CI does not require it.
     */
    static synchronized ThrowawayPostgres get() {
        if (shared == null && unavailable == null) {
            start();
        }
        if (shared == null) {
            Assumptions.abort(unavailable);
        }
        return shared;
    }

    private static void start() {
        Path script = Path.of(requiredProperty("fiber.postgres.script"));
        Path state = Path.of(requiredProperty("fiber.postgres.state"));
        Result started = run(script, "start", state.toString(), Long.toString(ProcessHandle.current().pid()));
        if (started.exitCode == NOT_INSTALLED && !"1".equals(System.getenv("FIBER_REQUIRE_POSTGRES"))) {
            unavailable = "PostgreSQL is not installed, so the JDBC tests are skipped. " + started.output.strip()
                    + " (Set FIBER_REQUIRE_POSTGRES=1 to make this a failure, as CI does.)";
            System.err.println(unavailable);
            return;
        }
        Matcher ready = READY.matcher(started.output);
        if (started.exitCode != 0 || !ready.find()) {
            throw new IllegalStateException("could not start the throwaway PostgreSQL server (" + script + " start, exit "
                    + started.exitCode + "):\n" + started.output);
        }
        shared = new ThrowawayPostgres(script, state, ready);
        Runtime.getRuntime().addShutdownHook(new Thread(shared::stop, "throwaway-postgres-stop"));
        System.out.printf("throwaway PostgreSQL %s on 127.0.0.1:%d (state in %s)%n", shared.version, shared.port, state);
    }

    /** A JDBC URL of this server's database, user and port. */
    String url() {
        return url(database);
    }

    /** A JDBC URL of another database of this server. */
    String url(String databaseName) {
        return "jdbc:postgresql://127.0.0.1:" + port + "/" + databaseName + "?user=" + user;
    }

    int port() {
        return port;
    }

    /** Stops the server at once ({@code pg_ctl stop -m immediate}): what a crash or a killed host looks like to clients. */
    void crash() {
        check(run(script, "crash", state.toString()), "crash");
    }

    /** Starts the crashed server again, on the same port and data. */
    void resume() {
        check(run(script, "resume", state.toString()), "resume");
    }

    private void stop() {
        run(script, "stop", state.toString());
    }

    private static void check(Result result, String command) {
        if (result.exitCode != 0) {
            throw new IllegalStateException("throwaway-postgres.sh " + command + " failed (exit " + result.exitCode + "):\n" + result.output);
        }
    }

    private record Result(int exitCode, String output) {
    }

    private static Result run(Path script, String... args) {
        List<String> command = new ArrayList<>();
        command.add("bash");
        command.add(script.toString());
        command.addAll(List.of(args));
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!process.waitFor(120, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                return new Result(-1, output + "\n(no exit within 120 s)");
            }
            return new Result(process.exitValue(), output);
        } catch (IOException e) {
            return new Result(-1, "could not run " + command + ": " + e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(-1, "interrupted while running " + command);
        }
    }

    private static String requiredProperty(String name) {
        String value = System.getProperty(name);
        if (value == null) {
            throw new IllegalStateException("system property " + name + " is not set; run the JDBC tests through Maven (./run test), "
                    + "whose failsafe configuration in fiber-compat/pom.xml sets it");
        }
        return value;
    }
}
