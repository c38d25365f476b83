package io.fiber.agent;

import io.fiber.FiberConsole;
import io.fiber.FiberScheduler;

import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * For {@link ConsoleIT}, under the agent with {@code console=}: holds every carrier of a scheduler
 * with fibers that never yield (handoff off), then asks the console the agent started for a
 * snapshot and a fiber dump from main, a platform thread, and prints what came back; with an
 * argument, the token to present; with {@code plain}, it only prints {@code done}. Returns from main without closing the console: its threads must
 * not keep the JVM alive.
 */
public final class ConsoleProbe {
    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("plain")) {
            System.out.println("done"); // a program that never names the console
            return;
        }
        String token = args.length > 0 ? args[0] : null;
        FiberConsole console = FiberConsole.running().orElse(null);
        System.out.println("console: " + (console == null ? "none" : console.uri()));
        if (console == null) {
            System.out.println("done");
            return;
        }
        AtomicBoolean spin = new AtomicBoolean(true);
        CountDownLatch spinning = new CountDownLatch(2);
        FiberScheduler scheduler = FiberScheduler.builder().name("probe-held").carriers(2).handoffAfter(Duration.ZERO).build();
        for (int i = 0; i < 2; i++) {
            scheduler.spawn(() -> {
                spinning.countDown();
                while (spin.get()) {
                    Thread.onSpinWait();
                }
            });
        }
        spinning.await();
        URI base = console.uri();
        System.out.println("snapshot: " + get(base.resolve("/api/snapshot"), token));
        System.out.println("fibers: " + get(base.resolve("/api/fibers?scheduler=probe-held"), token));
        System.out.println("no token: " + get(base.resolve("/api/snapshot"), null));
        spin.set(false);
        scheduler.close();
        System.out.println("done");
    }

    /** {@code STATUS BODY} of a GET, the body cut at 2,000 characters. */
    private static String get(URI uri, String token) throws Exception {
        HttpURLConnection c = (HttpURLConnection) uri.toURL().openConnection();
        c.setConnectTimeout(10_000);
        c.setReadTimeout(30_000);
        if (token != null) {
            c.setRequestProperty("Authorization", "Bearer " + token);
        }
        int status = c.getResponseCode();
        var in = status >= 400 ? c.getErrorStream() : c.getInputStream();
        String body = in == null ? "" : new String(in.readAllBytes(), StandardCharsets.UTF_8);
        return status + " " + (body.length() > 2_000 ? body.substring(0, 2_000) : body).replace('\n', ' ');
    }
}
