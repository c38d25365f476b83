package io.fiber;

import io.fiber.channel.Channel;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The child JVM of {@link FallbackTest}, launched WITHOUT {@code --add-opens}: the JDK hook is
 * closed, so every scheduler falls back to the JDK's default virtual thread scheduler. It builds two
 * schedulers (the warning must still appear once), runs a little of everything on them (spawn and
 * get, a scope, a channel exchange between the two, a Timeout, a scope deadline, a fiber made as an
 * unstarted thread) and prints one
 * {@code key=value} line per result on stdout for the test to check. The warning goes to stderr
 * (slf4j-simple).
 */
public final class FallbackMain {
    private FallbackMain() { }

    public static void main(String[] args) throws Exception {
        try (FiberScheduler first = FiberScheduler.builder().name("first").carriers(2).build();
             FiberScheduler second = FiberScheduler.builder().name("second").carriers(2).build()) {
            print("first.usesOwnCarriers", first.usesOwnCarriers());
            print("second.usesOwnCarriers", second.usesOwnCarriers());
            print("first.carrierCount", first.carrierCount());
            print("spawn", first.spawn(() -> 6 * 7).get());
            print("virtual", first.spawn(() -> Thread.currentThread().isVirtual()).get());
            print("childScheduler", first.spawn(() -> FiberScheduler.current() == first).get());

            print("scope", first.spawn(() -> {
                List<Fiber<Integer>> forks = new ArrayList<>();
                try (FiberScope scope = FiberScope.open()) {
                    for (int i = 1; i <= 10; i++) {
                        int n = i;
                        forks.add(scope.fork(() -> n * n));
                    }
                    scope.join();
                }
                int sum = 0;
                for (Fiber<Integer> f : forks) {
                    sum += f.get();
                }
                return sum; // 385
            }).get());

            Channel<Integer> ch = Channel.bounded(2);
            Fiber<Integer> consumer = second.spawn(() -> {
                int sum = 0;
                for (int v : ch) {
                    sum += v;
                }
                return sum;
            });
            first.spawn(() -> {
                for (int i = 1; i <= 100; i++) {
                    ch.send(i);
                }
                ch.close();
                return null;
            }).get();
            print("channel", consumer.get()); // 5050

            print("timeout", first.spawn(() -> {
                try (Timeout t = Timeout.after(Duration.ofMillis(50))) {
                    Fibers.sleep(Duration.ofSeconds(10));
                    return "slept";
                } catch (FiberTimeoutException e) {
                    return "timed out";
                }
            }).get());

            print("deadline", second.spawn(() -> {
                try (FiberScope scope = FiberScope.open(Duration.ofMillis(50))) {
                    Fiber<Void> slow = scope.fork(() -> {
                        Fibers.sleep(Duration.ofSeconds(10));
                        return null;
                    });
                    try {
                        scope.join();
                        return "joined";
                    } catch (FiberTimeoutException e) {
                        scope.close();
                        return "slow fiber " + slow.state();
                    }
                }
            }).get()); // slow fiber CANCELLED

            AtomicBoolean unstartedRan = new AtomicBoolean();
            Thread unstarted = second.unstartedFiber("unstarted", () -> unstartedRan.set(FiberScheduler.current() == second));
            unstarted.start();
            unstarted.join();
            print("unstartedFiber", unstartedRan.get() + " " + second.stats().fibersSpawned());

            print("serialLane", serialLane(second));
            print("laneSelfWait", laneSelfWait(second));

            print("default.usesOwnCarriers", Fibers.spawn(() -> FiberScheduler.current().usesOwnCarriers()).get());
            print("first.stats.spawned", first.stats().fibersSpawned());
        }
        print("done", true);
    }

    /**
     * A serial lane on the JDK's scheduler: 100 fibers that yield in the middle of an unsynchronized
     * read-modify-write must still run one at a time, in order. Prints the count, whether two
     * overlapped, whether the order held, and the lane's finished count.
     */
    private static String serialLane(FiberScheduler scheduler) throws InterruptedException {
        FiberGroup lane = scheduler.group("lane").serial().build();
        int[] counter = {0};
        AtomicInteger inside = new AtomicInteger();
        AtomicBoolean overlap = new AtomicBoolean();
        List<Integer> order = java.util.Collections.synchronizedList(new ArrayList<>());
        List<Fiber<Void>> fibers = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            int n = i;
            fibers.add(lane.spawn(() -> {
                overlap.compareAndSet(false, inside.incrementAndGet() != 1);
                order.add(n);
                int v = counter[0];
                Thread.yield();
                counter[0] = v + 1;
                inside.decrementAndGet();
            }));
        }
        for (Fiber<Void> f : fibers) {
            f.join();
        }
        boolean inOrder = true;
        for (int i = 0; i < order.size(); i++) {
            inOrder &= order.get(i) == i;
        }
        return counter[0] + " overlap " + overlap.get() + " inOrder " + inOrder + " finished " + lane.stats().finished();
    }

    /**
     * A lane fiber's wait for a child in the lane is refused, and a fiber cancelled in the lane's line
     * ends while the holder still holds the lane, on the JDK's scheduler too. Prints what the join
     * threw, the cancelled fiber's state and whether it ended in time, and the child's result.
     */
    private static String laneSelfWait(FiberScheduler scheduler) throws InterruptedException {
        FiberGroup lane = scheduler.group("self-wait").serial().build();
        Fiber<String> parent = lane.spawn(() -> {
            Fiber<String> child = Fibers.spawn(() -> "child ran");
            String refused;
            try {
                child.get();
                refused = "not refused";
            } catch (IllegalStateException e) {
                refused = e.getMessage().contains("serial lane 'self-wait'") ? "refused" : e.getMessage();
            }
            Fiber<Void> inLine = lane.spawn(() -> { });
            inLine.cancel();
            boolean ended = inLine.join(Duration.ofSeconds(20));
            return refused + " " + inLine.state() + " " + ended + " " + child.join(Duration.ofMillis(20));
        });
        return parent.get();
    }

    private static void print(String key, Object value) {
        System.out.println(key + "=" + value);
    }
}
