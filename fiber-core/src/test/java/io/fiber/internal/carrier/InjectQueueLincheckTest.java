package io.fiber.internal.carrier;

import org.jetbrains.lincheck.datastructures.IntGen;
import org.jetbrains.lincheck.datastructures.ModelCheckingOptions;
import org.jetbrains.lincheck.datastructures.Operation;
import org.jetbrains.lincheck.datastructures.Param;
import org.jetbrains.lincheck.datastructures.StressOptions;
import org.jetbrains.lincheck.datastructures.verifier.QuiescentConsistencyVerifier;
import org.jetbrains.lincheck.datastructures.verifier.QuiescentConsistent;
import org.junit.jupiter.api.Test;

import java.util.ArrayDeque;

/**
 * {@link InjectQueue} against a sequential specification (two FIFO lanes, {@link Spec}) under
 * Lincheck's model checker and its stress mode. Tasks 0 and 1 are fibers that have not started
 * (the new-fiber lane), 2 and 3 plain continuations (work under way).
 *
 * <p>The one-lane operations are checked for linearizability. The two-lane ones ({@code poll},
 * {@code poll(true)}, {@code isEmpty}) read one lane, then the other, so a task offered to the lane
 * already read while another is taken from the lane still to read makes them answer "empty" of a
 * queue that never was: Lincheck finds that at once. They are checked for quiescent consistency
 * instead, which is what their callers rely on: a task in the queue throughout the call is seen, and
 * one offered during it is its submitter's to announce (the wakeup handshake, {@link IdleCarriers}).
 */
class InjectQueueLincheckTest {
    private static final Runnable[] TASKS = {
            new FiberTask(null, null, false), new FiberTask(null, null, false),
            new RunQueueLincheckTest.Task(2), new RunQueueLincheckTest.Task(3)};

    static int id(Runnable task) {
        for (int i = 0; i < TASKS.length; i++) {
            if (TASKS[i] == task) {
                return i;
            }
        }
        return -1;
    }

    @Test
    void modelChecking() {
        new ModelCheckingOptions().iterations(10).invocationsPerIteration(200)
                .threads(3).actorsPerThread(2).actorsBefore(3).actorsAfter(1)
                .sequentialSpecification(Spec.class).verifier(QuiescentConsistencyVerifier.class).check(Queue.class);
    }

    @Test
    void stress() {
        new StressOptions().iterations(10).invocationsPerIteration(2000)
                .threads(3).actorsPerThread(2).actorsBefore(3).actorsAfter(1)
                .sequentialSpecification(Spec.class).verifier(QuiescentConsistencyVerifier.class).check(Queue.class);
    }

    @Param(name = "task", gen = IntGen.class, conf = "0:3")
    public static class Queue {
        private final InjectQueue queue = new InjectQueue();

        @Operation
        public void offer(@Param(name = "task") int task) {
            queue.offer(TASKS[task]);
        }

        @Operation
        public void offerUnderway(@Param(name = "task") int task) {
            queue.offerUnderway(TASKS[task]);
        }

        @Operation
        @QuiescentConsistent
        public int poll() {
            return id(queue.poll());
        }

        @Operation
        @QuiescentConsistent
        public int pollFreshFirst() {
            return id(queue.poll(true));
        }

        @Operation
        public int pollUnderway() {
            return id(queue.pollUnderway());
        }

        @Operation
        @QuiescentConsistent
        public boolean isEmpty() {
            return queue.isEmpty();
        }
    }

    @Param(name = "task", gen = IntGen.class, conf = "0:3")
    public static class Spec {
        private final ArrayDeque<Integer> underway = new ArrayDeque<>();
        private final ArrayDeque<Integer> fresh = new ArrayDeque<>();

        public void offer(@Param(name = "task") int task) {
            (task < 2 ? fresh : underway).addLast(task);
        }

        public void offerUnderway(@Param(name = "task") int task) {
            underway.addLast(task);
        }

        public int poll() {
            Integer t = underway.pollFirst();
            if (t == null) {
                t = fresh.pollFirst();
            }
            return t == null ? -1 : t;
        }

        public int pollFreshFirst() {
            Integer t = fresh.pollFirst();
            if (t == null) {
                t = underway.pollFirst();
            }
            return t == null ? -1 : t;
        }

        public int pollUnderway() {
            Integer t = underway.pollFirst();
            return t == null ? -1 : t;
        }

        public boolean isEmpty() {
            return underway.isEmpty() && fresh.isEmpty();
        }
    }
}
