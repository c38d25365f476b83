package io.fiber.agent.io;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * UDP on loopback: a blocking {@link DatagramChannel#receive} in the body gets a packet another
 * thread sends, and ends with {@link AsynchronousCloseException} when another thread closes the
 * channel; a {@link DatagramSocket} receive with {@code SO_TIMEOUT} ends with
 * {@code SocketTimeoutException: Receive timed out} after about the timeout and the socket still
 * receives afterwards.
 */
class DatagramIT {
    private static final int TIMEOUT_MILLIS = 200;
    private static final byte[] PAYLOAD = "ping".getBytes(StandardCharsets.US_ASCII);

    private record Received(SocketAddress from, String text) { }

    @OnEachKind
    void channelReceiveGetsAPacketSentByAnotherThread(Kind kind) throws Exception {
        try (DatagramChannel receiver = DatagramChannel.open().bind(new InetSocketAddress(Loopback.ADDRESS, 0));
             DatagramChannel sender = DatagramChannel.open().bind(new InetSocketAddress(Loopback.ADDRESS, 0))) {
            Body<Received> body = Body.start(kind, () -> {
                ByteBuffer buffer = ByteBuffer.allocate(64);
                SocketAddress from = receiver.receive(buffer);
                return new Received(from, new String(buffer.array(), 0, buffer.position(), StandardCharsets.US_ASCII));
            }).awaitBlockedIn("DatagramChannelImpl.receive");
            long sent = System.nanoTime();
            sender.send(ByteBuffer.wrap(PAYLOAD), receiver.getLocalAddress());
            Outcome<Received> outcome = body.outcome();
            assertEquals(new Received(sender.getLocalAddress(), "ping"), outcome.value());
            outcome.assertEndedPromptlyAfter(sent);
        }
    }

    @OnEachKind
    void channelReceiveEndsWhenAnotherThreadClosesTheChannel(Kind kind) throws Exception {
        try (DatagramChannel receiver = DatagramChannel.open().bind(new InetSocketAddress(Loopback.ADDRESS, 0))) {
            Body<SocketAddress> body = Body.start(kind, () -> receiver.receive(ByteBuffer.allocate(64)))
                    .awaitBlockedIn("DatagramChannelImpl.receive");
            long closed = System.nanoTime();
            receiver.close();
            Outcome<SocketAddress> outcome = body.outcome();
            outcome.threw(AsynchronousCloseException.class, null);
            outcome.assertEndedPromptlyAfter(closed);
        }
    }

    @OnEachKind
    void socketReceiveTimesOutAndTheSocketStaysUsable(Kind kind) throws Exception {
        try (DatagramSocket receiver = new DatagramSocket(new InetSocketAddress(Loopback.ADDRESS, 0));
             DatagramSocket sender = new DatagramSocket(new InetSocketAddress(Loopback.ADDRESS, 0))) {
            receiver.setSoTimeout(TIMEOUT_MILLIS);
            DatagramPacket packet = new DatagramPacket(new byte[64], 64);
            Outcome<Void> timedOut = Body.run(kind, () -> {
                receiver.receive(packet);
                return null;
            });
            timedOut.threw(SocketTimeoutException.class, "Receive timed out");
            timedOut.assertTookAbout(TIMEOUT_MILLIS);
            assertFalse(receiver.isClosed());

            receiver.setSoTimeout(5_000);
            Body<Received> later = Body.start(kind, () -> {
                receiver.receive(packet);
                return new Received(packet.getSocketAddress(),
                        new String(packet.getData(), 0, packet.getLength(), StandardCharsets.US_ASCII));
            }).awaitBlockedIn("DatagramSocket.receive");
            sender.send(new DatagramPacket(PAYLOAD, PAYLOAD.length, receiver.getLocalSocketAddress()));
            assertEquals(new Received(sender.getLocalSocketAddress(), "ping"), later.outcome().value());
        }
    }
}
