package io.fiber.examples;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.StandardSocketOptions;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The downstream service of {@link VirtualThreadServersAtScaleTest}'s servers, in a process of its
 * own: it reads one line from each connection, waits 100 ms, answers {@code delayed LINE in-flight K}
 * and closes the connection. K is how many requests were waiting here at once when this one came in,
 * so the client can tell how many of the servers' downstream calls overlapped. A virtual thread per
 * connection, plain JDK code; it runs without the agent, as it is not what the test examines.
 *
 * <p>Argument: the listen backlog. Prints {@code port N} when it listens; exits when its standard input ends.
 */
public final class DelayServer {
    static final long DELAY_MILLIS = 100;
    private static final int LISTENERS = 4;

    private DelayServer() { }

    public static void main(String[] args) throws Exception {
        int backlog = Integer.parseInt(args[0]);
        AtomicInteger inFlight = new AtomicInteger();
        // Several listeners on one port (SO_REUSEPORT; the kernel spreads connections over them), each
        // with its own accept queue and thread: the kernel caps one queue at net.core.somaxconn (often
        // 4,096), and a connection that finds its queue full waits a second to retry, a delay that
        // belongs to no server under test.
        int port = 0;
        for (int i = 0; i < LISTENERS; i++) {
            ServerSocket listener = new ServerSocket();
            listener.setOption(StandardSocketOptions.SO_REUSEPORT, true);
            listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), backlog);
            port = listener.getLocalPort();
            Thread.ofPlatform().name("delay-accept-" + i).daemon().start(() -> {
                while (true) {
                    Socket socket;
                    try {
                        socket = listener.accept();
                    } catch (IOException closed) {
                        return;
                    }
                    Thread.ofVirtual().start(() -> delay(socket, inFlight));
                }
            });
        }
        System.out.println("port " + port);
        System.out.flush();
        System.in.transferTo(OutputStream.nullOutputStream());
        System.exit(0);
    }

    private static void delay(Socket socket, AtomicInteger inFlight) {
        try (socket) {
            String line = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII)).readLine();
            int atOnce = inFlight.incrementAndGet();
            try {
                Thread.sleep(DELAY_MILLIS);
            } finally {
                inFlight.decrementAndGet();
            }
            socket.getOutputStream().write(("delayed " + line + " in-flight " + atOnce + "\n").getBytes(StandardCharsets.US_ASCII));
        } catch (IOException | InterruptedException e) {
            System.err.println("delay connection failed: " + e);
        }
    }
}
