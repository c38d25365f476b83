package io.fiber.benchmarks;

import io.fiber.internal.bridge.FiberBridge;
import io.fiber.detector.BlockingCallDetector;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * What the blocking-call detector's check costs a thread it does not watch: the JMH thread (a
 * platform thread, and the detector watches no platform thread unless asked) calls a JDK method
 * the agent patches, whose own body is nearly empty, in three JVM configurations side by side.
 *
 * <ul>
 *   <li>{@code parkNanos0}: {@code LockSupport.parkNanos(0L)}, patched (one of the 44 entries of
 *       the agent's table). With 0 the JDK's body is one {@code if (nanos > 0)}, so what is left
 *       under the agent is the inserted entry call: {@code FiberBridge.blockingCall}, which reads
 *       the detector (a volatile read), and when a detector is installed, its {@code blockingCall}, which for a platform thread
 *       with no predicate is {@code Thread.currentThread().isVirtual()} and one more volatile read.</li>
 *   <li>{@code unparkNull}: {@code LockSupport.unpark(null)}, the same class and shape, not patched:
 *       the baseline, which the agent must leave alone.</li>
 * </ul>
 * Each method runs in three configurations, one method each, because JVM options are per method
 * in JMH: {@code _agentNone} (no agent), {@code _agentOff} (the agent with {@code detector=off}:
 * the patch is in, the bridge's detector is null, only the null test remains) and
 * {@code _agentReport} (the agent with {@code detector=report}, its default). The per-check cost is
 * {@code parkNanos0_agentReport - parkNanos0_agentNone}; {@link DetectorCheckMain} prints it.
 *
 * <p>The agent is {@value #AGENT_JAR}, relative to the working directory, which must be the
 * repository root ({@code ./run bench detector} runs there and builds the jar first). Every fork
 * gets {@code -Dbench.detector=none|off|report}, and the trial checks at set-up that its JVM is in
 * that configuration, and at tear-down that {@code parkNanos} is patched exactly when the agent is
 * there (the probe runs after the measurement, so it cannot change what the JIT saw).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
public class DetectorCheckBenchmark {
    /** The agent jar, relative to the repository root. */
    public static final String AGENT_JAR = "fiber-agent/target/fiber-agent.jar";
    static final String CONFIG_PROPERTY = "bench.detector";
    private static final String HEAP = "-Xmx1g";
    private static final String NONE = "-D" + CONFIG_PROPERTY + "=none";
    private static final String OFF = "-D" + CONFIG_PROPERTY + "=off";
    private static final String REPORT = "-D" + CONFIG_PROPERTY + "=report";
    private static final String AGENT_OFF = "-javaagent:" + AGENT_JAR + "=detector=off";
    private static final String AGENT_REPORT = "-javaagent:" + AGENT_JAR + "=detector=report";

    /** A field, not a constant, so the JIT cannot fold {@code parkNanos(0)} away at compile time. */
    public long zero;
    /** The same for {@code unpark}. */
    public Thread noThread;

    @Setup(Level.Trial)
    public void checkConfiguration() {
        String config = System.getProperty(CONFIG_PROPERTY);
        BlockingCallDetector detector = BlockingCallDetector.get();
        FiberBridge.Detector installed = FiberBridge.detector();
        String state = "agent " + (detector.isAvailable() ? "loaded" : "absent") + ", detector mode " + detector.mode()
                + ", FiberBridge.detector() = " + (installed == null ? "null" : installed.getClass().getName());
        boolean ok = switch (String.valueOf(config)) {
            case "none" -> !detector.isAvailable() && installed == null;
            case "off" -> detector.isAvailable() && detector.mode() == BlockingCallDetector.Mode.OFF && installed == null;
            case "report" -> detector.isAvailable() && detector.mode() == BlockingCallDetector.Mode.REPORT && installed != null;
            default -> false;
        };
        if (!ok) {
            throw new IllegalStateException("this fork should run configuration " + CONFIG_PROPERTY + "=" + config
                    + " but has " + state + " (run from the repository root, with " + AGENT_JAR + " built)");
        }
        if (Thread.currentThread().isVirtual()) {
            throw new IllegalStateException("the benchmark thread must be a platform thread (unwatched)");
        }
        System.out.println("\n[bench] configuration " + config + ": " + state);
    }

    /** After the measurement: {@code parkNanos} reaches the detector exactly when the agent is loaded. */
    @TearDown(Level.Trial)
    public void checkPatched() {
        boolean agent = BlockingCallDetector.get().isAvailable();
        Thread self = Thread.currentThread();
        AtomicInteger calls = new AtomicInteger();
        FiberBridge.Detector probe = (method, category, rule, receiver) -> {
            if (Thread.currentThread() == self && method.contains("parkNanos")) {
                calls.incrementAndGet();
            }
        };
        FiberBridge.Detector old = FiberBridge.setDetector(probe);
        try {
            LockSupport.parkNanos(0L);
        } finally {
            FiberBridge.setDetector(old);
        }
        if (calls.get() != (agent ? 1 : 0)) {
            throw new IllegalStateException("LockSupport.parkNanos reached the detector " + calls.get() + " times with the agent "
                    + (agent ? "loaded" : "absent"));
        }
    }

    @Benchmark
    @Fork(value = 2, jvmArgsAppend = {HEAP, NONE})
    public void parkNanos0_agentNone() {
        LockSupport.parkNanos(zero);
    }

    @Benchmark
    @Fork(value = 2, jvmArgsAppend = {HEAP, OFF, AGENT_OFF})
    public void parkNanos0_agentOff() {
        LockSupport.parkNanos(zero);
    }

    @Benchmark
    @Fork(value = 2, jvmArgsAppend = {HEAP, REPORT, AGENT_REPORT})
    public void parkNanos0_agentReport() {
        LockSupport.parkNanos(zero);
    }

    @Benchmark
    @Fork(value = 2, jvmArgsAppend = {HEAP, NONE})
    public void unparkNull_agentNone() {
        LockSupport.unpark(noThread);
    }

    @Benchmark
    @Fork(value = 2, jvmArgsAppend = {HEAP, OFF, AGENT_OFF})
    public void unparkNull_agentOff() {
        LockSupport.unpark(noThread);
    }

    @Benchmark
    @Fork(value = 2, jvmArgsAppend = {HEAP, REPORT, AGENT_REPORT})
    public void unparkNull_agentReport() {
        LockSupport.unpark(noThread);
    }
}
