package io.fiber.examples;

import io.fiber.Fiber;
import io.fiber.FiberGroup;
import io.fiber.FiberGroupStats;
import io.fiber.FiberScheduler;
import io.fiber.Fibers;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The serial queue of the Celery brief, written with fibers. In Celery, reads and writes of an
 * object that supports no concurrency go to a queue of their own, served by one worker started with
 * {@code -c 1}: they run one at a time, in order, and need no lock. Here the queue and its worker are
 * a serial lane, {@code scheduler.group("store").serial().build()}: every fiber spawned into it runs
 * alone and after the ones spawned before it, and sees what they wrote.
 *
 * <p>The object is a {@link Store}: a plain {@code HashMap} and a counter, which concurrent writers
 * would corrupt (lost increments, a broken map). {@value #CLIENTS} client fibers, on every carrier,
 * each send {@value #WRITES_PER_CLIENT} increments and a read through the lane ({@link Store#add},
 * {@link Store#get}); a write returns nothing to wait for, a read returns the value, so a client's
 * read sees its own earlier writes (the lane keeps its submission order). At the end the program
 * checks every count and prints what the lane did.
 *
 * <p>From the command line: {@code ./run mvn -q -pl examples -am package -DskipTests}, then
 * {@code java --add-opens java.base/java.lang=ALL-UNNAMED -cp "examples/target/fiber-examples.jar:examples/target/lib/*"
 * io.fiber.examples.SerialQueueExample}.
 */
public final class SerialQueueExample {
    static final int CLIENTS = 1_000;
    static final int WRITES_PER_CLIENT = 100;
    static final int KEYS = 10;

    /** An object that supports no concurrency: touched only from the lane's fibers. */
    static final class Store {
        private final Map<String, Long> values = new HashMap<>();
        private long writes;

        void add(String key, long delta) {
            values.merge(key, delta, Long::sum);
            writes++;
        }

        long get(String key) {
            return values.getOrDefault(key, 0L);
        }

        long writes() {
            return writes;
        }
    }

    /** What the run found: the store's final values and writes, and what each client read after its writes. */
    record Outcome(Map<String, Long> values, long writes, boolean everyReadSawItsWrites, FiberGroupStats lane) { }

    private SerialQueueExample() { }

    public static void main(String[] args) throws Exception {
        try (FiberScheduler scheduler = FiberScheduler.builder().name("serial-queue").build()) {
            Outcome outcome = run(scheduler);
            long expectedPerKey = (long) CLIENTS * WRITES_PER_CLIENT / KEYS;
            boolean right = outcome.values().size() == KEYS
                    && outcome.values().values().stream().allMatch(v -> v == expectedPerKey)
                    && outcome.writes() == (long) CLIENTS * WRITES_PER_CLIENT;
            System.out.printf("%,d clients sent %,d writes and %,d reads through the serial lane 'store' on %d carriers%n",
                    CLIENTS, (long) CLIENTS * WRITES_PER_CLIENT, CLIENTS, scheduler.carrierCount());
            System.out.printf("store: %d keys of %,d each, %,d writes: %s%n", outcome.values().size(), expectedPerKey,
                    outcome.writes(), right ? "every count right" : "WRONG: " + outcome.values());
            System.out.println("every client's read saw its own writes: " + (outcome.everyReadSawItsWrites() ? "yes" : "NO"));
            System.out.println(outcome.lane());
            if (!right || !outcome.everyReadSawItsWrites()) {
                System.exit(1);
            }
        }
    }

    /** The clients and the lane on {@code scheduler}; the caller's thread waits for them. */
    static Outcome run(FiberScheduler scheduler) throws InterruptedException {
        FiberGroup lane = scheduler.group("store").serial().build();
        Store store = new Store();
        List<Fiber<Boolean>> clients = new ArrayList<>();
        for (int c = 0; c < CLIENTS; c++) {
            int client = c;
            clients.add(scheduler.spawn(() -> {
                String own = "client-" + client; // a key only this client writes: its read must see all of its writes
                for (int i = 0; i < WRITES_PER_CLIENT; i++) {
                    String key = "key-" + (client * WRITES_PER_CLIENT + i) % KEYS;
                    lane.spawn(() -> store.add(key, 1)); // fire and forget: the lane keeps the order
                    if (i % 10 == 9) {
                        Fibers.yield(); // clients interleave on the carriers
                    }
                }
                lane.spawn(() -> store.add(own, WRITES_PER_CLIENT));
                long seen = lane.spawn(() -> store.get(own)).get();
                return seen == WRITES_PER_CLIENT;
            }));
        }
        boolean allSaw = true;
        for (Fiber<Boolean> client : clients) {
            allSaw &= client.get();
        }
        // Every write was spawned before its client's read, and the read has run: a last read through
        // the lane runs after all of them, and hands back a copy made in the lane.
        Map<String, Long> values = lane.spawn(() -> {
            Map<String, Long> copy = new HashMap<>(store.values);
            copy.keySet().removeIf(k -> k.startsWith("client-"));
            return copy;
        }).get();
        long writes = lane.spawn(() -> store.writes() - CLIENTS).get(); // less each client's own write
        return new Outcome(values, writes, allSaw, lane.stats());
    }
}
