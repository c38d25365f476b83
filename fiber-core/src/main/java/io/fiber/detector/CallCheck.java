package io.fiber.detector;

import io.fiber.internal.bridge.FiberBridge;
import io.fiber.internal.RuntimeLog;
import io.fiber.internal.carrier.CarrierThread;
import io.fiber.internal.jdk.VirtualThreadHook;
import jdk.jfr.FlightRecorder;

import java.time.Instant;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * The check every listed JDK method calls at its entry (through {@link FiberBridge#blockingCall},
 * the one call the agent inserts), and what happens to a call it flags.
 *
 * <p>The fast path, for every call of every thread: one volatile read in the bridge, then here
 * {@code currentThread().isVirtual()} and a rule test. A platform thread costs one more volatile
 * read when no thread predicate is set. Only a watched thread making a listed call goes further:
 * <ol>
 *   <li>the call's category may be allowed as a whole ({@link BlockingCategory#CONSOLE} by default);</li>
 *   <li>one stack walk, which serves three purposes: for {@code Object.wait} of a virtual thread,
 *       whether it is pinned (a native frame or a class initialiser on its stack; otherwise the wait
 *       unmounts and is fine); whether an allowance covers the call (the innermost listed frame
 *       decides, {@link Allowances}); and the stack of the report;</li>
 *   <li>{@link #publish}: the JFR event, the listeners, and in REPORT mode the log line. Blocking
 *       inside {@code publish} is allowed, so reporting cannot recurse. Then, in FAIL mode, the
 *       {@link BlockingCallError}, thrown at the entry of the JDK method, before it did anything.</li>
 * </ol>
 */
final class CallCheck implements FiberBridge.Detector {
    private static final int MAX_FRAMES = 256;
    private static final int MAX_LOGGED_STACKS = 10_000;
    private static final StackWalker WALKER = StackWalker.getInstance();
    private static final String OWN_PACKAGE = CallCheck.class.getPackageName() + ".";
    private static final String BRIDGE = FiberBridge.class.getName();
    /** Linked once, here: {@link #warmUp} must leave the check no call site to link later. */
    private static final Function<StackWalker.StackFrame, String> CLASS_NAME = StackWalker.StackFrame::getClassName;
    private static final Function<StackWalker.StackFrame, String> METHOD_NAME = StackWalker.StackFrame::getMethodName;

    /**
     * Set on a thread while it is inside {@link #check}. Whatever the check does that the JDK counts
     * as blocking (a class its report loads from a jar, the log's first write) comes back here on
     * the same thread; it returns at once instead of checking, or recursing, again.
     */
    private static final ThreadLocal<InCheck> IN_CHECK = new ThreadLocal<>();

    private static final class InCheck {
        boolean active;
    }

    private final BlockingCallDetector detector;
    /** Stacks already logged, with how often each was seen since; repeats log at powers of two. */
    private final ConcurrentHashMap<Integer, AtomicLong> logged = new ConcurrentHashMap<>();

    CallCheck(BlockingCallDetector detector) {
        this.detector = detector;
    }

    /**
     * Loads and links everything the check touches before it goes live. The check runs inside the
     * JDK's class loading (reading a jar is file I/O), holding the loader's locks; loading a class
     * there could deadlock with another thread loading from the same jar. Only the log, started
     * by the first report, stays lazy, and a report never comes from inside class loading (allowed).
     * So does the JFR event when no recording has started JFR yet: defining a {@code jdk.jfr.Event}
     * class starts JFR's event machinery, some 230 classes, in a JVM that may never record.
     *
     * <p>This runs on a platform thread, so it cannot take the virtual-thread path; that path asks
     * {@link CarrierThread#callerOnCarrier}, which loads nothing until a scheduler exists (and by then has
     * everything it touches loaded). {@link #IN_CHECK} is the net under all of it: whatever the
     * check still does that comes back to the check on the same thread returns at once.
     */
    void warmUp() {
        CarrierThread.callerOnCarrier();
        List<StackWalker.StackFrame> frames = walk();
        pinned(frames);
        detector.allowances().allows(frames, CLASS_NAME, METHOD_NAME);
        for (StackWalker.StackFrame frame : frames) {
            frame.toStackTraceElement();
        }
        BlockingCategory.of(BlockingCategory.FILE_IO, this);
        carrierOf(Thread.currentThread());
        VirtualThreadHook.isAvailable(); // initialised here, off the check's path: carrierOf asks it on virtual threads
        InCheck inCheck = enter();
        if (inCheck != null) {
            inCheck.active = false;
        }
        BlockingCall call = new BlockingCall("warm-up", BlockingCategory.FILE_IO, nameOf(Thread.currentThread()), false, null, null,
                Instant.now(), new StackTraceElement[0]);
        new BlockingCallError(call).getStackTrace();
        if (FlightRecorder.isInitialized()) {
            new BlockingCallEvent().shouldCommit(); // links the event class without recording one
        }
        Long.bitCount(java.util.Arrays.hashCode(call.stackTrace()));
        logged.get(0);
    }

    private static List<StackWalker.StackFrame> walk() {
        return WALKER.walk(s -> s.dropWhile(CallCheck::isCheckFrame).limit(MAX_FRAMES).toList());
    }

    /** A frame of the check itself or of the bridge's entry point: a report's stack starts below them, at the JDK method. */
    private static boolean isCheckFrame(StackWalker.StackFrame frame) {
        return frame.getClassName().startsWith(OWN_PACKAGE) || frame.getClassName().equals(BRIDGE);
    }

    @Override
    public void blockingCall(String method, int category, int rule, Object receiver) {
        Thread thread = Thread.currentThread();
        boolean virtual = thread.isVirtual();
        boolean onCarrier = false;
        Predicate<Thread> watched = null;
        if (virtual) {
            if (rule == PLATFORM_THREAD) {
                return; // a virtual thread's park unmounts; a pinned one is caught in parkOnCarrierThread
            }
            onCarrier = CarrierThread.callerOnCarrier(); // loads nothing until a scheduler exists: see there
            if (!onCarrier && !detector.watchesVirtualThreads()) {
                return;
            }
        } else if (rule == PINNED || (watched = detector.platformThreads()) == null) {
            return;
        }
        InCheck inCheck = enter();
        if (inCheck == null) {
            return;
        }
        try {
            // The user's thread predicate runs inside the guard: it may do anything, load classes included.
            if (virtual || watched.test(thread)) {
                check(thread, onCarrier, method, BlockingCategory.of(BlockingCategory.values()[category], receiver), rule);
            }
        } finally {
            inCheck.active = false;
        }
    }

    /** Marks the calling thread as inside the check; null when it already is (a call the check itself made). */
    private static InCheck enter() {
        InCheck inCheck = IN_CHECK.get();
        if (inCheck == null) {
            inCheck = new InCheck();
            IN_CHECK.set(inCheck);
        } else if (inCheck.active) {
            return null;
        }
        inCheck.active = true;
        return inCheck;
    }

    private void check(Thread thread, boolean onCarrier, String method, BlockingCategory category, int rule) {
        if (detector.isAllowed(category)) {
            return;
        }
        List<StackWalker.StackFrame> frames = walk();
        if (rule == WAIT && thread.isVirtual() && !pinned(frames)) {
            return;
        }
        if (detector.allowances().allows(frames, CLASS_NAME, METHOD_NAME)) {
            return;
        }
        StackTraceElement[] stack = new StackTraceElement[frames.size()];
        for (int i = 0; i < stack.length; i++) {
            stack[i] = frames.get(i).toStackTraceElement();
        }
        BlockingCall call = new BlockingCall(method, category, nameOf(thread), onCarrier, carrierOf(thread), null, Instant.now(), stack);
        BlockingCallDetector.Mode mode = detector.mode();
        publish(call, mode);
        if (mode == BlockingCallDetector.Mode.FAIL) {
            throw new BlockingCallError(call);
        }
    }

    /**
     * Tells the world about a call: JFR, listeners, and (REPORT mode, or a call FAIL mode cannot
     * throw for, such as a long run) the log. Blocking below this frame is allowed.
     */
    void publish(BlockingCall call, BlockingCallDetector.Mode mode) {
        detector.countFlagged(call.category());
        if (FlightRecorder.isInitialized()) { // no recording before that; loading the event class would start JFR's machinery
            BlockingCallEvent.emit(call);
        }
        for (Consumer<BlockingCall> listener : detector.listeners()) {
            try {
                listener.accept(call);
            } catch (RuntimeException e) {
                Log.warn("a blocking-call listener failed: " + e);
            }
        }
        if (mode == BlockingCallDetector.Mode.REPORT || call.category() == BlockingCategory.LONG_RUN) {
            log(call);
        }
    }

    /** The first time a stack is seen: a warning with the stack; repeats: one line at the 2nd, 4th, 8th... time. */
    private void log(BlockingCall call) {
        int key = call.method().hashCode() * 31 + java.util.Arrays.hashCode(call.stackTrace());
        AtomicLong seen = logged.get(key);
        if (seen == null && logged.size() < MAX_LOGGED_STACKS) {
            seen = logged.putIfAbsent(key, new AtomicLong(1));
            if (seen == null) {
                Log.warn(call.describe());
                return;
            }
        }
        long n = seen == null ? 0 : seen.incrementAndGet();
        if (seen == null || Long.bitCount(n) == 1) {
            Log.warn(call.message() + " (the same stack seen " + n + " times; logged in full the first time)");
        }
    }

    /** JDK 25 pins a virtual thread with a native frame (JNI or FFM) or a VM call (class initialiser) on its stack. */
    private static boolean pinned(List<StackWalker.StackFrame> frames) {
        for (StackWalker.StackFrame frame : frames) {
            if (frame.isNativeMethod() || frame.getMethodName().equals("<clinit>")) {
                return true;
            }
        }
        return false;
    }

    /** The thread's name with its id, or its id alone: fibers are often unnamed. */
    static String nameOf(Thread thread) {
        String name = thread.getName();
        return name.isEmpty() ? "#" + thread.threadId() : name + " #" + thread.threadId();
    }

    /** The name of the calling virtual thread's carrier; null for a platform thread, or without the JDK hook. */
    private static String carrierOf(Thread thread) {
        assert thread == Thread.currentThread() : "only the caller's carrier can be read";
        if (!thread.isVirtual() || !VirtualThreadHook.isAvailable()) {
            return null;
        }
        return VirtualThreadHook.currentCarrierThread().getName();
    }

    /**
     * The log, created on the first report, so a detector that never flags never starts the
     * logging framework. Without SLF4J or its provider the reports go to standard error instead of
     * nowhere: a report nobody can read is a lost report.
     */
    private static final class Log {
        static final RuntimeLog LOG = RuntimeLog.of(BlockingCallDetector.class);

        static void warn(String text) {
            LOG.warn("{}", text);
        }
    }
}
