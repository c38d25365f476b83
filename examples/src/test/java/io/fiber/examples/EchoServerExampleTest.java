package io.fiber.examples;

import io.fiber.FiberScheduler;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The echo server on a scheduler of its own, with clients on JDK virtual threads: many at once get
 * exactly their bytes back, a transfer larger than the socket buffers makes the connection fiber
 * block on write as well as read, and stop() closes open connections and ends every server fiber.
 */
class EchoServerExampleTest {
    private static final Duration CLIENT_TIMEOUT = Duration.ofSeconds(10);

    private FiberScheduler scheduler;
    private EchoServerExample server;
    private int port;

    @BeforeEach
    void start() throws IOException {
        scheduler = FiberScheduler.builder().name("echo-test").carriers(2).build();
        server = new EchoServerExample(scheduler);
        port = server.start(0);
    }

    @AfterEach
    void stop() {
        server.stop();
        scheduler.close();
    }

    private Socket connect() throws IOException {
        Socket socket = new Socket(InetAddress.getLoopbackAddress(), port);
        socket.setSoTimeout((int) CLIENT_TIMEOUT.toMillis());
        return socket;
    }

    @Test
    void manyConcurrentClientsGetExactlyTheirBytesBack() throws Exception {
        int clients = 50;
        int messagesEach = 20;
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<Integer>> echoed = new ArrayList<>();
            for (int c = 0; c < clients; c++) {
                Random random = new Random(c);
                echoed.add(threads.submit(() -> {
                    int bytes = 0;
                    try (Socket socket = connect()) {
                        for (int m = 0; m < messagesEach; m++) {
                            byte[] message = new byte[1 + random.nextInt(8192)];
                            random.nextBytes(message);
                            socket.getOutputStream().write(message);
                            assertArrayEquals(message, socket.getInputStream().readNBytes(message.length));
                            bytes += message.length;
                        }
                    }
                    return bytes;
                }));
            }
            for (Future<Integer> f : echoed) {
                assertTrue(f.get() >= messagesEach);
            }
        }
    }

    @Test
    void transferLargerThanTheSocketBuffersComesBackWhole() throws Exception {
        byte[] data = new byte[8 << 20];
        new Random(42).nextBytes(data);
        try (Socket socket = connect(); ExecutorService writer = Executors.newVirtualThreadPerTaskExecutor()) {
            Future<?> written = writer.submit(() -> {
                socket.getOutputStream().write(data);
                socket.shutdownOutput();
                return null;
            });
            byte[] back = socket.getInputStream().readAllBytes();
            written.get();
            assertEquals(data.length, back.length);
            assertTrue(Arrays.equals(data, back), "the echoed bytes differ");
        }
    }

    @Test
    void stopClosesOpenConnectionsAndEndsEveryServerFiber() throws Exception {
        int clients = 10;
        List<Socket> sockets = new ArrayList<>();
        try {
            for (int c = 0; c < clients; c++) {
                Socket socket = connect();
                sockets.add(socket);
                socket.getOutputStream().write(c);
                assertEquals(c, socket.getInputStream().read(), "the connection's fiber is running");
            }
            server.stop();
            for (Socket socket : sockets) {
                InputStream in = socket.getInputStream();
                assertEquals(-1, readOrEndOnReset(in), "the server closed the connection");
            }
            assertThrows(ConnectException.class, this::connect, "the listener is closed");
            scheduler.shutdown();
            assertTrue(scheduler.awaitTermination(Duration.ofSeconds(5)), "every server fiber ended: " + scheduler.stats());
            assertEquals(1 + clients, scheduler.stats().fibersSpawned(), "one accept fiber, one fiber per connection");
            assertEquals(0, scheduler.stats().fibersAlive());
        } finally {
            for (Socket socket : sockets) {
                socket.close();
            }
        }
    }

    /** -1 at the end of the stream; a reset by the peer counts as the end too (a read timeout does not). */
    private static int readOrEndOnReset(InputStream in) throws IOException {
        try {
            return in.read();
        } catch (SocketException reset) {
            return -1;
        }
    }

    @Test
    void startTwiceIsRefusedAndStopIsIdempotent() throws IOException {
        assertThrows(IllegalStateException.class, () -> server.start(0));
        server.stop();
        server.stop();
        assertThrows(ConnectException.class, this::connect);
    }
}
