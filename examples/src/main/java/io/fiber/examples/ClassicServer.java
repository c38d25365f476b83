package io.fiber.examples;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * A server written the classic way, as tutorials and older code bases write it, and unaware of
 * fibers (it references no class of the runtime): an accept loop that starts a {@code new Thread} per
 * connection, whose handler greets the client ({@code ready}, as SMTP and FTP servers do), reads a
 * line, takes {@value #HANDLER_MILLIS} ms over it (as if it waited for a downstream service) and
 * answers it. Without the agent each connection holds an OS thread;
 * under the agent with {@code threads=fibers} the same code runs each handler as a fiber.
 *
 * <p>Prints {@code port N} once it listens, and stops when its standard input ends.
 */
public final class ClassicServer {
    static final int HANDLER_MILLIS = 100;
    /** The accept queue: a burst of connections must not be refused while the acceptor starts threads. */
    private static final int BACKLOG = 4096;

    private ClassicServer() { }

    public static void main(String[] args) throws IOException {
        ServerSocket server = new ServerSocket(0, BACKLOG, InetAddress.getLoopbackAddress());
        Thread acceptor = new Thread(() -> {
            while (true) {
                Socket socket;
                try {
                    socket = server.accept();
                } catch (IOException e) {
                    return; // closed: the server is stopping
                }
                new Thread(() -> handle(socket)).start();
            }
        });
        acceptor.start();
        System.out.println("port " + server.getLocalPort());
        System.out.flush();
        while (System.in.read() >= 0) {
            // runs until standard input ends
        }
        server.close();
        System.exit(0);
    }

    private static void handle(Socket socket) {
        try (socket;
             BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
             PrintWriter out = new PrintWriter(socket.getOutputStream(), true, StandardCharsets.UTF_8)) {
            out.println("ready");
            String line = in.readLine();
            Thread.sleep(HANDLER_MILLIS);
            out.println("echo " + line);
        } catch (IOException e) {
            // the client went away
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
