package io.fiber.compat;

import com.sun.net.httpserver.HttpServer;
import io.fiber.Fiber;
import io.fiber.FiberScheduler;
import io.fiber.Fibers;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link FiberCompat#fiberThreadFactory}: the JDK's own executor-based code (thread pools, a
 * scheduled pool, {@code CompletableFuture}, {@code HttpServer}) given this factory runs its work in
 * fibers of the scheduler, which waits for those fibers when it shuts down.
 */
class FiberThreadFactoryTest {
    private FiberScheduler scheduler;

    @BeforeEach
    void start() {
        scheduler = FiberScheduler.builder().name("factory-test").carriers(2).build();
        assertTrue(scheduler.usesOwnCarriers(), "surefire passes --add-opens");
    }

    @AfterEach
    void stop() {
        scheduler.shutdownNow();
        scheduler.close();
    }

    /** True when the caller is a fiber of the test's scheduler. */
    private boolean onTheScheduler() {
        Fiber<?> fiber = Fibers.current();
        return fiber != null && fiber.scheduler() == scheduler;
    }

    @Test
    void threadsAreUnstartedNamedFibersOfTheScheduler() throws Exception {
        ThreadFactory factory = FiberCompat.fiberThreadFactory(scheduler, "worker-");
        Thread first = factory.newThread(() -> { });
        Thread second = factory.newThread(() -> { });
        assertEquals(Thread.State.NEW, first.getState());
        assertTrue(first.isVirtual() && first.isDaemon());
        assertEquals("worker-1", first.getName());
        assertEquals("worker-2", second.getName());
        assertEquals("", FiberCompat.fiberThreadFactory(scheduler).newThread(() -> { }).getName(), "no prefix: unnamed");

        boolean[] inFiber = new boolean[1];
        Thread started = factory.newThread(() -> inFiber[0] = onTheScheduler());
        started.start();
        assertTrue(started.join(Duration.ofSeconds(20)));
        assertTrue(inFiber[0]);
        assertEquals(1, scheduler.stats().fibersSpawned(), "only the started one counts");
    }

    @Test
    void aThreadPoolExecutorRunsOnFibersAndTheSchedulerWaitsForItsWorkers() throws Exception {
        ThreadPoolExecutor pool = new ThreadPoolExecutor(4, 4, 0, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
                FiberCompat.fiberThreadFactory(scheduler, "pool-"));
        List<Future<Boolean>> results = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            results.add(pool.submit(() -> {
                Fibers.sleep(Duration.ofMillis(1));
                return onTheScheduler() && Thread.currentThread().getName().startsWith("pool-");
            }));
        }
        for (Future<Boolean> r : results) {
            assertTrue(r.get(20, TimeUnit.SECONDS));
        }
        assertEquals(4, pool.getPoolSize());

        scheduler.shutdown();
        assertFalse(scheduler.awaitTermination(Duration.ofMillis(200)), "the pool's idle workers are fibers it waits for");
        pool.shutdown();
        assertTrue(scheduler.awaitTermination(Duration.ofSeconds(20)), "terminates once the workers exit: " + scheduler.stats());
        assertTrue(pool.isTerminated());
    }

    @Test
    void aScheduledThreadPoolExecutorRunsDelayedAndPeriodicTasksOnFibers() throws Exception {
        ScheduledThreadPoolExecutor timers = new ScheduledThreadPoolExecutor(1, FiberCompat.fiberThreadFactory(scheduler));
        try {
            long start = System.nanoTime();
            ScheduledFuture<Boolean> delayed = timers.schedule(this::onTheScheduler, 50, TimeUnit.MILLISECONDS);
            assertTrue(delayed.get(20, TimeUnit.SECONDS));
            assertTrue(System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(50), "ran before its delay");

            CountDownLatch ticks = new CountDownLatch(5);
            timers.scheduleAtFixedRate(() -> {
                if (onTheScheduler()) {
                    ticks.countDown();
                }
            }, 0, 5, TimeUnit.MILLISECONDS);
            assertTrue(ticks.await(20, TimeUnit.SECONDS), "5 periodic runs on fibers");
        } finally {
            timers.shutdownNow();
            assertTrue(timers.awaitTermination(20, TimeUnit.SECONDS));
        }
    }

    @Test
    void completableFutureStagesRunOnFibers() throws Exception {
        try (ExecutorService fibers = Executors.newThreadPerTaskExecutor(FiberCompat.fiberThreadFactory(scheduler))) {
            String result = CompletableFuture.supplyAsync(() -> onTheScheduler() ? "supplied on a fiber" : "not a fiber", fibers)
                    .thenApplyAsync(s -> s + (onTheScheduler() ? ", applied on a fiber" : ", not a fiber"), fibers)
                    .get(20, TimeUnit.SECONDS);
            assertEquals("supplied on a fiber, applied on a fiber", result);
        }
    }

    @Test
    void theJdkHttpServerHandlesEachExchangeOnAFiber() throws Exception {
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        ExecutorService exchanges = Executors.newCachedThreadPool(FiberCompat.fiberThreadFactory(scheduler, "exchange-"));
        server.setExecutor(exchanges);
        server.createContext("/where", exchange -> {
            byte[] body = (onTheScheduler() ? "fiber " + Thread.currentThread().getName() : "not a fiber")
                    .getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
        try (HttpClient client = HttpClient.newHttpClient()) {
            URI uri = URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/where");
            List<CompletableFuture<HttpResponse<String>>> responses = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                responses.add(client.sendAsync(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString()));
            }
            for (CompletableFuture<HttpResponse<String>> response : responses) {
                HttpResponse<String> r = response.get(20, TimeUnit.SECONDS);
                assertEquals(200, r.statusCode());
                assertTrue(r.body().startsWith("fiber exchange-"), r.body());
            }
        } finally {
            server.stop(0);
            exchanges.shutdown();
            assertTrue(exchanges.awaitTermination(20, TimeUnit.SECONDS));
        }
    }

    @Test
    void aShutDownSchedulerRejectsThePoolsNewWorkerWithItsMessage() {
        ThreadPoolExecutor pool = new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
                FiberCompat.fiberThreadFactory(scheduler));
        scheduler.close();
        RejectedExecutionException e = assertThrows(RejectedExecutionException.class, () -> pool.execute(() -> { }));
        assertTrue(e.getMessage().contains("cannot spawn a fiber on scheduler 'factory-test': it is shut down"), e.getMessage());
        assertEquals(0, pool.getPoolSize());
        pool.shutdown();
    }

    @Test
    void aFactoryMadeInAFiberUsesThatFibersScheduler() throws Exception {
        Fiber<?>[] inside = new Fiber<?>[1];
        Thread made = scheduler.spawn(() -> FiberCompat.fiberThreadFactory().newThread(() -> inside[0] = Fibers.current())).get();
        made.start();
        assertTrue(made.join(Duration.ofSeconds(20)));
        assertSame(scheduler, inside[0].scheduler());
    }
}
