package io.fiber;

import io.fiber.internal.bridge.FiberBridge;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What the agent's option {@code threads=fibers} did to the threads application code started: how many
 * became fibers, by how they were created ({@code new Thread}, {@code Thread.ofPlatform()}, the JDK's
 * default thread factory), and how many it saw and left platform threads, by why (created by JDK code,
 * given a thread group of their own, excluded by {@code threads.exclude}, ...). Thread subclasses, and
 * classes whose code the agent could not rewrite, never reach it and are not counted; docs/agent.md
 * lists what is never converted.
 *
 * <p>The same summary is printed on standard error when the JVM exits.
 *
 * @param enabled    whether the agent runs with {@code threads=fibers}; without it both maps are empty
 * @param converted  threads that became fibers, by how they were created
 * @param leftAlone  threads left platform threads, by why
 */
public record ApplicationThreadsReport(boolean enabled, Map<String, Long> converted, Map<String, Long> leftAlone) {
    public ApplicationThreadsReport {
        converted = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(converted));
        leftAlone = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(leftAlone));
    }

    /** The report so far; not enabled without the agent or without {@code threads=fibers}. */
    public static ApplicationThreadsReport get() {
        FiberBridge.Threads threads = FiberBridge.isBridged() ? FiberBridge.threads() : null;
        if (threads == null || !threads.convertsThreads()) {
            return new ApplicationThreadsReport(false, Map.of(), Map.of());
        }
        return new ApplicationThreadsReport(true, threads.convertedThreads(), threads.platformThreads());
    }

    /** Threads that became fibers, all ways of creating them together. */
    public long convertedCount() {
        return converted.values().stream().mapToLong(Long::longValue).sum();
    }

    /** Threads left platform threads, all reasons together. */
    public long leftAloneCount() {
        return leftAlone.values().stream().mapToLong(Long::longValue).sum();
    }

    /**
     * One line: {@code threads=fibers: 12 application threads became fibers (10 new Thread, 2 default
     * thread factory); 1 left a platform thread (1 created by JDK code)}, or that the option is off.
     */
    @Override
    public String toString() {
        if (!enabled) {
            return "threads=fibers is off: application threads stay platform threads";
        }
        return "threads=fibers: " + convertedCount() + " application threads became fibers" + detail(converted)
                + "; " + leftAloneCount() + " left platform threads" + detail(leftAlone);
    }

    private static String detail(Map<String, Long> counts) {
        if (counts.isEmpty()) {
            return "";
        }
        StringBuilder s = new StringBuilder(" (");
        counts.forEach((what, n) -> s.append(s.length() > 2 ? ", " : "").append(n).append(' ').append(what));
        return s.append(')').toString();
    }
}
