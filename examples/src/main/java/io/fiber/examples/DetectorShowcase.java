package io.fiber.examples;

import io.fiber.FiberScheduler;
import io.fiber.detector.BlockingCall;
import io.fiber.detector.BlockingCallDetector;

import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The demo's {@code --show-detector}: the {@link HttpServerExample}'s {@code /file} handler reads a
 * file in its fiber, which holds the carrier, and the blocking-call detector flags it. Prints the
 * first report with the top of its stack; fails when the detector (which needs the agent) flagged
 * nothing. In the detector's FAIL mode the handler gets {@code BlockingCallError} instead of
 * answering, and that is shown too.
 */
final class DetectorShowcase {
    private static final String NAME = "detector-demo";
    private static final int FRAMES_SHOWN = 14;

    private DetectorShowcase() { }

    static int run(int carriers, PrintStream out) throws IOException, InterruptedException {
        out.println();
        out.println("== blocking-call detector: GET /file, whose handler reads a file in its fiber");
        BlockingCallDetector detector = BlockingCallDetector.get();
        if (!detector.isAvailable()) {
            out.println("problem: the detector needs the agent; ./run demo launches the JVM with it");
            return 1;
        }
        BlockingCallDetector.Mode before = detector.mode();
        if (before == BlockingCallDetector.Mode.OFF) {
            detector.mode(BlockingCallDetector.Mode.REPORT);
        }
        List<BlockingCall> calls = new CopyOnWriteArrayList<>();
        try (FiberScheduler scheduler = FiberScheduler.builder().carriers(carriers).name(NAME).build();
             HttpServerExample server = new HttpServerExample(scheduler);
             HttpClient client = HttpClient.newHttpClient();
             AutoCloseable listener = detector.addListener(call -> {
                 if (call.carrier() != null && call.carrier().startsWith(NAME + "-")) {
                     calls.add(call);
                 }
             })) {
            int port = server.start(0);
            HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/file"))
                    .timeout(Duration.ofSeconds(5)).build();
            try {
                HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
                out.println("response " + response.statusCode() + ": " + response.body().trim());
            } catch (IOException e) {
                out.println("no response (" + e.getClass().getSimpleName() + "): in FAIL mode the handler's fiber got"
                        + " BlockingCallError at the read");
            }
        } catch (IOException | InterruptedException e) {
            throw e;
        } catch (Exception e) {
            throw new IOException(e);
        } finally {
            detector.mode(before);
        }
        if (calls.isEmpty()) {
            out.println("problem: the detector flagged nothing");
            return 1;
        }
        out.println("the detector flagged " + calls.size() + " blocking call(s) in the handler's fiber (mode " + detector.mode()
                + "); the first, with the top of its stack:");
        String[] lines = calls.get(0).describe().split("\n");
        for (int i = 0; i < Math.min(lines.length, FRAMES_SHOWN + 1); i++) {
            out.println("  " + lines[i].strip());
        }
        out.println("OK: the detector flags file I/O on a fiber (offload it, or allow it with"
                + " BlockingCallDetector.get().allowBlockingInside(...))");
        return 0;
    }
}
