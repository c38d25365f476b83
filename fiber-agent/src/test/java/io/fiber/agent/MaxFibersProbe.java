package io.fiber.agent;

import io.fiber.FiberScheduler;
import io.fiber.detector.BlockingCallDetector;
import io.fiber.detector.BlockingCategory;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An unmodified program's threads under {@code max-fibers}: it starts virtual threads with the JDK's
 * own APIs and never names a fiber (the runtime is read only to print what happened). Prints a line
 * per case, then {@code done}. Case {@code wait}: a platform thread and then a virtual thread each
 * start 200 short tasks; case {@code reject}: starts beyond the bound while the bound's threads wait.
 */
public final class MaxFibersProbe {
    private static final AtomicInteger RUNNING = new AtomicInteger();
    private static final AtomicInteger MAX_RUNNING = new AtomicInteger();

    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "wait" -> waitCases();
            case "reject" -> rejectCase();
            default -> throw new IllegalArgumentException(args[0]);
        }
        System.out.println("done");
    }

    private static Runnable task(AtomicInteger completed) {
        return () -> {
            MAX_RUNNING.accumulateAndGet(RUNNING.incrementAndGet(), Math::max);
            try {
                Thread.sleep(2);
            } catch (InterruptedException e) {
                throw new RuntimeException(e);
            } finally {
                RUNNING.decrementAndGet();
            }
            completed.incrementAndGet();
        };
    }

    private static void waitCases() throws Exception {
        AtomicInteger completed = new AtomicInteger();
        try (ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < 200; i++) {
                executor.execute(task(completed)); // main, a platform thread, waits in execute at the bound
            }
        }
        System.out.println("platform starter: max=" + MAX_RUNNING.get() + " completed=" + completed.get());

        MAX_RUNNING.set(0);
        AtomicInteger fromFiber = new AtomicInteger();
        Thread starter = Thread.ofVirtual().start(() -> {
            List<Thread> threads = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                threads.add(Thread.ofVirtual().start(task(fromFiber))); // a fiber: waits unpinned at the bound
            }
            for (Thread t : threads) {
                try {
                    t.join();
                } catch (InterruptedException e) {
                    throw new RuntimeException(e);
                }
            }
        });
        starter.join();
        System.out.println("fiber starter: max=" + MAX_RUNNING.get() + " completed=" + fromFiber.get()
                + " pinnedParks=" + BlockingCallDetector.get().flaggedCount(BlockingCategory.PARK));
        var admission = FiberScheduler.current().stats().admission();
        System.out.println("stats: bounded=" + admission.bounded() + " limit=" + admission.maxLiveFibers()
                + " waitedSome=" + (admission.waited() > 0) + " rejected=" + admission.rejected());
    }

    private static void rejectCase() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        List<Thread> held = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            held.add(Thread.ofVirtual().start(() -> {
                try {
                    release.await();
                } catch (InterruptedException e) {
                    throw new RuntimeException(e);
                }
            }));
        }
        try {
            Thread.ofVirtual().start(() -> { });
            System.out.println("start: not refused");
        } catch (RejectedExecutionException e) {
            System.out.println("start: " + e.getClass().getName() + " names max-fibers=" + e.getMessage().contains("max-fibers"));
        }
        try (ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor()) {
            executor.submit(() -> { });
            System.out.println("submit: not refused");
        } catch (RejectedExecutionException e) {
            System.out.println("submit: " + e.getClass().getName());
        }
        release.countDown();
        for (Thread t : held) {
            t.join();
        }
        Thread after = Thread.ofVirtual().start(() -> { });
        after.join();
        System.out.println("after: started");
    }
}
