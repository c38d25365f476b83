package io.fiber.agent.io;

import io.fiber.Fiber;
import io.fiber.FiberScheduler;
import io.fiber.SchedulerStats;
import org.junit.jupiter.api.RepeatedTest;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Handoffs by the hundred while sockets and timers are busy: on two carriers with the smallest
 * handoff threshold, "hog" fibers compute 3 ms at a time without yielding, so the watchdog keeps
 * handing their carriers off, while client fibers ping-pong with echo fibers of the same scheduler
 * and sleepers sleep 1 ms at a time. Every continuation queued, woken by a reactor or a timer, or
 * sent between fibers while a carrier changes thread must still run: no fiber may go a whole
 * {@value #MAX_GAP_SECONDS} seconds without progress, and all of them must finish.
 *
 * <p>It caught a lost wakeup: a carrier woken as a searcher could take its next continuation from
 * the inject queue on its every-61st-tick visit and run it still counted as searching; handed off
 * during that run, it never gave the count back, submitters then saw a searcher and woke nobody,
 * and both carriers slept with continuations in the inject queue.
 */
class HandoffStressIT {
    private static final int CLIENTS = 40;
    private static final int HOGS = 3;
    private static final int SLEEPERS = 20;
    private static final long RUN_MILLIS = 2_000;
    private static final long MAX_GAP_SECONDS = 5;

    @RepeatedTest(3) // one 2 s run caught the lost-wakeup bug about one time in six
    void noFiberStallsWhileCarriersAreHandedOffRepeatedly() throws Exception {
        FiberScheduler scheduler = FiberScheduler.builder().carriers(2).name("handoff-stress")
                .handoffAfter(Duration.ofMillis(1)).build();
        assumeTrue(scheduler.usesOwnCarriers(), "needs the runtime's own carriers");
        try (ServerSocket listener = new ServerSocket(0, CLIENTS, InetAddress.getLoopbackAddress())) {
            Thread acceptor = Thread.ofPlatform().daemon().name("stress-acceptor").start(() -> {
                try {
                    while (true) {
                        Socket s = listener.accept();
                        scheduler.spawn(() -> PlatformEchoServer.echo(s));
                    }
                } catch (IOException | java.util.concurrent.RejectedExecutionException closed) {
                    // the test is over
                }
            });
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(RUN_MILLIS);
            List<Progress> all = new ArrayList<>();
            for (int i = 0; i < CLIENTS; i++) {
                Progress p = new Progress("client " + i);
                p.fiber = scheduler.spawn(() -> client(listener.getLocalPort(), deadline, p));
                all.add(p);
            }
            for (int i = 0; i < HOGS; i++) {
                Progress p = new Progress("hog " + i);
                p.fiber = scheduler.spawn(() -> hog(deadline, p));
                all.add(p);
            }
            for (int i = 0; i < SLEEPERS; i++) {
                Progress p = new Progress("sleeper " + i);
                p.fiber = scheduler.spawn(() -> sleeper(deadline, p));
                all.add(p);
            }
            long maxGapNanos = TimeUnit.SECONDS.toNanos(MAX_GAP_SECONDS);
            while (System.nanoTime() < deadline + maxGapNanos) {
                boolean running = false;
                for (Progress p : all) {
                    if (!p.fiber.isDone()) {
                        running = true;
                        long gap = System.nanoTime() - p.last.get();
                        if (gap > maxGapNanos) {
                            fail(p.name + " made no progress for " + TimeUnit.NANOSECONDS.toMillis(gap) + " ms after "
                                    + p.steps.get() + " steps; its stack:" + stackOf(p.fiber) + "\n" + scheduler.stats() + carrierStacks());
                        }
                    }
                }
                if (!running) {
                    break;
                }
                Thread.sleep(50);
            }
            long clientSteps = 0;
            for (Progress p : all) {
                if (!p.fiber.join(Duration.ofSeconds(10))) {
                    fail(p.name + " did not finish; its stack:" + stackOf(p.fiber) + "\n" + scheduler.stats() + carrierStacks());
                }
                p.fiber.get();
                assertTrue(p.steps.get() > 0, p.name + " never made progress");
                if (p.name.startsWith("client")) {
                    clientSteps += p.steps.get();
                }
            }
            SchedulerStats stats = scheduler.stats();
            long handoffs = stats.carriers().stream().mapToLong(c -> c.handoffs()).sum();
            System.out.printf("handoff stress: %d handoffs, %d round trips by %d clients in %d ms%n",
                    handoffs, clientSteps, CLIENTS, RUN_MILLIS);
            assertTrue(handoffs >= 20, "the hogs must cause handoffs: " + stats);
            listener.close();
            acceptor.join(10_000);
        } finally {
            scheduler.shutdownNow();
        }
        assertTrue(scheduler.awaitTermination(Duration.ofSeconds(20)),
                "scheduler did not terminate: " + scheduler.stats() + carrierStacks());
    }

    /** The stacks of this test's carrier threads, handed-off ones included, for a failure message. */
    private static String carrierStacks() {
        StringBuilder out = new StringBuilder();
        Thread.getAllStackTraces().forEach((thread, stack) -> {
            if (thread.getName().startsWith("handoff-stress")) {
                out.append("\n").append(thread.getName()).append(" (").append(thread.getState()).append(")");
                for (StackTraceElement e : stack) {
                    out.append("\n    at ").append(e);
                }
            }
        });
        return out.toString();
    }

    /** One fiber's progress: when it last completed a step. */
    private static final class Progress {
        final String name;
        final AtomicLong last = new AtomicLong(System.nanoTime());
        final AtomicLong steps = new AtomicLong();
        Fiber<Void> fiber;

        Progress(String name) {
            this.name = name;
        }

        void step() {
            steps.incrementAndGet();
            last.set(System.nanoTime());
        }
    }

    private static Void client(int port, long deadline, Progress progress) throws IOException {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            s.setTcpNoDelay(true);
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            byte[] msg = new byte[64];
            for (int i = 0; System.nanoTime() < deadline; i++) {
                msg[0] = (byte) i;
                out.write(msg);
                byte[] back = in.readNBytes(64);
                assertEquals(64, back.length, progress.name + ": connection closed early");
                assertEquals((byte) i, back[0], progress.name + ": wrong echo");
                progress.step();
            }
        }
        return null;
    }

    /** Computes 3 ms at a time without yielding (the handoff threshold is 1 ms), then yields. */
    private static Void hog(long deadline, Progress progress) {
        long sink = 0;
        while (System.nanoTime() < deadline) {
            long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(3);
            while (System.nanoTime() < until) {
                sink += until;
            }
            progress.step();
            Thread.yield();
        }
        if (sink == 42) {
            System.out.print("");
        }
        return null;
    }

    private static Void sleeper(long deadline, Progress progress) throws InterruptedException {
        while (System.nanoTime() < deadline) {
            Thread.sleep(1);
            progress.step();
        }
        return null;
    }

    private static String stackOf(Fiber<?> fiber) {
        StringBuilder stack = new StringBuilder();
        for (StackTraceElement e : fiber.thread().getStackTrace()) {
            stack.append("\n    at ").append(e);
        }
        return stack.toString();
    }
}
