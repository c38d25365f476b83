package io.fiber.load;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;

/**
 * The harness's tests' peer on the loopback address: a platform thread per connection that reads
 * whole {@link EchoConnection#MESSAGE_SIZE}-byte messages and answers each as its {@link Behaviour}
 * says. Nothing of the fiber runtime: the harness is tested on its own.
 */
final class LoopbackEcho implements AutoCloseable {
    enum Behaviour {
        /** Sends every message back as it came. */
        FAITHFUL,
        /** Sends every message back with its last byte changed. */
        CORRUPTING,
        /** Echoes the first message of each connection, then reads and never answers again. */
        FALLS_SILENT
    }

    private final ServerSocket listener;
    private final Behaviour behaviour;

    LoopbackEcho(Behaviour behaviour) throws IOException {
        this.behaviour = behaviour;
        listener = new ServerSocket(0, 100, InetAddress.getLoopbackAddress());
        Thread.ofPlatform().daemon().name("loopback-echo-accept").start(this::acceptUntilClosed);
    }

    InetSocketAddress address() {
        return new InetSocketAddress(listener.getInetAddress(), listener.getLocalPort());
    }

    private void acceptUntilClosed() {
        while (true) {
            Socket connection;
            try {
                connection = listener.accept();
            } catch (IOException closed) {
                return;
            }
            Thread.ofPlatform().daemon().start(() -> answer(connection));
        }
    }

    private void answer(Socket connection) {
        try (connection) {
            InputStream in = connection.getInputStream();
            OutputStream out = connection.getOutputStream();
            byte[] message = new byte[EchoConnection.MESSAGE_SIZE];
            for (long n = 1; in.readNBytes(message, 0, message.length) == message.length; n++) {
                switch (behaviour) {
                    case FAITHFUL -> out.write(message);
                    case CORRUPTING -> {
                        message[message.length - 1] ^= 1;
                        out.write(message);
                    }
                    case FALLS_SILENT -> {
                        if (n == 1) {
                            out.write(message);
                        }
                    }
                }
            }
        } catch (IOException e) {
            // The client reset the connection: it is over.
        }
    }

    @Override
    public void close() throws IOException {
        listener.close();
    }
}
