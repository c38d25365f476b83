package io.fiber.agent.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.UnknownHostException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;

/**
 * Real connected sockets on 127.0.0.1, made on the test's platform thread. The body gets one end
 * ({@code near}); the test plays the peer with the other ({@code far}).
 */
final class Loopback {
    static final InetAddress ADDRESS = ipv4Loopback();

    private Loopback() { }

    private static InetAddress ipv4Loopback() {
        try {
            return InetAddress.getByAddress("localhost", new byte[] {127, 0, 0, 1});
        } catch (UnknownHostException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A listening socket on an ephemeral port. */
    static ServerSocket listen(int backlog) throws IOException {
        return new ServerSocket(0, backlog, ADDRESS);
    }

    /** Two connected {@link Socket}s. */
    record Sockets(Socket near, Socket far) implements AutoCloseable {
        @Override
        public void close() throws IOException {
            try (far) {
                near.close();
            }
        }
    }

    /** Two connected {@link SocketChannel}s, in blocking mode. */
    record Channels(SocketChannel near, SocketChannel far) implements AutoCloseable {
        @Override
        public void close() throws IOException {
            try (far) {
                near.close();
            }
        }
    }

    static Sockets sockets() throws IOException {
        try (ServerSocket server = listen(1)) {
            Socket near = new Socket(ADDRESS, server.getLocalPort());
            return new Sockets(near, server.accept());
        }
    }

    static Channels channels() throws IOException {
        try (ServerSocketChannel server = ServerSocketChannel.open().bind(new InetSocketAddress(ADDRESS, 0), 1)) {
            SocketChannel near = SocketChannel.open(server.getLocalAddress());
            return new Channels(near, server.accept());
        }
    }
}
