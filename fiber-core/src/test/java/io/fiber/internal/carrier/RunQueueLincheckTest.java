package io.fiber.internal.carrier;

import org.jetbrains.lincheck.datastructures.IntGen;
import org.jetbrains.lincheck.datastructures.ModelCheckingOptions;
import org.jetbrains.lincheck.datastructures.Operation;
import org.jetbrains.lincheck.datastructures.Param;
import org.jetbrains.lincheck.datastructures.StressOptions;
import org.junit.jupiter.api.Test;

import java.lang.invoke.MethodHandles;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * {@link RunQueue} against a sequential specification (a bounded FIFO, {@link Spec}) under
 * Lincheck: its model checker, which runs each scenario in many interleavings with a thread switch
 * possible at every shared access, and its stress mode, which runs them on real threads.
 *
 * <p>The ring has one producer, so the owner's operations ({@code offer}, {@code poll}, the overflow
 * path) form one non-parallel group: Lincheck puts them all on one thread, and the steals run on
 * the others. Each operation returns the ids of the tasks it took, so a task taken twice, lost or
 * taken out of order is a result no sequential run could give.
 *
 * <p>Two starting points: an empty ring (steals of half against the owner's offers and polls), and
 * a ring two short of full (offers that fail, the overflow path that moves the older half out, and
 * steals racing it). The ring's capacity is fixed, so the test fills that one before the scenario.
 *
 * <p>{@link RunQueue#size} is left out: it is a snapshot for heuristics, read as two loads, and can
 * report more tasks than the ring ever held at once (the model checker finds that interleaving at
 * once: head read, the owner polls and offers, tail read).
 */
class RunQueueLincheckTest {
    /** Tasks the test offers: 0..3 in the scenarios, from 100 up in a prefill. */
    record Task(int id) implements Runnable {
        @Override
        public void run() {
        }
    }

    /**
     * Clears the ring's assert-only record of its owner, so the next owner-only call becomes the
     * owner: for a ring filled on one thread and then used by another, which a carrier never does.
     */
    static void forgetOwner(RunQueue queue) {
        try {
            MethodHandles.privateLookupIn(RunQueue.class, MethodHandles.lookup())
                    .findVarHandle(RunQueue.class, "owner", Thread.class).set(queue, (Thread) null);
        } catch (ReflectiveOperationException e) {
            throw new AssertionError(e);
        }
    }

    static int id(Runnable task) {
        return task == null ? -1 : ((Task) task).id();
    }

    private static ModelCheckingOptions modelChecking() {
        // Many short scenarios: a race needs two or three particular operations in parallel.
        return new ModelCheckingOptions().iterations(10).invocationsPerIteration(200)
                .threads(3).actorsPerThread(2).actorsBefore(2).actorsAfter(1);
    }

    private static StressOptions stress() {
        return new StressOptions().iterations(10).invocationsPerIteration(2000)
                .threads(3).actorsPerThread(2).actorsBefore(2).actorsAfter(1);
    }

    @Test
    void fromEmptyModelChecking() {
        modelChecking().sequentialSpecification(Spec.class).check(FromEmpty.class);
    }

    @Test
    void fromEmptyStress() {
        stress().sequentialSpecification(Spec.class).check(FromEmpty.class);
    }

    @Test
    void nearlyFullModelChecking() {
        // A steal of half copies 128 slots in a loop, which the model checker would otherwise take for a livelock.
        modelChecking().iterations(3).invocationsPerIteration(50).loopBound(2 * RunQueue.CAPACITY)
                .sequentialSpecification(NearlyFullSpec.class).check(NearlyFull.class);
    }

    @Test
    void nearlyFullStress() {
        stress().iterations(6).sequentialSpecification(NearlyFullSpec.class).check(NearlyFull.class);
    }

    /** The operations, on a ring that starts empty. */
    @Param(name = "task", gen = IntGen.class, conf = "0:3")
    public static class FromEmpty {
        final RunQueue queue = new RunQueue();

        @Operation(nonParallelGroup = "owner")
        public boolean offer(@Param(name = "task") int task) {
            return queue.offer(new Task(task));
        }

        @Operation(nonParallelGroup = "owner")
        public int poll() {
            return id(queue.poll());
        }

        @Operation
        public int stealOne() {
            return id(queue.stealOne());
        }

        /** A thief's steal into its own (empty) ring: the first task to run, then the ones that landed there, in order. */
        @Operation
        public List<Integer> stealInto() {
            RunQueue mine = new RunQueue();
            List<Integer> stolen = new ArrayList<>();
            Runnable first = queue.stealInto(mine);
            if (first != null) {
                stolen.add(id(first));
            }
            for (Runnable r; (r = mine.poll()) != null; ) {
                stolen.add(id(r));
            }
            return stolen;
        }
    }

    /** Two short of full: the owner's offers reach the end of the ring, and the overflow path runs. */
    public static class NearlyFull extends FromEmpty {
        public NearlyFull() {
            for (int i = 0; i < RunQueue.CAPACITY - 2; i++) {
                queue.offer(new Task(100 + i));
            }
            forgetOwner(queue); // Lincheck builds this on another thread than the one it runs the owner's operations on
        }

        /**
         * What a carrier does with a continuation for its own queue ({@code CarrierLoop.pushTail}):
         * offer it, and on a full ring move the older half and it to the inject queue. Returns the
         * ids moved out (empty when the offer went in).
         */
        @Operation(nonParallelGroup = "owner")
        public List<Integer> push(@Param(name = "task") int task) {
            List<Integer> moved = new ArrayList<>();
            Task t = new Task(task);
            while (!queue.offer(t)) {
                if (queue.drainHalfTo(t, r -> moved.add(id(r)))) {
                    break;
                }
            }
            return moved;
        }
    }

    /** The sequential specification: a bounded FIFO; a steal takes the older half, rounded up. */
    @Param(name = "task", gen = IntGen.class, conf = "0:3")
    public static class Spec {
        final ArrayDeque<Integer> fifo = new ArrayDeque<>();

        public boolean offer(@Param(name = "task") int task) {
            if (fifo.size() == RunQueue.CAPACITY) {
                return false;
            }
            fifo.addLast(task);
            return true;
        }

        public int poll() {
            Integer task = fifo.pollFirst();
            return task == null ? -1 : task;
        }

        public int stealOne() {
            return poll();
        }

        public List<Integer> stealInto() {
            List<Integer> stolen = new ArrayList<>();
            int n = fifo.size() - fifo.size() / 2;
            for (int i = 0; i < n; i++) {
                stolen.add(fifo.pollFirst());
            }
            return stolen;
        }
    }

    public static class NearlyFullSpec extends Spec {
        public NearlyFullSpec() {
            for (int i = 0; i < RunQueue.CAPACITY - 2; i++) {
                fifo.addLast(100 + i);
            }
        }

        public List<Integer> push(@Param(name = "task") int task) {
            List<Integer> moved = new ArrayList<>();
            if (fifo.size() < RunQueue.CAPACITY) {
                fifo.addLast(task);
                return moved;
            }
            for (int i = 0; i < RunQueue.CAPACITY / 2; i++) {
                moved.add(fifo.pollFirst());
            }
            moved.add(task);
            return moved;
        }
    }
}
