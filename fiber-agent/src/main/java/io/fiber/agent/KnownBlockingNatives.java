package io.fiber.agent;

import io.fiber.detector.BlockingCategory;

import java.util.List;

/**
 * Native methods of libraries known to block in native code, flagged as
 * {@link BlockingCategory#NATIVE} when their class is defined ({@link DefinitionPatcher}); the
 * list in docs/detector.md is the same. A library absent from the class path costs nothing.
 *
 * <ul>
 *   <li>sqlite-jdbc ({@code org.sqlite.core.NativeDB}): opening a database, executing a statement
 *       and stepping through results read and write the database file inside SQLite's C code, and
 *       backup and restore copy whole databases.</li>
 * </ul>
 */
final class KnownBlockingNatives {
    record Entry(String className, String methodName, String descriptor, BlockingCategory category) { }

    private static final String SQLITE = "org.sqlite.core.NativeDB";

    static final List<Entry> TABLE = List.of(
            new Entry(SQLITE, "_open_utf8", "([BI)V", BlockingCategory.NATIVE),
            new Entry(SQLITE, "_exec_utf8", "([B)I", BlockingCategory.NATIVE),
            new Entry(SQLITE, "step", "(J)I", BlockingCategory.NATIVE),
            new Entry(SQLITE, "backup", "([B[BLorg/sqlite/core/DB$ProgressObserver;III)I", BlockingCategory.NATIVE),
            new Entry(SQLITE, "restore", "([B[BLorg/sqlite/core/DB$ProgressObserver;III)I", BlockingCategory.NATIVE));

    private KnownBlockingNatives() { }
}
