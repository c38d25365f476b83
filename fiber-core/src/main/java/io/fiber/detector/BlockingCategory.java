package io.fiber.detector;

/** What kind of call held the thread; each {@link BlockingCall} names one. */
public enum BlockingCategory {
    /** {@code java.io} file streams, {@code RandomAccessFile}, NIO {@code FileChannel}, {@code Files.*}. */
    FILE_IO("file I/O"),
    /** A host name or address lookup through the JDK's platform resolver. */
    DNS("DNS lookup"),
    /** Starting a process, or reading and writing its pipes. */
    PROCESS("process start or pipe I/O"),
    /** Reading {@code System.in}. */
    STDIN("System.in read"),
    /** Writing {@code System.out} or {@code System.err}; allowed by default (see {@link BlockingCallDetector}). */
    CONSOLE("console write"),
    /** A sleep, park or wait that parks the OS thread: a pinned fiber's, or a watched platform thread's. */
    PARK("park that holds the thread"),
    /** A socket wait of a watched platform thread (a fiber's socket waits unmount). */
    SOCKET("blocking socket wait"),
    /** A native (JNI) method known or marked to block. */
    NATIVE("native method"),
    /** A Java method marked as blocking through the API or an integration. */
    MARKED("method marked as blocking"),
    /** A fiber that ran longer than the threshold without yielding: a CPU hog or an unlisted blocking call. */
    LONG_RUN("ran without yielding");

    private final String description;

    BlockingCategory(String description) {
        this.description = description;
    }

    /**
     * The category a call of a listed JDK method with {@code listed} category is reported and
     * offloaded under, given the method's {@code receiver} (its {@code this}, or null). File streams
     * also carry standard input, standard output and error, and process pipes; the stream's class
     * tells which. The detector's reports and the agent option {@code offload=} both ask this, so a
     * family offloads exactly the calls reported under its name.
     */
    public static BlockingCategory of(BlockingCategory listed, Object receiver) {
        if (listed != FILE_IO || receiver == null) {
            return listed;
        }
        return switch (receiver.getClass().getName()) {
            case "java.lang.System$In" -> STDIN;
            case "java.lang.System$Out" -> CONSOLE;
            case "java.lang.Process$PipeInputStream", "java.lang.Process$PipeOutputStream" -> PROCESS;
            default -> FILE_IO;
        };
    }

    /**
     * This category's name in the agent option {@code offload=} (system property
     * {@code fiber.offload}): {@code file}, {@code dns} or {@code process}; null for a category
     * whose calls cannot be offloaded.
     */
    public String offloadFamily() {
        return switch (this) {
            case FILE_IO -> "file";
            case DNS -> "dns";
            case PROCESS -> "process";
            default -> null;
        };
    }

    /** A short phrase for messages, such as "file I/O". */
    public String description() {
        return description;
    }
}
