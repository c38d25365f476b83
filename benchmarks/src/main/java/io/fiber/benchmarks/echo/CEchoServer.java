package io.fiber.benchmarks.echo;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Server (f) of the echo benchmark: {@code echo_epoll.c} (a resource next to this class), a plain C
 * epoll echo server on one thread, compiled with the machine's C compiler the first time a run needs
 * it. It is the reference ceiling for the JVM servers, measured in the same run as they are rather
 * than quoted.
 */
final class CEchoServer {
    static final String DESCRIPTION = "echo_epoll.c, cc -O2, level-triggered epoll, one thread";
    private static final String SOURCE = "echo_epoll.c";
    private static Path binary;

    private CEchoServer() { }

    /** The compiled server, built on first use; fails naming the compiler's output if it cannot be built. */
    static synchronized Path binary(PrintStream log) throws IOException, InterruptedException {
        if (binary != null) {
            return binary;
        }
        Path dir = Files.createTempDirectory("echo-epoll");
        Path source = dir.resolve(SOURCE);
        Path out = dir.resolve("echo_epoll");
        for (Path p : List.of(dir, source, out)) {
            p.toFile().deleteOnExit(); // deleted in reverse order: the files, then the folder
        }
        try (InputStream in = CEchoServer.class.getResourceAsStream(SOURCE)) {
            if (in == null) {
                throw new IOException(SOURCE + " is missing from the class path (benchmarks/src/main/resources)");
            }
            Files.copy(in, source);
        }
        List<String> command = List.of("cc", "-O2", "-Wall", "-o", out.toString(), source.toString());
        Process cc;
        try {
            cc = new ProcessBuilder(command).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new IOException("server (f) needs a C compiler: cc could not start (" + e.getMessage() + ")", e);
        }
        String output = new String(cc.getInputStream().readAllBytes());
        if (!cc.waitFor(60, TimeUnit.SECONDS) || cc.exitValue() != 0) {
            throw new IOException("cc could not build " + SOURCE + ": " + output.strip());
        }
        log.println("built server (f): " + String.join(" ", command));
        binary = out;
        return out;
    }
}
