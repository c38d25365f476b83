package io.fiber.load;

import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One client connection to an echo server, with one message in flight at a time: send
 * {@value #MESSAGE_SIZE} bytes, wait for all of them to come back, check that they are byte for byte
 * what was sent, send the next. Each message carries the connection's own pattern and a sequence
 * number, so a lost, reordered or mixed-up echo fails the round trip rather than counting as one.
 *
 * <p>Two ways to drive connections: {@link ClientLoop#blocking} on a connection (a thread in blocking
 * reads, the cheapest client for a single connection: no selector in the path), or
 * {@link #selectorLoops}, a few NIO selector threads sharing many connections, so that a load of
 * thousands of connections does not need a thread per connection.
 *
 * <p>{@link #close} resets the connection ({@code SO_LINGER 0}), so a run leaves no sockets in
 * {@code TIME_WAIT} behind.
 */
public final class EchoConnection implements BlockingClient {
    /** The size of every message, both ways. */
    public static final int MESSAGE_SIZE = 64;

    private final int id;
    private final SocketChannel channel;
    private final byte[] messageBytes = new byte[MESSAGE_SIZE];
    private final byte[] echoBytes = new byte[MESSAGE_SIZE];
    private final ByteBuffer message = ByteBuffer.wrap(messageBytes);
    private final ByteBuffer echo = ByteBuffer.wrap(echoBytes);
    private long sequence;
    private long sentAt;

    private EchoConnection(int id, SocketChannel channel) {
        this.id = id;
        this.channel = channel;
        for (int i = Long.BYTES; i < messageBytes.length; i++) {
            messageBytes[i] = (byte) (id * 31 + i);
        }
    }

    /** Connects to {@code server}, in blocking mode, with {@code TCP_NODELAY}; {@code id} names it in failures and picks its pattern. */
    public static EchoConnection open(InetSocketAddress server, int id) throws IOException {
        SocketChannel channel = SocketChannel.open(server);
        try {
            channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
        return new EchoConnection(id, channel);
    }

    /** A blocking round trip: send, read until the whole echo is in, check it. */
    @Override
    public void roundTrip() throws IOException {
        send();
        boolean complete;
        do {
            complete = receive();
        } while (!complete);
        verifyEcho();
    }

    /** Resets the connection; an error on the way is of no use to anyone, so it is dropped. */
    @Override
    public void close() {
        try {
            if (channel.isOpen()) {
                channel.setOption(StandardSocketOptions.SO_LINGER, 0);
                channel.close();
            }
        } catch (IOException e) {
            // Closing anyway; nothing more to do for this socket.
        }
    }

    /**
     * Up to {@code threads} selector loops that share {@code connections} between them, each
     * connection in one loop; the connections must not be used otherwise while the loops run.
     */
    public static List<ClientLoop> selectorLoops(List<EchoConnection> connections, int threads) {
        int loopCount = Math.min(threads, connections.size());
        List<List<EchoConnection>> shares = new ArrayList<>();
        for (int i = 0; i < loopCount; i++) {
            shares.add(new ArrayList<>());
        }
        for (int i = 0; i < connections.size(); i++) {
            shares.get(i % loopCount).add(connections.get(i));
        }
        List<ClientLoop> loops = new ArrayList<>();
        for (List<EchoConnection> share : shares) {
            loops.add(new SelectorLoop(share));
        }
        return loops;
    }

    /**
     * Sends the next message. One message is in flight per connection and the last one was echoed
     * in full, so the socket's send buffer has room and the write loop never spins in practice.
     */
    private void send() throws IOException {
        message.clear();
        message.putLong(0, ++sequence);
        sentAt = System.nanoTime();
        while (message.hasRemaining()) {
            channel.write(message);
        }
    }

    /** Reads what the socket has; true once the whole echo is in. Blocks only on a blocking channel. */
    private boolean receive() throws IOException {
        if (channel.read(echo) < 0) {
            throw new EOFException("connection " + id + ": the server closed it");
        }
        return !echo.hasRemaining();
    }

    /** Checks the complete echo against the message and returns the round trip's latency in ns. */
    private long verifyEcho() throws IOException {
        long latency = System.nanoTime() - sentAt;
        if (!Arrays.equals(messageBytes, echoBytes)) {
            throw new IOException("connection " + id + ": the echo of message " + sequence + " differs from what was sent");
        }
        echo.clear();
        return latency;
    }

    /** Many connections on one NIO selector: a read-ready connection completes its round trip and sends the next message. */
    private static final class SelectorLoop extends ClientLoop {
        /** How often a loop with nothing to read looks whether the run has stopped. */
        private static final long SELECT_TIMEOUT_MS = 100;
        private final List<EchoConnection> connections;

        SelectorLoop(List<EchoConnection> connections) {
            this.connections = connections;
        }

        @Override
        protected void exchangeUntilStopped() throws IOException {
            try (Selector selector = Selector.open()) {
                for (EchoConnection c : connections) {
                    c.channel.configureBlocking(false);
                    c.channel.register(selector, SelectionKey.OP_READ, c);
                }
                for (EchoConnection c : connections) {
                    c.send();
                }
                while (!stopped()) {
                    selector.select(this::onReadable, SELECT_TIMEOUT_MS);
                }
            }
        }

        private void onReadable(SelectionKey key) {
            EchoConnection c = (EchoConnection) key.attachment();
            try {
                if (c.receive()) {
                    completed(c.verifyEcho());
                    c.send();
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        @Override
        protected void abort() {
            connections.forEach(EchoConnection::close);
        }
    }
}
