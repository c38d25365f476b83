package io.fiber.benchmarks.burst;

import com.sun.management.GarbageCollectionNotificationInfo;
import io.fiber.benchmarks.burst.BurstRun.Span;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import javax.management.ListenerNotFoundException;
import javax.management.NotificationEmitter;
import javax.management.NotificationListener;
import javax.management.openmbean.CompositeData;

/**
 * The garbage collector's stop-the-world pauses in this JVM while it is open, as the collectors'
 * MXBeans announce them, so a probe's sample that a pause overlapped can be told from one that
 * waited on the scheduler alone. Concurrent cycles (ZGC's, Shenandoah's) are not pauses and are
 * left out; G1's remark and cleanup pauses are in.
 *
 * <p>The beans give a pause's start and length in whole milliseconds since the JVM started,
 * counted from {@link java.lang.management.RuntimeMXBean#getStartTime()} (not from
 * {@code getUptime()}, whose origin lies tens of milliseconds apart), so a pause's span is
 * {@link #PRECISION} uncertain at either end. Announcements arrive a few tens of milliseconds after
 * the pause: read {@link #spans()} well after the last one of interest.
 */
final class GcPauses implements AutoCloseable {
    private static final long MILLI = TimeUnit.MILLISECONDS.toNanos(1);
    /** How far a pause's span may be off at either end: whether a sample overlapped it is judged with this much to spare. */
    static final long PRECISION = MILLI;

    /** {@link System#nanoTime()} when the JVM started, to the millisecond. */
    private final long jvmStart = System.nanoTime()
            - TimeUnit.MILLISECONDS.toNanos(System.currentTimeMillis() - ManagementFactory.getRuntimeMXBean().getStartTime());
    private final Queue<Span> pauses = new ConcurrentLinkedQueue<>();
    private final NotificationListener listener = (notification, handback) -> {
        if (notification.getType().equals(GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION)) {
            GarbageCollectionNotificationInfo info = GarbageCollectionNotificationInfo.from((CompositeData) notification.getUserData());
            if (!info.getGcAction().equals("end of GC cycle")) {
                long start = jvmStart + info.getGcInfo().getStartTime() * MILLI;
                pauses.add(new Span(start, start + info.getGcInfo().getDuration() * MILLI));
            }
        }
    };
    private final List<NotificationEmitter> emitters = new ArrayList<>();

    GcPauses() {
        for (GarbageCollectorMXBean bean : ManagementFactory.getGarbageCollectorMXBeans()) {
            NotificationEmitter emitter = (NotificationEmitter) bean;
            emitter.addNotificationListener(listener, null, null);
            emitters.add(emitter);
        }
    }

    /** The pauses announced so far. */
    List<Span> spans() {
        return List.copyOf(pauses);
    }

    /** Seconds from the JVM's start to {@code nanoTime}: close to, though not exactly, the uptime that {@code -Xlog:gc} prints. */
    double secondsSinceStart(long nanoTime) {
        return (nanoTime - jvmStart) / 1e9;
    }

    @Override
    public void close() {
        for (NotificationEmitter emitter : emitters) {
            try {
                emitter.removeNotificationListener(listener);
            } catch (ListenerNotFoundException e) {
                // Not registered: nothing to remove.
            }
        }
    }
}
