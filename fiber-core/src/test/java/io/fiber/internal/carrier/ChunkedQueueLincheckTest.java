package io.fiber.internal.carrier;

import org.jetbrains.lincheck.datastructures.IntGen;
import org.jetbrains.lincheck.datastructures.ModelCheckingOptions;
import org.jetbrains.lincheck.datastructures.Operation;
import org.jetbrains.lincheck.datastructures.Param;
import org.jetbrains.lincheck.datastructures.StressOptions;
import org.junit.jupiter.api.Test;

import java.util.ArrayDeque;

/**
 * {@link ChunkedQueue} against a sequential FIFO ({@link Spec}) under Lincheck, with chunks of two
 * slots so that scenarios cross chunk boundaries: offers from any thread, polls from any thread
 * (carriers take from the inject queue concurrently), and the lock-free {@code isEmpty} that
 * carriers consult before they sleep. Each poll returns the id of the task it took, so a task taken
 * twice, lost or out of order is a result no sequential run could give.
 */
class ChunkedQueueLincheckTest {
    record Task(int id) implements Runnable {
        @Override
        public void run() {
        }
    }

    @Test
    void modelChecking() {
        new ModelCheckingOptions().iterations(20).invocationsPerIteration(200)
                .threads(3).actorsPerThread(2).actorsBefore(3).actorsAfter(2)
                .sequentialSpecification(Spec.class).check(Queue.class);
    }

    @Test
    void stress() {
        new StressOptions().iterations(20).invocationsPerIteration(2000)
                .threads(3).actorsPerThread(3).actorsBefore(3).actorsAfter(2)
                .sequentialSpecification(Spec.class).check(Queue.class);
    }

    @Param(name = "id", gen = IntGen.class, conf = "0:5")
    public static class Queue {
        private final ChunkedQueue queue = new ChunkedQueue(2);

        @Operation
        public void offer(@Param(name = "id") int id) {
            queue.offer(new Task(id));
        }

        @Operation
        public int poll() {
            Runnable task = queue.poll();
            return task == null ? -1 : ((Task) task).id();
        }

        @Operation
        public boolean isEmpty() {
            return queue.isEmpty();
        }
    }

    @Param(name = "id", gen = IntGen.class, conf = "0:5")
    public static class Spec {
        private final ArrayDeque<Integer> queue = new ArrayDeque<>();

        public void offer(@Param(name = "id") int id) {
            queue.add(id);
        }

        public int poll() {
            Integer id = queue.poll();
            return id == null ? -1 : id;
        }

        public boolean isEmpty() {
            return queue.isEmpty();
        }
    }
}
