package io.fiber.benchmarks.servers;

import io.fiber.load.LatencyHistogram;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongConsumer;

/**
 * The load of the servers benchmark, from this JVM: HTTP/1.1 requests ({@code GET /?n=N}) to
 * {@code AtScaleServer}'s servers, each answer checked for its own number and the downstream's
 * answer to it.
 * Every client runs on a JDK virtual thread of this JVM (the load is not what is measured).
 *
 * <ul>
 *   <li>{@link #closedLoop}: N clients, each sending its next request, on a new connection
 *       ({@code Connection: close}), when the last one is answered: N requests wait at the server at once, and the server's throughput is what
 *       it can answer.</li>
 *   <li>{@link #held}: N kept-alive connections held open, each sending a request now and then:
 *       the server holds them all at once while the request rate stays fixed and moderate, each
 *       request timed from when it was sent.</li>
 * </ul>
 * The requests that end in the measured window (after the warm-up) count, whenever they began:
 * a server behind its load answers late, and counting only the requests that began in the window
 * would leave out exactly those.
 */
final class HttpLoad {
    private static final int SOCKET_TIMEOUT_MILLIS = 30_000;

    /** What a measurement saw: requests answered and failed in the window, and their latencies. */
    record Result(long answered, long failed, long from, long to, LatencyHistogram latency, String firstFailure, long sentInAll, long passedInAll,
                  long[] answeredBySecond) {
        /** The measured window's length. */
        double seconds() {
            return (to - from) / 1e9;
        }

        double perSecond() {
            return answered / seconds();
        }
    }

    private final InetSocketAddress server;
    private final AtomicLong sequence = new AtomicLong();

    HttpLoad(InetSocketAddress server) {
        this.server = server;
    }

    /** A window of the load: requests that start at or after {@code from} and end before {@code to} count. */
    private static final class Window {
        final long from;
        final long to;
        final ConcurrentLinkedQueue<LatencyHistogram> histograms = new ConcurrentLinkedQueue<>();
        final AtomicLong failed = new AtomicLong();
        /** Every request sent and every answer that passed the check, in or out of the window. */
        final AtomicLong sent = new AtomicLong();
        final AtomicLong passed = new AtomicLong();
        /** The answers counted, by the second of the window they ended in: how the rate ramps up while the server warms. */
        final AtomicLongArray bySecond;
        volatile String firstFailure;

        Window(long from, long to) {
            this.from = from;
            this.to = to;
            bySecond = new AtomicLongArray((int) Math.max(1, (to - from + 999_999_999) / 1_000_000_000));
        }

        /** Records a passed answer's latency in {@code record} and its second, if the window counts it. */
        void answered(long start, long end, LongConsumer record) {
            passed.incrementAndGet();
            if (counts(start, end)) {
                record.accept(end - start);
                bySecond.incrementAndGet((int) ((end - from) / 1_000_000_000));
            }
        }

        /** Whether a request that ended at {@code end} counts: its start may precede the window (a server behind its load answers late). */
        boolean counts(long start, long end) {
            return end - from >= 0 && to - end > 0;
        }

        void failed(long start, long end, String why) {
            if (counts(start, end)) {
                failed.incrementAndGet();
                if (firstFailure == null) {
                    firstFailure = why;
                }
            }
        }

        Result result() {
            LatencyHistogram all = new LatencyHistogram();
            histograms.forEach(all::add);
            long[] seconds = new long[bySecond.length()];
            Arrays.setAll(seconds, bySecond::get);
            return new Result(all.count(), failed.get(), from, to, all, firstFailure, sent.get(), passed.get(), seconds);
        }
    }

