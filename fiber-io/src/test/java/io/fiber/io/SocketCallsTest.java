package io.fiber.io;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.StandardSocketOptions;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link SocketCalls} on real loopback sockets: each result and exception is the one the JDK's
 * {@code NioSocketImpl.tryRead} and {@code tryWrite} give in the same situation ({@code IOStatus}
 * codes, the JDK's {@code ConnectionResetException} for a read of a reset connection, the C
 * library's text for other errors, checked against what a plain {@link Socket} throws).
 */
class SocketCallsTest {
    private SocketChannel near;
    private SocketChannel far;

    @BeforeEach
    void connect() throws IOException {
        try (ServerSocketChannel listener = ServerSocketChannel.open()) {
            listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            near = SocketChannel.open(listener.getLocalAddress());
            far = listener.accept();
        }
    }

    @AfterEach
    void close() throws IOException {
        near.close();
        far.close();
    }

    private static int fd(SocketChannel channel) throws ReflectiveOperationException {
        return (int) Class.forName("sun.nio.ch.SelChImpl").getMethod("getFDVal").invoke(channel);
    }

    @Test
    void theCallsAreLinked() {
        assertNull(SocketCalls.unavailableBecause(), "the reactor would leave reads and writes to the JDK");
    }

    @Test
    void slicesGoOutAndComeInPlace() throws Exception {
        byte[] sent = new byte[100];
        for (int i = 0; i < sent.length; i++) {
            sent[i] = (byte) (i * 7 + 1);
        }
        assertEquals(40, SocketCalls.write(fd(near), sent, 10, 40));
        byte[] got = new byte[64];
        Arrays.fill(got, (byte) -1);
        int n = 0;
        while (n < 40) {
            int r = SocketCalls.read(fd(far), got, 12 + n, 40 - n);
            if (r == SocketCalls.UNAVAILABLE) {
                Thread.sleep(1);
                continue;
            }
            assertTrue(r > 0, "read " + r);
            n += r;
        }
        assertArrayEquals(Arrays.copyOfRange(sent, 10, 50), Arrays.copyOfRange(got, 12, 52));
        assertEquals(-1, got[11]);
        assertEquals(-1, got[52]);
    }

    @Test
    void nothingToReadIsUnavailableEvenOnABlockingSocket() throws Exception {
        assertTrue(far.isBlocking());
        assertEquals(SocketCalls.UNAVAILABLE, SocketCalls.read(fd(far), new byte[16], 0, 16));
    }

    @Test
    void thePeersCloseIsEndOfStream() throws Exception {
        near.close();
        assertEquals(SocketCalls.EOF, SocketCalls.read(fd(far), new byte[16], 0, 16));
    }

    @Test
    void aFullSendBufferTakesPartOfAWriteThenNothing() throws Exception {
        far.setOption(StandardSocketOptions.SO_RCVBUF, 4096);
        byte[] big = new byte[1 << 20];
        int total = 0;
        int n;
        while ((n = SocketCalls.write(fd(near), big, 0, big.length)) > 0) {
            total += n;
        }
        assertEquals(SocketCalls.UNAVAILABLE, n, "once full, nothing fits");
        assertTrue(total > 0);
    }

    /** The JDK's native read throws sun.net.ConnectionResetException, which NioSocketImpl remembers for the reads after. */
    @Test
    void aReadOfAResetConnectionThrowsTheJdksConnectionReset() throws Exception {
        near.setOption(StandardSocketOptions.SO_LINGER, 0);
        near.close();
        IOException e = assertThrows(IOException.class, () -> {
            for (long end = System.nanoTime() + 5_000_000_000L; System.nanoTime() < end; ) {
                SocketCalls.read(fd(far), new byte[16], 0, 16);
                Thread.sleep(1);
            }
        });
        assertEquals("sun.net.ConnectionResetException", e.getClass().getName());
        assertEquals("Connection reset", e.getMessage());
    }

    /** A write to a reset connection: the message is the C library's, as the JDK's; the same situation through a Socket says the same. */
    @Test
    void aWriteToAResetConnectionFailsWithTheCLibrarysText() throws Exception {
        far.setOption(StandardSocketOptions.SO_LINGER, 0);
        far.close();
        IOException e = assertThrows(IOException.class, () -> {
            for (int i = 0; i < 1_000; i++) {
                SocketCalls.write(fd(near), new byte[1_000], 0, 1_000);
                Thread.sleep(1);
            }
        });
        assertEquals(IOException.class, e.getClass());
        assertTrue(e.getMessage().equals(SocketCalls.describe(104)) || e.getMessage().equals(SocketCalls.describe(32)), e.getMessage());
        assertEquals("Connection reset by peer", SocketCalls.describe(104));
        assertEquals("Broken pipe", SocketCalls.describe(32));
    }
}
