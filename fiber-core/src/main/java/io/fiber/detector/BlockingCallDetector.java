package io.fiber.detector;

import io.fiber.internal.Settings;
import io.fiber.internal.bridge.FiberBridge;
import io.fiber.internal.carrier.CarrierWatchdog;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.ServiceLoader;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * The blocking-call detector (docs/design.md section 6): flags every call that holds the OS thread while
 * a fiber is mounted, because it stalls the whole carrier loop, its reactor and every fiber on it.
 *
 * <p>What is flagged: file I/O, DNS lookups, process start and pipe I/O, {@code System.in} reads,
 * parks, sleeps and {@code Object.wait} while the fiber is pinned, native methods marked as blocking,
 * and fibers that run longer than {@link #longRunThreshold()} without yielding. A park that unmounts
 * (rerouted sockets, sleeps, {@code java.util.concurrent} locks and queues) is never flagged. The
 * agent patches the JDK's methods listed in its table (docs/detector.md lists them) and self-tests every
 * entry at start-up.
 *
 * <p>Watched: fibers of our schedulers (and virtual threads they start), by default; plain JDK
 * virtual threads and platform threads matching a predicate, on request. For those platform
 * threads, sleeps, parks, waits and socket waits count as blocking too.
 *
 * <p>Modes: {@link Mode#FAIL} throws {@link BlockingCallError} in the offending thread, at the call;
 * {@link Mode#REPORT} logs the call with its stack (through SLF4J, once per distinct stack, then at
 * the 2nd, 4th, 8th... repeat), emits the JFR event {@code io.fiber.BlockingCall} and calls the
 * listeners, then lets the call proceed; {@link Mode#OFF} does nothing. Both FAIL and REPORT call the
 * listeners. The agent option {@code detector=fail|report|off} sets the starting mode (default:
 * report).
 *
 * <p>Needs the agent ({@code -javaagent:fiber-agent.jar}); without it {@link #isAvailable()} is
 * false, the mode stays {@link Mode#OFF} and turning it on throws, saying so.
 */
public final class BlockingCallDetector {
    /** What a flagged call leads to. */
    public enum Mode { FAIL, REPORT, OFF }

    static final Duration DEFAULT_LONG_RUN = Duration.ofMillis(100);
    private static final BlockingCallDetector INSTANCE = new BlockingCallDetector(FiberBridge.isBridged());

    static {
        INSTANCE.start(Settings.DETECTOR.fromSystemProperty()); // the agent option detector=, or -Dfiber.detector
    }

    private final boolean available;
    private final CallCheck check = new CallCheck(this);
    private final Allowances allowances = new Allowances();
    private final CopyOnWriteArrayList<Consumer<BlockingCall>> listeners = new CopyOnWriteArrayList<>();
    private volatile Mode mode = Mode.OFF;
    private boolean warm;
    private volatile Predicate<Thread> platformThreads;
    private volatile boolean virtualThreads;
    /** Bit per {@link BlockingCategory} ordinal: allowed everywhere. */
    private volatile int allowedCategories = 1 << BlockingCategory.CONSOLE.ordinal();
    private volatile Duration longRunThreshold = DEFAULT_LONG_RUN;
    /** Calls flagged so far, by {@link BlockingCategory} ordinal. */
    private final AtomicLongArray flagged = new AtomicLongArray(BlockingCategory.values().length);

    BlockingCallDetector(boolean available) {
        this.available = available;
    }

    /**
     * How many calls of {@code category} the detector has flagged in this JVM (in any mode but OFF,
     * whatever each then led to: a report, an exception), counting repeats of the same call; for
     * metrics (fiber-micrometer's {@code fiber.detector.calls}).
     */
    public long flaggedCount(BlockingCategory category) {
        return flagged.get(category.ordinal());
    }

    /** Counts a flagged call; by the check, as it publishes one. */
    void countFlagged(BlockingCategory category) {
        flagged.incrementAndGet(category.ordinal());
    }

    /** The detector of this JVM. */
    public static BlockingCallDetector get() {
        return INSTANCE;
    }

    /**
     * Applies the {@link BlockingCallIntegration}s on the class path and the starting mode. Without
     * the agent there is nothing to apply them to. An integration that fails is reported and
     * skipped: a library's settings must not stop the program.
     */
    private void start(String modeOption) {
        if (!available) {
            return;
        }
        Mode initial = modeOption == null || modeOption.isBlank() ? Mode.REPORT : parseMode(modeOption);
        List<BlockingCallIntegration> integrations = new ArrayList<>();
        ServiceLoader.load(BlockingCallIntegration.class, BlockingCallDetector.class.getClassLoader()).forEach(integrations::add);
        integrations.sort(Comparator.comparingInt(BlockingCallIntegration::priority));
        for (BlockingCallIntegration integration : integrations) {
            try {
                integration.applyTo(this);
            } catch (RuntimeException e) {
                System.err.println("fiber-agent: the blocking-call detector skipped the integration "
                        + integration.getClass().getName() + ", which failed: " + e);
            }
        }
        mode(initial);
        CarrierWatchdog.observeLongRuns(new LongRunReporter(this));
    }

    /** Parses {@code fail}, {@code report} or {@code off}, any case; throws naming the valid choices. */
    public static Mode parseMode(String text) {
        try {
            return Mode.valueOf(text.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("detector mode '" + text + "' is invalid: it must be fail, report or off");
        }
    }

    /** True when the agent patched the JDK, so the detector can be on. */
    public boolean isAvailable() {
        return available;
    }

    public Mode mode() {
        return mode;
    }

    /**
     * Switches the mode for the whole JVM, from now on.
     *
     * @throws IllegalStateException turning it on without the agent
     */
    public BlockingCallDetector mode(Mode newMode) {
        if (newMode == null) {
            throw new IllegalArgumentException("mode must be FAIL, REPORT or OFF, not null");
        }
        if (newMode != Mode.OFF && !available) {
            throw new IllegalStateException("the blocking-call detector needs the fiber agent: launch the JVM with"
                    + " -javaagent:fiber-agent.jar (docs/agent.md names the file)");
        }
        synchronized (this) {
            if (newMode != Mode.OFF && !warm) {
                check.warmUp();
                warm = true;
            }
            mode = newMode;
            FiberBridge.setDetector(newMode == Mode.OFF ? null : check);
        }
        return this;
    }

    /** Allows blocking anywhere below a frame of {@code className.methodName} (every overload), unless disallowed deeper. */
    public BlockingCallDetector allowBlockingInside(String className, String methodName) {
        allowances.set(className, methodName, true);
        return this;
    }

    /** Flags blocking below a frame of {@code className.methodName} again, inside an allowing frame. */
    public BlockingCallDetector disallowBlockingInside(String className, String methodName) {
        allowances.set(className, methodName, false);
        return this;
    }

    /**
     * Flags every call of a method, in the category {@link BlockingCategory#NATIVE} for a native
     * method and {@link BlockingCategory#MARKED} for a Java one. A native method can only be marked
     * before its class is loaded; a Java method at any time.
     *
     * @param className  binary name, such as {@code org.sqlite.core.NativeDB}
     * @param methodName the method's name
     * @param descriptor its JVM descriptor, such as {@code (J)I}
     * @throws IllegalStateException    without the agent, or when the method cannot be patched
     * @throws IllegalArgumentException when the names or the descriptor are malformed
     */
    public BlockingCallDetector markAsBlocking(String className, String methodName, String descriptor) {
        FiberBridge.Patcher patcher = FiberBridge.patcher();
        if (patcher == null) {
            throw new IllegalStateException("markAsBlocking(" + className + "." + methodName + ") needs the fiber agent:"
                    + " launch the JVM with -javaagent:fiber-agent.jar");
        }
        patcher.markAsBlocking(className, methodName, descriptor, BlockingCategory.MARKED.ordinal());
        return this;
    }

    /** Also watches platform threads matching {@code predicate} (or-ed with earlier ones); keep it cheap, it runs on every listed call. */
    public BlockingCallDetector watchThreads(Predicate<Thread> predicate) {
        if (predicate == null) {
            throw new IllegalArgumentException("the thread predicate must not be null");
        }
        synchronized (this) {
            Predicate<Thread> previous = platformThreads;
            platformThreads = previous == null ? predicate : previous.or(predicate);
        }
        return this;
    }

    /** Forgets every thread predicate given to {@link #watchThreads}. */
    public synchronized BlockingCallDetector stopWatchingThreads() {
        platformThreads = null;
        return this;
    }

    /**
     * Whether virtual threads that are not fibers (on the JDK's scheduler: the agent's
     * {@code virtual=jdk}) are watched too, for what pins their carrier. Under the agent's default
     * every virtual thread is a fiber, and watched anyway.
     */
    public BlockingCallDetector watchVirtualThreads(boolean watch) {
        virtualThreads = watch;
        return this;
    }

    /** Stops flagging a whole category; {@link BlockingCategory#CONSOLE} is allowed by default. */
    public synchronized BlockingCallDetector allowCategory(BlockingCategory category) {
        allowedCategories |= 1 << category.ordinal();
        return this;
    }

    public synchronized BlockingCallDetector disallowCategory(BlockingCategory category) {
        allowedCategories &= ~(1 << category.ordinal());
        return this;
    }

    /**
     * Registers a listener for every flagged call, on the thread that made it (for a long run, on the
     * watchdog thread). It must not block for long. Close the returned handle to remove it.
     */
    public AutoCloseable addListener(Consumer<BlockingCall> listener) {
        if (listener == null) {
            throw new IllegalArgumentException("the listener must not be null");
        }
        listeners.add(listener);
        return () -> listeners.remove(listener);
    }

    /** How long a fiber may run without yielding before it is flagged as a {@link BlockingCategory#LONG_RUN}. */
    public Duration longRunThreshold() {
        return longRunThreshold;
    }

    public BlockingCallDetector longRunThreshold(Duration threshold) {
        if (threshold == null || threshold.isNegative() || threshold.isZero()) {
            throw new IllegalArgumentException("the long-run threshold must be positive, got " + threshold);
        }
        longRunThreshold = threshold;
        return this;
    }

    boolean watchesVirtualThreads() {
        return virtualThreads;
    }

    Predicate<Thread> platformThreads() {
        return platformThreads;
    }

    boolean isAllowed(BlockingCategory category) {
        return (allowedCategories & (1 << category.ordinal())) != 0;
    }

    Allowances allowances() {
        return allowances;
    }

    List<Consumer<BlockingCall>> listeners() {
        return listeners;
    }

    CallCheck check() {
        return check;
    }
}
