package io.fiber.agent.io;

import io.fiber.CarrierStats;
import io.fiber.Fiber;
import io.fiber.FiberScheduler;
import io.fiber.SchedulerStats;
import io.fiber.detector.BlockingCallDetector;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Where fibers' waits go, and what the reactor survives. With the agent, fibers' socket waits and
 * timed parks are served by their carrier's reactor and timers (the carrier statistics count them),
 * plain virtual threads are not; without it, everything stays on the JDK's pollers and timers and
 * behaves the same. Robustness: a fiber cancelled while registered, an fd number closed and reused,
 * a scheduler shut down with fibers parked in its reactors, a child virtual thread whose timer
 * outlives the scheduler, and a churn of thousands of connections with no fd leak.
 */
class ReactorRoutingIT {
    private static final boolean AGENT = Boolean.getBoolean("fiber.test.agent");
    private FiberScheduler scheduler;
    private ServerSocket echo;
    private Thread acceptor;

    @BeforeEach
    void start() throws IOException {
        scheduler = FiberScheduler.builder().carriers(2).name("routing").build();
        assertTrue(scheduler.usesOwnCarriers());
        echo = new ServerSocket(0, 1000, InetAddress.getLoopbackAddress());
        acceptor = Thread.ofPlatform().daemon().name("echo-acceptor").start(() -> {
            try {
                while (true) {
                    Socket s = echo.accept();
                    scheduler.spawn(() -> echoLoop(s));
                }
            } catch (IOException | java.util.concurrent.RejectedExecutionException closed) {
                // the test is over
            }
        });
    }

    @AfterEach
    void stop() throws Exception {
        echo.close();
        acceptor.join(10_000);
        scheduler.shutdownNow();
        assertTrue(scheduler.awaitTermination(Duration.ofSeconds(20)), "scheduler did not terminate: " + scheduler.stats());
    }

