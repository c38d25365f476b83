package io.fiber.benchmarks.echo;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The echo benchmark's C programs, resources next to this class, compiled with the machine's C
 * compiler the first time a run needs each: server (f), {@value #SERVER} (a plain C epoll echo server
 * on one thread, the reference ceiling for the JVM servers, measured in the same run as they are
 * rather than quoted), and the C load driver, {@value #DRIVER} ({@code --driver c}: the load of
 * {@link EchoLoadDriver} without its JVM's user-space work).
 */
final class CPrograms {
    static final String SERVER = "echo_epoll.c";
    static final String DRIVER = "echo_load.c";
    static final String SERVER_DESCRIPTION = SERVER + ", cc -O2, level-triggered epoll, one thread";
    static final String DRIVER_DESCRIPTION = DRIVER + ", cc -O2, level-triggered epoll, one thread";
    private static final Map<String, Path> BUILT = new HashMap<>();

    private CPrograms() { }

    /** The compiled {@code source}, built on first use; fails naming the compiler's output if it cannot be built. */
    static synchronized Path binary(String source, PrintStream log) throws IOException, InterruptedException {
        Path built = BUILT.get(source);
        if (built != null) {
            return built;
        }
        String name = source.substring(0, source.length() - ".c".length());
        Path dir = Files.createTempDirectory(name.replace('_', '-'));
        Path sourceFile = dir.resolve(source);
        Path out = dir.resolve(name);
        for (Path p : List.of(dir, sourceFile, out)) {
            p.toFile().deleteOnExit(); // deleted in reverse order: the files, then the folder
        }
        try (InputStream in = CPrograms.class.getResourceAsStream(source)) {
            if (in == null) {
                throw new IOException(source + " is missing from the class path (benchmarks/src/main/resources)");
            }
            Files.copy(in, sourceFile);
        }
        List<String> command = List.of("cc", "-O2", "-Wall", "-o", out.toString(), sourceFile.toString());
        Process cc;
        try {
            cc = new ProcessBuilder(command).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new IOException(source + " needs a C compiler: cc could not start (" + e.getMessage() + ")", e);
        }
        String output = new String(cc.getInputStream().readAllBytes());
        if (!cc.waitFor(60, TimeUnit.SECONDS) || cc.exitValue() != 0) {
            throw new IOException("cc could not build " + source + ": " + output.strip());
        }
        log.println("built " + name + ": " + String.join(" ", command));
        BUILT.put(source, out);
        return out;
    }
}
