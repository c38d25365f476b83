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
    /** The calls' errno goes here: one test thread, as one carrier thread's own array in the runtime. */
    private static final int[] ERRNO = new int[1];
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
        assertEquals(40, SocketCalls.write(fd(near), sent, 10, 40, ERRNO));
        byte[] got = new byte[64];
        Arrays.fill(got, (byte) -1);
        int n = 0;
        while (n < 40) {
            int r = SocketCalls.read(fd(far), got, 12 + n, 40 - n, ERRNO);
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
        assertEquals(SocketCalls.UNAVAILABLE, SocketCalls.read(fd(far), new byte[16], 0, 16, ERRNO));
    }

    /**
     * A read allocates nothing once compiled: the segments over the arrays are scalar-replaced, and
     * errno goes to the caller's array (an array per call, passed to native code, escapes: 24 bytes
     * per read and per write).
     */
    @Test
    void aCompiledReadAllocatesNothing() throws Exception {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        int fd = fd(far);
        byte[] into = new byte[64];
        for (int i = 0; i < 30; i++) {
            readsFindingNothing(fd, into, 10_000);
        }
        // Measured in rounds until one allocates nothing: C2 compiles in the background, and on a
        // loaded machine the first rounds may still run code compiled without escape analysis. A
        // read that allocates (an errno array per call) never gets there.
        double perCall = Double.MAX_VALUE;
        for (int round = 0; round < 30 && perCall >= 8; round++) {
            long before = threads.getCurrentThreadAllocatedBytes();
            int calls = 100_000;
            readsFindingNothing(fd, into, calls);
            perCall = (threads.getCurrentThreadAllocatedBytes() - before) / (double) calls;
        }
        assertTrue(perCall < 8, perCall + " bytes allocated per read, in the last of 30 rounds of 100,000");
    }

    /**
     * {@code calls} reads of {@code fd}, which has nothing to read (EAGAIN, the cheapest call): a
     * method of its own, compiled as a caller's loop is. The module runs this class with -Xbatch
     * (pom.xml), so the compilations that decide whether the heap segments are scalar-replaced happen
     * at the same points every run.
     */
    private static void readsFindingNothing(int fd, byte[] into, int calls) throws IOException {
        for (int i = 0; i < calls; i++) {
            SocketCalls.read(fd, into, 8, 32, ERRNO);
        }
    }

    @Test
    void thePeersCloseIsEndOfStream() throws Exception {
        near.close();
        assertEquals(SocketCalls.EOF, SocketCalls.read(fd(far), new byte[16], 0, 16, ERRNO));
    }

    @Test
    void aFullSendBufferTakesPartOfAWriteThenNothing() throws Exception {
        far.setOption(StandardSocketOptions.SO_RCVBUF, 4096);
        byte[] big = new byte[1 << 20];
        int total = 0;
        int n;
        while ((n = SocketCalls.write(fd(near), big, 0, big.length, ERRNO)) > 0) {
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
                SocketCalls.read(fd(far), new byte[16], 0, 16, ERRNO);
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
                SocketCalls.write(fd(near), new byte[1_000], 0, 1_000, ERRNO);
                Thread.sleep(1);
            }
        });
        assertEquals(IOException.class, e.getClass());
        assertTrue(e.getMessage().equals(SocketCalls.describe(104)) || e.getMessage().equals(SocketCalls.describe(32)), e.getMessage());
        assertEquals("Connection reset by peer", SocketCalls.describe(104));
        assertEquals("Broken pipe", SocketCalls.describe(32));
    }
}
