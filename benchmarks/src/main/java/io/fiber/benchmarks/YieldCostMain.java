package io.fiber.benchmarks;

import io.fiber.Fibers;

import java.lang.instrument.Instrumentation;
import java.util.Arrays;
import java.util.concurrent.CountDownLatch;

/**
 * What one yield (an unmount and a mount of the continuation) costs a fiber or a JDK virtual
 * thread: one thread calls {@code Thread.yield()} {@code YIELDS} times alone on its carrier, per
 * round; prints each round and the median of all rounds but the first two (JIT warm-up).
 * {@code benchmarks/scripts/switch-cost.sh} runs it with and without a Java agent: any agent gives the JVM a
 * JVMTI environment, and from then on every mount and unmount of every virtual thread is a JVMTI
 * transition.
 *
 * <pre>
 * java [-javaagent:JAR] -cp benchmarks/target/benchmarks.jar io.fiber.benchmarks.YieldCostMain fiber|vthread [YIELDS] [ROUNDS]
 * </pre>
 * The benchmarks jar is itself a Java agent that does nothing ({@link #premain}), to measure what any
 * agent costs.
 */
public final class YieldCostMain {
    private YieldCostMain() { }

    /** The no-op agent: {@code -javaagent:benchmarks/target/benchmarks.jar}. */
    public static void premain(String options, Instrumentation instrumentation) {
        // nothing: the cost measured is that of having an agent at all
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 1 || !(args[0].equals("fiber") || args[0].equals("vthread"))) {
            System.err.println("usage: YieldCostMain fiber|vthread [YIELDS] [ROUNDS]");
            System.exit(2);
        }
        boolean fiber = args[0].equals("fiber");
        int yields = args.length > 1 ? Integer.parseInt(args[1]) : 2_000_000;
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 7;
        double[] perYield = new double[rounds];
        for (int round = 0; round < rounds; round++) {
            CountDownLatch done = new CountDownLatch(1);
            Runnable yielder = () -> {
                for (int i = 0; i < yields; i++) {
                    Thread.yield();
                }
                done.countDown();
            };
            long start = System.nanoTime();
            if (fiber) {
                Fibers.spawn(yielder);
            } else {
                Thread.ofVirtual().start(yielder);
            }
            done.await();
            perYield[round] = (double) (System.nanoTime() - start) / yields;
            System.out.printf("round %d: %.0f ns per yield%n", round, perYield[round]);
        }
        double[] measured = Arrays.copyOfRange(perYield, Math.min(2, rounds - 1), rounds);
        Arrays.sort(measured);
        System.out.printf("result %s: %.0f ns per yield (median of %d rounds)%n", args[0], measured[measured.length / 2], measured.length);
        System.exit(0);
    }
}