    /** {@code clients} clients in a closed loop for {@code warmup}, then {@code measure}. */
    Result closedLoop(int clients, Duration warmup, Duration measure) throws InterruptedException {
        long start = System.nanoTime();
        Window window = new Window(start + warmup.toNanos(), start + warmup.toNanos() + measure.toNanos());
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < clients; i++) {
                threads.execute(() -> {
                    LatencyHistogram mine = new LatencyHistogram();
                    window.histograms.add(mine); // read only after every client ended
                    for (long begun = System.nanoTime(); window.to - begun > 0; begun = System.nanoTime()) {
                        request(begun, window, mine::record);
                    }
                });
            }
            threads.shutdown();
            awaitEnd(threads, window);
        }
        return window.result();
    }

    /**
     * {@code connections} kept-alive connections held open, each sending its next request
     * {@code think} after the last answer (the first at a random point of the first {@code think}),
     * so the server holds them all while only about {@code connections / think} requests a second
     * come: slow connections, as the C10K problem has them.
     */
    Result held(int connections, Duration think, Duration warmup, Duration measure) throws InterruptedException {
        long start = System.nanoTime();
        Window window = new Window(start + warmup.toNanos(), start + warmup.toNanos() + measure.toNanos());
        long thinkNanos = think.toNanos();
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < connections; i++) {
                threads.execute(() -> {
                    LatencyHistogram mine = new LatencyHistogram();
                    window.histograms.add(mine);
                    long pause = java.util.concurrent.ThreadLocalRandom.current().nextLong(thinkNanos);
                    while (!keptAlive(window, mine::record, pause, thinkNanos)) {
                        pause = thinkNanos; // after a failure, the next connection comes a think time later
                    }
                });
            }
            threads.shutdown();
            awaitEnd(threads, window);
        }
        return window.result();
    }

    /**
     * One kept-alive connection: a request {@code think} after each answer, until the next would
     * come after the window (true) or one fails (false).
     */
    private boolean keptAlive(Window window, LongConsumer record, long firstPause, long think) {
        long begun = System.nanoTime();
        long n = 0;
        try (Socket socket = new Socket()) {
            socket.connect(server, SOCKET_TIMEOUT_MILLIS);
            socket.setSoTimeout(SOCKET_TIMEOUT_MILLIS);
            OutputStream out = socket.getOutputStream();
            InputStream in = new java.io.BufferedInputStream(socket.getInputStream());
            for (long pause = firstPause; ; pause = think) {
                long due = System.nanoTime() + pause;
                if (window.to - due <= 0) {
                    return true;
                }
                LockSupport.parkNanos(pause);
                begun = System.nanoTime();
                n = sequence.incrementAndGet();
                out.write(("GET /?n=" + n + " HTTP/1.1\r\nHost: 127.0.0.1:" + server.getPort() + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                out.flush();
                window.sent.incrementAndGet();
                String answer = readResponse(in);
                long end = System.nanoTime();
                if (answer == null || !answer.startsWith("HTTP/1.1 200 ") || !answer.contains("\r\n\r\nn=" + n + " downstream=delayed " + n + " ")) {
                    window.failed(begun, end, "unexpected answer to n=" + n + " on a kept-alive connection: "
                            + (answer == null ? "the connection closed" : answer.substring(0, Math.min(200, answer.length())).replace("\r\n", "\\r\\n")));
                    return false;
                }
                window.answered(begun, end, record);
            }
        } catch (IOException e) {
            window.failed(begun, System.nanoTime(), (n == 0 ? "connecting: " : "n=" + n + ": ") + e);
            return window.to - System.nanoTime() - think <= 0;
        }
    }

    /** One HTTP/1.1 response with a {@code Content-Length}, headers and body; null if the connection closed first. */
    private static String readResponse(InputStream in) throws IOException {
        StringBuilder head = new StringBuilder();
        int length = -1;
        for (String line = readLine(in); ; line = readLine(in)) {
            if (line == null) {
                return null;
            }
            head.append(line).append("\r\n");
            if (line.isEmpty()) {
                break;
            }
            if (line.regionMatches(true, 0, "Content-Length:", 0, 15)) {
                length = Integer.parseInt(line.substring(15).trim());
            }
        }
        if (length < 0) {
            throw new IOException("a response without Content-Length: " + head);
        }
        byte[] body = in.readNBytes(length);
        return head + new String(body, StandardCharsets.UTF_8);
    }

    private static String readLine(InputStream in) throws IOException {
        StringBuilder line = new StringBuilder();
        for (int c = in.read(); c != '\n'; c = in.read()) {
            if (c < 0) {
                return null;
            }
            if (c != '\r') {
                line.append((char) c);
            }
        }
        return line.toString();
    }

    private static void awaitEnd(ExecutorService threads, Window window) throws InterruptedException {
        long grace = TimeUnit.MILLISECONDS.toNanos(2L * SOCKET_TIMEOUT_MILLIS);
        if (!threads.awaitTermination(Math.max(0, window.to - System.nanoTime()) + grace, TimeUnit.NANOSECONDS)) {
            threads.shutdownNow();
        }
    }

    /** One request on a new connection, timed from {@code begun}; its latency goes to {@code record} if the window counts it. */
    private void request(long begun, Window window, LongConsumer record) {
        long n = sequence.incrementAndGet();
        String why;
        try (Socket socket = new Socket()) {
            socket.connect(server, SOCKET_TIMEOUT_MILLIS);
            socket.setSoTimeout(SOCKET_TIMEOUT_MILLIS);
            OutputStream out = socket.getOutputStream();
            out.write(("GET /?n=" + n + " HTTP/1.1\r\nHost: 127.0.0.1:" + server.getPort()
                    + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            window.sent.incrementAndGet();
            InputStream in = socket.getInputStream();
            String answer = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            long end = System.nanoTime();
            if (answer.startsWith("HTTP/1.1 200 ") && answer.contains("\r\n\r\nn=" + n + " downstream=delayed " + n + " ")) {
                window.answered(begun, end, record);
                return;
            }
            why = "unexpected answer to n=" + n + ": " + answer.substring(0, Math.min(200, answer.length())).replace("\r\n", "\\r\\n");
        } catch (IOException e) {
            why = e.toString();
        }
        window.failed(begun, System.nanoTime(), why);
    }
}