    private static void echoLoop(Socket s) {
        try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
            byte[] buf = new byte[256];
            for (int n; (n = in.read(buf)) > 0; ) {
                out.write(buf, 0, n);
            }
        } catch (IOException e) {
            // peer gone
        }
    }

    private Socket connect() throws IOException {
        Socket s = new Socket(InetAddress.getLoopbackAddress(), echo.getLocalPort());
        s.setTcpNoDelay(true);
        return s;
    }

    private void roundTrips(Socket s, int count) throws IOException {
        byte[] msg = new byte[64];
        for (int i = 0; i < count; i++) {
            msg[0] = (byte) i;
            s.getOutputStream().write(msg);
            byte[] back = s.getInputStream().readNBytes(64);
            assertEquals(64, back.length);
            assertEquals((byte) i, back[0]);
        }
    }

    /** The fiber's value; a fiber stuck for 30 s fails the test with its stack and the scheduler's statistics. */
    private static <T> T result(Fiber<T> fiber) throws Exception {
        if (!fiber.join(Duration.ofSeconds(30))) {
            StringBuilder stack = new StringBuilder();
            for (StackTraceElement e : fiber.thread().getStackTrace()) {
                stack.append("\n    at ").append(e);
            }
            fail(fiber + " did not finish in 30 s; its stack:" + stack + "\n" + fiber.scheduler().stats());
        }
        return fiber.get();
    }

    @Test
    void fibersSocketWaitsAndSleepsGoToTheirCarriersOnlyWithTheAgent() throws Exception {
        result(scheduler.spawn(() -> {
            try (Socket s = connect()) {
                roundTrips(s, 200);
            }
            Thread.sleep(5);
            return null;
        }));
        SchedulerStats stats = scheduler.stats();
        if (AGENT) {
            assertTrue(stats.ioWaits() >= 200, "client and server fibers wait in our reactors: " + stats);
            assertTrue(stats.skippedReads() >= 100,
                    "the echo fiber's reads come back short, so most reads after them are skipped (by the reactor's own"
                            + " reads, SocketCalls: none if they fell back to the JDK's): " + stats);
            assertTrue(stats.timers() >= 1, "the sleep fired on our carrier: " + stats);
        } else {
            assertEquals(0, stats.ioWaits(), "without the agent the JDK's pollers serve fibers: " + stats);
            assertEquals(0, stats.skippedReads(), stats.toString());
            assertEquals(0, stats.timers(), stats.toString());
        }
    }

    /**
     * Skipped reads ({@code EpollReactor}'s drained reads) lose nothing: 16 connections carry a
     * pseudo-random stream each way in chunks of 1 to 5,000 bytes, with pauses of every kind between
     * them, read back in sizes of 1 to 700 bytes (short reads and full ones, on both sides), half
     * with a read timeout, by fibers that move between two carriers. A missed wakeup shows as a read
     * timeout or a stuck fiber; a skipped read that had data, as data out of order.
     */
    @Test
    void streamsInChunksAndPausesOfEverySizeArriveWhole() throws Exception {
        int connections = 16;
        int bytesEach = 256 * 1024;
        List<Fiber<Long>> readers = new ArrayList<>();
        List<Fiber<Void>> writers = new ArrayList<>();
        List<Socket> sockets = new ArrayList<>();
        try {
            for (int c = 0; c < connections; c++) {
                Socket s = connect();
                sockets.add(s);
                if (c % 2 == 0) {
                    s.setSoTimeout(20_000);
                }
                long seed = c;
                writers.add(scheduler.spawn(() -> {
                    Random sizes = new Random(seed);
                    OutputStream out = s.getOutputStream();
                    for (int sent = 0; sent < bytesEach; ) {
                        byte[] chunk = new byte[Math.min(bytesEach - sent, 1 + sizes.nextInt(5000))];
                        for (int i = 0; i < chunk.length; i++) {
                            chunk[i] = streamByte(seed, sent + i);
                        }
                        out.write(chunk);
                        sent += chunk.length;
                        switch (sizes.nextInt(4)) {
                            case 0 -> Thread.sleep(1);
                            case 1 -> Thread.yield();
                            default -> { }
                        }
                    }
                    return null;
                }));
                readers.add(scheduler.spawn(() -> {
                    Random sizes = new Random(~seed);
                    InputStream in = s.getInputStream();
                    byte[] buf = new byte[700];
                    long received = 0;
                    while (received < bytesEach) {
                        int n = in.read(buf, 0, 1 + sizes.nextInt(buf.length));
                        assertTrue(n > 0, "EOF after " + received + " bytes");
                        for (int i = 0; i < n; i++, received++) {
                            assertEquals(streamByte(seed, received), buf[i], "byte " + received);
                        }
                        if (sizes.nextInt(8) == 0) {
                            Thread.sleep(1);
                        }
                    }
                    return received;
                }));
            }
            for (Fiber<Void> writer : writers) {
                result(writer);
            }
            for (Fiber<Long> reader : readers) {
                assertEquals(bytesEach, (long) result(reader));
            }
        } finally {
            for (Socket s : sockets) {
                s.close();
            }
        }
        if (AGENT) {
            assertTrue(scheduler.stats().skippedReads() > 0, "short reads were seen, so some reads were skipped: " + scheduler.stats());
        }
    }

    /** Byte {@code position} of connection {@code seed}'s stream: no period shorter than the stream. */
    private static byte streamByte(long seed, long position) {
        long x = (position + 1) * 0x9E3779B97F4A7C15L + seed;
        return (byte) (x ^ (x >>> 29) ^ (x >>> 47));
    }

    @Test
    void plainVirtualThreadsKeepTheJdksPollers() throws Exception {
        long before = scheduler.stats().ioWaits();
        Thread vt = Thread.ofVirtual().start(() -> {
            try (Socket s = connect()) {
                roundTrips(s, 50);
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
        assertTrue(vt.join(Duration.ofSeconds(30)));
        long after = scheduler.stats().ioWaits();
        assertTrue(after - before <= 50 + 2, "only the echo fiber's own waits are ours, not the virtual thread's: " + (after - before));
    }

    /**
     * Every idle connection's fiber keeps its stack on the heap while parked, so the runtime's frames
     * on it are few and small: with the agent, between the JDK's {@code Poller.poll} and the park only
     * the bridge's entry point, which parks (the registration has returned by then), and below the
     * task only the fiber's body.
     */
    @Test
    void aFiberParkedInAReadKeepsFewRuntimeFramesOnItsStack() throws Exception {
        CountDownLatch reading = new CountDownLatch(1);
        AtomicReference<Thread> thread = new AtomicReference<>();
        Fiber<Void> blocked = scheduler.spawn(() -> {
            thread.set(Thread.currentThread());
            try (Socket s = connect()) {
                reading.countDown();
                s.getInputStream().read(); // never answered
            }
            return null;
        });
        try {
            assertTrue(reading.await(10, TimeUnit.SECONDS));
            List<String> frames = List.of();
            for (int i = 0; i < 200 && !frames.contains("java.util.concurrent.locks.LockSupport.park"); i++) {
                Thread.sleep(10);
                frames = Arrays.stream(thread.get().getStackTrace()).map(f -> f.getClassName() + "." + f.getMethodName()).toList();
            }
            int park = frames.indexOf("java.util.concurrent.locks.LockSupport.park");
            int poll = frames.indexOf("sun.nio.ch.Poller.poll");
            assertTrue(park >= 0 && poll > park, "parked in Poller.poll: " + frames);
            if (AGENT) {
                assertEquals(List.of("io.fiber.internal.bridge.FiberBridge.atPoll"), frames.subList(park + 1, poll));
            }
            assertEquals(List.of("io.fiber.Fiber$Body.run"), frames.stream().filter(f -> f.startsWith("io.fiber.Fiber.") || f.startsWith("io.fiber.Fiber$")).toList(),
                    "below the task: " + frames);
        } finally {
            blocked.cancel();
            blocked.join(Duration.ofSeconds(10));
        }
    }

    /**
     * A fiber reading a socket that always has data never blocks, so only a yield request (honoured
     * at its next socket read, which the agent hooks) lets another fiber run on its only carrier
     * while handoff is off. Without the agent there is no such safe point.
     */
    @Test
    void aReaderOfASocketThatAlwaysHasDataLetsOtherFibersRun() throws Exception {
        assumeTrue(AGENT, "the socket-read safe point is the agent's");
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
             Socket source = new Socket(InetAddress.getLoopbackAddress(), server.getLocalPort());
             Socket sink = server.accept()) {
            Thread writer = firehose(source);
            InputStream in = sink.getInputStream();
            byte[] buf = new byte[16];
            assertAFirehoseReaderLetsOthersRun("socket", () -> in.read(buf), () -> null);
            source.close();
            writer.join(10_000);
        }
    }

    /**
     * The same through a blocking {@code SocketChannel}, read directly and through its socket
     * adaptor's stream; the other fiber here waits for socket I/O, which the reader's carrier polls
     * after each run it was asked to end.
     */
    @Test
    void aReaderOfAChannelThatAlwaysHasDataLetsOtherFibersRun() throws Exception {
        assumeTrue(AGENT, "the channel-read safe point is the agent's");
        try (ServerSocketChannel server = ServerSocketChannel.open().bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
             Socket source = new Socket(InetAddress.getLoopbackAddress(), server.socket().getLocalPort());
             SocketChannel sink = server.accept()) {
            Thread writer = firehose(source);
            ByteBuffer buf = ByteBuffer.allocate(16);
            Callable<Void> echoRoundTrips = () -> {
                try (Socket s = connect()) {
                    roundTrips(s, 3);
                }
                return null;
            };
            assertAFirehoseReaderLetsOthersRun("channel", () -> sink.read(buf.clear()), echoRoundTrips);
            InputStream in = sink.socket().getInputStream();
            byte[] bytes = new byte[16];
            assertAFirehoseReaderLetsOthersRun("channel's socket adaptor", () -> in.read(bytes), echoRoundTrips);
            source.close();
            writer.join(10_000);
        }
    }

    /**
     * An accept loop whose listen queue is full of connections (a burst arrived) finds one at every
     * accept and so never waits: on 1 carrier with handoff off it must still let a fiber spawned
     * after it run, long before it has drained the queue. {@code ServerSocket.accept} and a blocking
     * {@code ServerSocketChannel.accept} are safe points, as socket reads are: an acceptor spawning
     * a fiber per connection otherwise holds its carrier for the whole burst.
     */
    @Test
    void anAcceptorOfAFullListenQueueLetsOtherFibersRun() throws Exception {
        assumeTrue(AGENT, "the accept safe point is the agent's");
        int queued = 3_000;
        try (ServerSocket server = new ServerSocket(0, queued + 100, InetAddress.getLoopbackAddress())) {
            assertAFullQueueAcceptorLetsOthersRun("ServerSocket", queued, server.getLocalPort(), () -> server.accept().close());
        }
        try (ServerSocketChannel server = ServerSocketChannel.open()) {
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), queued + 100);
            assertAFullQueueAcceptorLetsOthersRun("ServerSocketChannel", queued, server.socket().getLocalPort(), () -> server.accept().close());
        }
    }

    /**
     * Fills the listen queue of {@code port} with {@code queued} connections (the kernel completes
     * them without an accept), then runs an acceptor fiber calling {@code acceptOne} until another
     * fiber, spawned after it on the same single carrier, has run; the acceptor must have left most
     * of the queue untaken by then.
     */
    private static void assertAFullQueueAcceptorLetsOthersRun(String what, int queued, int port, SmallRead acceptOne) throws Exception {
        List<Socket> clients = new ArrayList<>();
        try (FiberScheduler one = FiberScheduler.builder().carriers(1).name("acceptor").handoffAfter(Duration.ZERO).build()) {
            for (int i = 0; i < queued; i++) {
                clients.add(new Socket(InetAddress.getLoopbackAddress(), port));
            }
            AtomicInteger othersRan = new AtomicInteger();
            CountDownLatch accepting = new CountDownLatch(1);
            Fiber<Integer> acceptor = one.spawn(() -> {
                int accepted = 0;
                accepting.countDown();
                while (othersRan.get() == 0 && accepted < queued) {
                    acceptOne.readOnce();
                    accepted++;
                }
                return accepted;
            });
            assertTrue(accepting.await(10, TimeUnit.SECONDS));
            one.spawn(() -> othersRan.incrementAndGet());
            int accepted = result(acceptor);
            assertTrue(othersRan.get() > 0 && accepted < queued / 2, "the " + what + " acceptor took " + accepted + " of "
                    + queued + " queued connections before another fiber of its carrier ran: " + one.stats());
            System.out.printf("a %s acceptor of %d queued connections let another fiber run after %d accepts%n", what, queued, accepted);
        } finally {
            for (Socket c : clients) {
                c.close();
            }
        }
    }

    /** One small read of a connection that always has data. */
    private interface SmallRead {
        void readOnce() throws IOException;
    }

    /** A platform thread that writes to {@code source} without pause until it is closed; returns once the buffers are full. */
    private static Thread firehose(Socket source) throws InterruptedException {
        Thread writer = Thread.ofPlatform().daemon().name("firehose-writer").start(() -> {
            byte[] chunk = new byte[64 * 1024];
            try (OutputStream out = source.getOutputStream()) {
                while (true) {
                    out.write(chunk);
                }
            } catch (IOException closed) {
                // the reader is done
            }
        });
        Thread.sleep(50); // the socket's buffers fill, so each small read finds data
        return writer;
    }

    /**
     * A fiber calling {@code reader} in a loop, on a connection that always has data ({@link
     * #firehose}), on a scheduler of 1 carrier with handoff off, must let a fiber spawned after it
     * run {@code other} to its end, and soon: the reader, asked to yield, goes behind the other
     * fiber, and its carrier polls I/O before going on. Otherwise the carrier would take the reader
     * again at once, run after run, until its periodic look at the inject queue and the reactor, 61
     * runs later.
     */
    private static void assertAFirehoseReaderLetsOthersRun(String what, SmallRead reader, Callable<?> other) throws Exception {
        try (FiberScheduler one = FiberScheduler.builder().carriers(1).name("firehose").handoffAfter(Duration.ZERO).build()) {
            AtomicInteger othersRan = new AtomicInteger();
            CountDownLatch reading = new CountDownLatch(1);
            long limit = TimeUnit.SECONDS.toNanos(10);
            Fiber<Long> fiber = one.spawn(() -> {
                long start = System.nanoTime();
                reading.countDown();
                while (othersRan.get() == 0 && System.nanoTime() - start < limit) {
                    reader.readOnce();
                }
                return System.nanoTime() - start;
            });
            assertTrue(reading.await(10, TimeUnit.SECONDS));
            one.spawn(() -> {
                other.call();
                return othersRan.incrementAndGet();
            });
            long heldNanos = result(fiber);
            assertTrue(othersRan.get() > 0 && heldNanos < limit, "the " + what + " reader kept its only carrier for "
                    + TimeUnit.NANOSECONDS.toMillis(heldNanos) + " ms: " + one.stats());
            long runs = one.stats().carriers().stream().mapToLong(CarrierStats::runs).sum();
            assertTrue(runs < 30, "the carrier ran " + runs + " continuations before the other fiber was done: " + one.stats());
            System.out.printf("a firehose %s reader let another fiber finish after %.1f ms, %d runs%n", what, heldNanos / 1e6, runs);
        }
    }

    @Test
    void aFiberCancelledWhileRegisteredLeavesTheReactorUsableAndItsFdReusable() throws Exception {
        CountDownLatch reading = new CountDownLatch(1);
        Fiber<Void> blocked = scheduler.spawn(() -> {
            try (Socket s = connect()) {
                reading.countDown();
                s.getInputStream().read(); // never answered
            }
            return null;
        });
        assertTrue(reading.await(10, TimeUnit.SECONDS));
        Thread.sleep(50); // let it park in the reactor
        assertTrue(blocked.cancel());
        assertTrue(blocked.join(Duration.ofSeconds(10)), "a cancelled fiber blocked in read ends");
        assertThrows(CancellationException.class, blocked::get);
        // The interrupted read closed its socket; new sockets reuse fd numbers, registered afresh.
        for (int i = 0; i < 20; i++) {
            result(scheduler.spawn(() -> {
                try (Socket s = connect()) {
                    roundTrips(s, 5);
                }
                return null;
            }));
        }
    }

    @Test
    void aSocketClosedByAnotherThreadWakesItsReaderAndTheNumberIsReused() throws Exception {
        for (int round = 0; round < 20; round++) {
            Socket s = connect();
            CountDownLatch reading = new CountDownLatch(1);
            Fiber<Object> reader = scheduler.spawn(() -> {
                reading.countDown();
                try {
                    return s.getInputStream().read();
                } catch (SocketException e) {
                    return e;
                }
            });
            assertTrue(reading.await(10, TimeUnit.SECONDS));
            Thread.sleep(5);
            s.close();
            Object outcome = result(reader);
            assertTrue(outcome instanceof SocketException, "read on a socket closed under it: " + outcome);
        }
    }

    @Test
    void shutdownNowCancelsFibersParkedInTheReactorsNoneIsLost() throws Exception {
        int n = 50;
        List<Socket> held = new ArrayList<>(); // the peers stay open and silent, so only the cancel ends the reads
        try (ServerSocket silent = new ServerSocket(0, n, InetAddress.getLoopbackAddress())) {
            CountDownLatch reading = new CountDownLatch(n);
            List<Fiber<Void>> fibers = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                fibers.add(scheduler.spawn(() -> {
                    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), silent.getLocalPort())) {
                        reading.countDown();
                        s.getInputStream().read();
                    }
                    return null;
                }));
                held.add(silent.accept());
            }
            assertTrue(reading.await(20, TimeUnit.SECONDS));
            Thread.sleep(50);
            assertEquals(n, scheduler.stats().fibersAlive());
            scheduler.shutdownNow();
            assertTrue(scheduler.awaitTermination(Duration.ofSeconds(20)), scheduler.stats().toString());
            for (Fiber<Void> f : fibers) {
                assertEquals(Fiber.State.CANCELLED, f.state(), f.toString());
            }
        } finally {
            for (Socket s : held) {
                s.close();
            }
        }
    }

    /** Read in a class initialiser: a fiber there is pinned, so its park blocks the carrier thread itself. */
    static final class ReadsInItsInitializer {
        static final int FIRST_BYTE = PinnedSource.read();
    }

    /** The same, a second class, since each class initialiser runs once. */
    static final class AlsoReadsInItsInitializer {
        static final int FIRST_BYTE = PinnedSource.read();
    }

    /** Set before a reading class is touched: writing its own static field would run its initialiser. */
    static final class PinnedSource {
        static Socket socket;

        static int read() {
            try {
                return socket.getInputStream().read();
            } catch (IOException e) {
                throw new ExceptionInInitializerError(e);
            }
        }
    }

    /** With handoff (the default) the held carrier's work, its reactor included, moves to a new thread, which polls. */
    @Test
    void aPinnedFiberWaitingOnASocketIsWokenThoughItBlocksItsOnlyCarrier() throws Exception {
        SchedulerStats stats = pinnedSocketWait(FiberScheduler.builder().carriers(1).name("pinned"),
                () -> ReadsInItsInitializer.FIRST_BYTE, ReadsInItsInitializer.class);
        if (AGENT) {
            assertEquals(1, stats.carriers().getFirst().handoffs(), "the pinned wait is handed off: " + stats);
        }
    }

    /** Without handoff the watchdog polls the reactor of the carrier that the pinned fiber holds. */
    @Test
    void withoutHandoffAPinnedSocketWaitIsRescuedByTheWatchdogsPoll() throws Exception {
        SchedulerStats stats = pinnedSocketWait(FiberScheduler.builder().carriers(1).name("pinned-rescued").handoffAfter(Duration.ZERO),
                () -> AlsoReadsInItsInitializer.FIRST_BYTE, AlsoReadsInItsInitializer.class);
        assertEquals(0, stats.carriers().getFirst().handoffs(), String.valueOf(stats));
    }

    private SchedulerStats pinnedSocketWait(FiberScheduler.Builder builder, java.util.concurrent.Callable<Integer> read,
                                            Class<?> reader) throws Exception {
        try (FiberScheduler single = builder.build(); Socket client = connect()) {
            PinnedSource.socket = client;
            if (AGENT) { // the suite runs the detector in fail mode: this pin is deliberate
                BlockingCallDetector.get().allowBlockingInside(reader.getName(), "<clinit>");
            }
            Fiber<Integer> pinned = single.spawn(read);
            Thread.sleep(100); // the fiber is parked, pinned, in the class initialiser
            client.getOutputStream().write(42); // the echo fiber answers on the other scheduler
            assertTrue(pinned.join(Duration.ofSeconds(10)), "a pinned socket wait must not deadlock its carrier");
            assertEquals(42, pinned.get());
            return single.stats();
        }
    }

    /**
     * Sequential connections from one fiber: each close frees an fd number the next socket
     * reuses at once. The reactor keeps fds registered between waits, so it must forget a number
     * when the JDK closes it (the agent's close hook); a stale registration would leave the next
     * socket's first read waiting for the watchdog's recheck (100 ms or more each), 50 times over.
     */
    @Test
    void fdNumbersReusedOneAfterAnotherAreServedAtOnce() throws Exception {
        try (PlatformEchoServer platformEcho = new PlatformEchoServer(Loopback.listen(50))) {
            long start = System.nanoTime();
            result(scheduler.spawn(() -> {
                for (int i = 0; i < 50; i++) {
                    try (Socket s = new Socket(Loopback.ADDRESS, platformEcho.port())) {
                        s.getOutputStream().write(i);
                        assertEquals(i, s.getInputStream().read());
                    }
                }
                return null;
            }));
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            System.out.println("50 sequential connections (each close frees the fd number the next socket is likely to get): " + millis + " ms");
            assertTrue(millis < 1_500, "50 sequential connections took " + millis + " ms: a reused fd number waited for the recheck");
        }
    }

    /**
     * A virtual thread started by a fiber sleeps past the scheduler's shutdown. Without the agent it
     * inherits the scheduler without being its fiber: the carriers exit, and its wakeup goes to the
     * JDK's scheduler. With the agent ({@code virtual=fibers}) it is a fiber of the scheduler, which
     * waits for it; as the last fiber finishes, it starts the termination and wakes the carriers,
     * racing their exits (a carrier's close of its reactor once waited for that fiber's wakeup
     * forever, one run in twenty on a busy machine).
     */
    @Test
    void aChildVirtualThreadsTimerOutlivesTheScheduler() throws Exception {
        CountDownLatch woke = new CountDownLatch(1);
        result(scheduler.spawn(() -> {
            Thread.ofVirtual().start(() -> {
                try {
                    Thread.sleep(300);
                    woke.countDown();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            return null;
        }));
        scheduler.shutdown();
        echo.close();
        assertTrue(scheduler.awaitTermination(Duration.ofSeconds(10)));
        assertTrue(woke.await(10, TimeUnit.SECONDS), "the child's sleep ended after its carrier exited");
    }

    @Test
    void manySleepingFibersAllWakeInTime() throws Exception {
        int n = 2000;
        AtomicLong worstLateness = new AtomicLong();
        List<Fiber<Void>> fibers = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            long millis = 1 + i % 50;
            fibers.add(scheduler.spawn(() -> {
                long start = System.nanoTime();
                Thread.sleep(millis);
                long late = System.nanoTime() - start - TimeUnit.MILLISECONDS.toNanos(millis);
                assertTrue(late >= 0, "woke early");
                worstLateness.accumulateAndGet(late, Math::max);
                return null;
            }));
        }
        for (Fiber<Void> f : fibers) {
            result(f);
        }
        assertTrue(worstLateness.get() < TimeUnit.SECONDS.toNanos(2), "worst lateness " + worstLateness.get() / 1000 + " us");
    }

    /** Thousands of connections opened, used and closed, for a bounded time: no fd leak, none lost. */
    @Test
    void connectionChurnLeaksNoFileDescriptors() throws Exception {
        Path fds = Path.of("/proc/self/fd");
        long before;
        try (var list = Files.list(fds)) {
            before = list.count();
        }
        AtomicInteger completed = new AtomicInteger();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(4);
        int rounds = 0;
        while (System.nanoTime() < deadline || rounds < 3) {
            List<Fiber<Void>> clients = new ArrayList<>();
            for (int i = 0; i < 300; i++) {
                clients.add(scheduler.spawn(() -> {
                    try (Socket s = connect()) {
                        roundTrips(s, 3);
                    }
                    completed.incrementAndGet();
                    return null;
                }));
            }
            for (Fiber<Void> f : clients) {
                result(f);
            }
            rounds++;
        }
        assertEquals(rounds * 300, completed.get(), "every connection completed");
        long deadlineIdle = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        long after;
        do {
            Thread.sleep(20); // server fibers close their side after the client's FIN
            try (var list = Files.list(fds)) {
                after = list.count();
            }
        } while (after > before + 10 && System.nanoTime() < deadlineIdle);
        assertTrue(after <= before + 10, "fds before " + before + ", after " + after + " (" + rounds * 300 + " connections)");
    }
}
