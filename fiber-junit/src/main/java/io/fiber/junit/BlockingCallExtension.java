package io.fiber.junit;

import io.fiber.detector.BlockingCall;
import io.fiber.detector.BlockingCallDetector;
import io.fiber.detector.BlockingCallDetector.Mode;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionConfigurationException;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.opentest4j.AssertionFailedError;
import org.opentest4j.TestAbortedException;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Fails a test whose fibers made blocking calls, listing every call with its stack. Use it through
 * {@link DetectBlockingCalls} or {@code @ExtendWith(BlockingCallExtension.class)}, on a class or a
 * method.
 *
 * <p>Before each test it registers a listener with the {@link BlockingCallDetector}; after the
 * test it removes it and, if the detector flagged anything in between, fails the test with an
 * {@link AssertionFailedError}: "N blocking call(s) in fibers during test():", then each call's
 * {@link BlockingCall#describe()}. The detector flags calls of fibers, and of platform or virtual
 * threads only when the code watches them ({@code watchThreads}, {@code watchVirtualThreads}), so
 * those count too. A test that failed on its own keeps its failure; the list is attached to it as
 * suppressed.
 *
 * <p>The mode: {@code OFF} becomes {@code REPORT} for the test and is restored after it.
 * {@code REPORT} and {@code FAIL} are left as they are; in {@code FAIL} the call throws
 * {@code BlockingCallError} in the fiber, and the test fails here even when the code swallowed it.
 *
 * <p>Calls are attributed by time: everything flagged between this extension's before-each and
 * after-each callbacks counts, so {@code @BeforeEach} and {@code @AfterEach} methods included,
 * whichever test started the fiber. Under parallel test execution a call can therefore be counted
 * for another test running at the same time, and a fiber still running after its test is missed
 * or counted for the next one: join the fibers a test starts.
 *
 * <p>Needs the fiber agent: without it every test fails in its set-up with a message saying how to
 * add it, rather than passing without looking.
 */
public final class BlockingCallExtension implements BeforeEachCallback, AfterEachCallback {
    /** Calls listed in one failure; the rest are only counted, so a loop of reads cannot flood it. */
    static final int LISTED = 100;
    static final String NO_AGENT = "the blocking-call detector needs the fiber agent, and this JVM runs without it:"
            + " run the tests with -javaagent:<path>/fiber-agent.jar (Maven: the surefire plugin's <argLine>;"
            + " docs/testing.md shows it)";
    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(BlockingCallExtension.class);

    @Override
    public void beforeEach(ExtensionContext context) {
        BlockingCallDetector detector = BlockingCallDetector.get();
        if (!detector.isAvailable()) {
            throw new ExtensionConfigurationException("@DetectBlockingCalls: " + NO_AGENT);
        }
        Mode before = detector.mode();
        if (before == Mode.OFF) {
            detector.mode(Mode.REPORT);
        }
        context.getStore(NAMESPACE).put(Recording.class, new Recording(detector, before));
    }

    @Override
    public void afterEach(ExtensionContext context) {
        Recording recording = context.getStore(NAMESPACE).remove(Recording.class, Recording.class);
        if (recording == null) {
            return; // beforeEach failed
        }
        recording.stop();
        if (recording.count.get() == 0) {
            return;
        }
        AssertionFailedError failure = new AssertionFailedError(recording.report(context.getDisplayName()));
        Throwable own = context.getExecutionException().filter(t -> !(t instanceof TestAbortedException)).orElse(null);
        if (own == null) {
            throw failure;
        }
        own.addSuppressed(failure);
    }

    /** The calls flagged during one test, from any thread. */
    private static final class Recording {
        private final BlockingCallDetector detector;
        private final Mode before;
        private final List<BlockingCall> calls = new ArrayList<>();
        private final AtomicInteger count = new AtomicInteger();
        private final AutoCloseable listener;
        private volatile boolean watchedThread;

        Recording(BlockingCallDetector detector, Mode before) {
            this.detector = detector;
            this.before = before;
            this.listener = detector.addListener(this::add);
        }

        private void add(BlockingCall call) {
            if (!call.fiber()) {
                watchedThread = true;
            }
            if (count.incrementAndGet() <= LISTED) {
                synchronized (calls) {
                    calls.add(call);
                }
            }
        }

        void stop() {
            try {
                listener.close();
            } catch (Exception e) {
                throw new IllegalStateException("could not remove the blocking-call listener", e);
            } finally {
                if (before == Mode.OFF) {
                    detector.mode(Mode.OFF);
                }
            }
        }

        String report(String test) {
            synchronized (calls) {
                StringBuilder sb = new StringBuilder().append(count.get()).append(" blocking call(s) in ")
                        .append(watchedThread ? "fibers or watched threads" : "fibers").append(" during ").append(test).append(':');
                for (BlockingCall call : calls) {
                    sb.append("\n\n").append(call.describe());
                }
                if (count.get() > calls.size()) {
                    sb.append("\n\n(").append(count.get() - calls.size()).append(" more not listed)");
                }
                return sb.toString();
            }
        }
    }
}
