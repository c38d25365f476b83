package io.fiber.agent;

import io.fiber.internal.bridge.FiberBridge.Detector;
import io.fiber.detector.BlockingCategory;

import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.locks.LockSupport;

import static io.fiber.agent.Patch.arg;
import static io.fiber.agent.Patch.constant;
import static io.fiber.agent.Patch.kept;
import static io.fiber.agent.Patch.receiver;
import static io.fiber.agent.Patch.thisField;
import static io.fiber.internal.bridge.FiberBridge.Detector.ANY_THREAD;
import static io.fiber.internal.bridge.FiberBridge.Detector.PINNED;
import static io.fiber.internal.bridge.FiberBridge.Detector.PLATFORM_THREAD;
import static io.fiber.internal.bridge.FiberBridge.Detector.WAIT;
import static io.fiber.detector.BlockingCategory.CONSOLE;
import static io.fiber.detector.BlockingCategory.DNS;
import static io.fiber.detector.BlockingCategory.FILE_IO;
import static io.fiber.detector.BlockingCategory.PARK;
import static io.fiber.detector.BlockingCategory.PROCESS;
import static io.fiber.detector.BlockingCategory.SOCKET;
import static io.fiber.detector.BlockingCategory.STDIN;

/**
 * The one table of JDK 25 methods the blocking-call detector patches (docs/design.md section 6;
 * docs/detector.md keeps the same list), each with the call that exercises it in the start-up self-test
 * ({@link BlockingMethodsSelfTest}).
 *
 * <p>Only Java methods are listed, so no {@code -XX:+AllowRedefinitionToAddDeleteMethods}: on JDK 25
 * each blocking native has a Java method in front of it (for file opens the JDK even says "wrap
 * native call to allow instrumentation"). Where several public methods funnel into one, the funnel
 * is listed (on Linux, listing a directory opens it first with {@code UnixNativeDispatcher.open}). The rule says on which threads the call holds the OS thread ({@link Detector}): a
 * fiber's sleeps, parks and socket waits unmount, so they count only on watched platform threads,
 * and for a fiber only when it is pinned ({@code parkOnCarrierThread}, {@code Object.wait}).
 * {@code System.in}, {@code System.out} and process pipes are file streams; the runtime tells them
 * apart by the stream's class.
 *
 * <p>Exercises are harmless if the patch does not fire: they use {@code /dev/null}, bounded timeouts,
 * a path that cannot exist, or a park whose permit is already there.
 */
final class BlockingMethods {
    /** Runs the JDK method of one entry. */
    interface Exercise {
        void run() throws Throwable;
    }

    /** How a patched method checks its call: on entry, or, for a pinned park, only when it will really park. */
    enum Check { ON_ENTRY, PINNED_PARK }

    /**
     * One listed method. {@code category} is the one it is listed under; a file stream's reads and
     * writes are reported under the category of what the stream carries
     * ({@link BlockingCategory#of}), so {@code carries} holds every category its calls may have.
     */
    record Entry(String owner, String method, String descriptor, BlockingCategory category, Set<BlockingCategory> carries,
                 int rule, Check check, Exercise exercise) { }

    /** An entry found on the running JDK, with the name reports give it. */
    record Found(Entry entry, String name) {
        Patch patch() {
            return patch(Set.of());
        }

        /**
         * The patch. An entry checked on entry whose calls may be of an {@code offloaded} category
         * lets the runtime move the calling fiber onto an offload-pool thread for the call, and back
         * when it returns or throws, when the call's own category is offloaded (a file stream's read
         * is offloaded with {@code process} only when the stream is a process pipe); the check comes
         * after the move, so a call moved off its carrier is not flagged.
         */
        Patch patch(Set<BlockingCategory> offloaded) {
            String owner = entry.owner();
            String method = entry.method();
            String descriptor = entry.descriptor();
            int category = entry.category().ordinal();
            if (entry.check() == Check.PINNED_PARK) {
                return Patch.call(owner, method, descriptor, "atPinnedPark", constant(name), constant(category),
                        constant(entry.rule()), receiver(), arg(0), arg(1), thisField("parkPermit", "Z"));
            }
            if (!java.util.Collections.disjoint(offloaded, entry.carries())) {
                return Patch.keep(owner, method, descriptor, "atOffloadedEntry", constant(name), constant(category),
                        constant(entry.rule()), receiver()).atExit("atOffloadedExit", kept());
            }
            return report(owner, method, descriptor, name, category, entry.rule());
        }
    }

    /** The patch of a method checked on entry: {@code FiberBridge.blockingCall(name, category, rule, this or null)}. */
    static Patch report(String owner, String method, String descriptor, String name, int category, int rule) {
        return Patch.call(owner, method, descriptor, "blockingCall", constant(name), constant(category), constant(rule), receiver());
    }

    static final String DEV_NULL = "/dev/null";
    /**
     * The timeout of exercises whose JDK method checks time before reaching the patched call (an
     * accept with a timeout, a pinned timed park): long, so a starved machine cannot let it expire
     * first. The probe throws at the patched call, so a live entry never waits for it.
     */
    static final int EXERCISE_TIMEOUT_MILLIS = 5_000;
    private static final Path DEV_NULL_PATH = Path.of(DEV_NULL);
    private static final Object LOCK = new Object();

    static final List<Entry> TABLE = new ArrayList<>();

    static {
        String fis = "java.io.FileInputStream";
        file(fis, "open", "(Ljava/lang/String;)V", () -> new FileInputStream(DEV_NULL).close());
        stream(fis, "read", "()I", () -> { try (InputStream in = new FileInputStream(DEV_NULL)) { in.read(); } });
        stream(fis, "read", "([B)I", () -> { try (InputStream in = new FileInputStream(DEV_NULL)) { in.read(new byte[1]); } });
        stream(fis, "read", "([BII)I", () -> { try (InputStream in = new FileInputStream(DEV_NULL)) { in.read(new byte[1], 0, 1); } });
        stream(fis, "skip", "(J)J", () -> { try (InputStream in = new FileInputStream(DEV_NULL)) { in.skip(1); } });
        String fos = "java.io.FileOutputStream";
        file(fos, "open", "(Ljava/lang/String;Z)V", () -> new FileOutputStream(DEV_NULL).close());
        stream(fos, "write", "(I)V", () -> { try (OutputStream out = new FileOutputStream(DEV_NULL)) { out.write(0); } });
        stream(fos, "write", "([B)V", () -> { try (OutputStream out = new FileOutputStream(DEV_NULL)) { out.write(new byte[1]); } });
        stream(fos, "write", "([BII)V", () -> { try (OutputStream out = new FileOutputStream(DEV_NULL)) { out.write(new byte[1], 0, 1); } });
        String raf = "java.io.RandomAccessFile";
        file(raf, "open", "(Ljava/lang/String;I)V", () -> new RandomAccessFile(DEV_NULL, "r").close());
        file(raf, "read", "()I", () -> { try (RandomAccessFile f = new RandomAccessFile(DEV_NULL, "r")) { f.read(); } });
        file(raf, "readBytes", "([BII)I", () -> { try (RandomAccessFile f = new RandomAccessFile(DEV_NULL, "r")) { f.read(new byte[1]); } });
        file(raf, "write", "(I)V", () -> { try (RandomAccessFile f = new RandomAccessFile(DEV_NULL, "rw")) { f.write(0); } });
        file(raf, "writeBytes", "([BII)V", () -> { try (RandomAccessFile f = new RandomAccessFile(DEV_NULL, "rw")) { f.write(new byte[1]); } });
        file("java.io.FileDescriptor", "sync", "()V", () -> new FileDescriptor().sync());
        String fc = "sun.nio.ch.FileChannelImpl";
        file(fc, "read", "(Ljava/nio/ByteBuffer;)I", () -> { try (FileChannel ch = devNull()) { ch.read(ByteBuffer.allocate(1)); } });
        file(fc, "read", "([Ljava/nio/ByteBuffer;II)J", () -> { try (FileChannel ch = devNull()) { ch.read(new ByteBuffer[] {ByteBuffer.allocate(1)}); } });
        file(fc, "read", "(Ljava/nio/ByteBuffer;J)I", () -> { try (FileChannel ch = devNull()) { ch.read(ByteBuffer.allocate(1), 0); } });
        file(fc, "write", "(Ljava/nio/ByteBuffer;)I", () -> { try (FileChannel ch = devNull()) { ch.write(ByteBuffer.allocate(1)); } });
        file(fc, "write", "([Ljava/nio/ByteBuffer;II)J", () -> { try (FileChannel ch = devNull()) { ch.write(new ByteBuffer[] {ByteBuffer.allocate(1)}); } });
        file(fc, "write", "(Ljava/nio/ByteBuffer;J)I", () -> { try (FileChannel ch = devNull()) { ch.write(ByteBuffer.allocate(1), 0); } });
        file(fc, "transferTo", "(JJLjava/nio/channels/WritableByteChannel;)J",
                () -> { try (FileChannel ch = devNull()) { ch.transferTo(0, 1, Channels.newChannel(OutputStream.nullOutputStream())); } });
        file(fc, "transferFrom", "(Ljava/nio/channels/ReadableByteChannel;JJ)J",
                () -> { try (FileChannel ch = devNull()) { ch.transferFrom(Channels.newChannel(InputStream.nullInputStream()), 0, 1); } });
        file(fc, "force", "(Z)V", () -> { try (FileChannel ch = devNull()) { ch.force(false); } });
        String unix = "sun.nio.fs.UnixNativeDispatcher";
        file(unix, "open", "(Lsun/nio/fs/UnixPath;II)I", () -> devNull().close());
        file(unix, "stat", "(Lsun/nio/fs/UnixPath;Lsun/nio/fs/UnixFileAttributes;)V",
                () -> Files.readAttributes(DEV_NULL_PATH, BasicFileAttributes.class));
        file(unix, "lstat", "(Lsun/nio/fs/UnixPath;Lsun/nio/fs/UnixFileAttributes;)V",
                () -> Files.readAttributes(DEV_NULL_PATH, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS));
        file(unix, "stat2", "(Lsun/nio/fs/UnixPath;Lsun/nio/fs/UnixFileAttributes;)I", () -> Files.isDirectory(DEV_NULL_PATH));
        file(unix, "mkdir", "(Lsun/nio/fs/UnixPath;I)V", () -> Files.createDirectory(DEV_NULL_PATH.resolve("fiber-agent-self-test")));
        String resolver = "java.net.InetAddress$PlatformResolver";
        add(resolver, "lookupByName", "(Ljava/lang/String;Ljava/net/spi/InetAddressResolver$LookupPolicy;)Ljava/util/stream/Stream;",
                DNS, ANY_THREAD, () -> InetAddress.getAllByName("fiber-agent-self-test.invalid"));
        add(resolver, "lookupByAddress", "([B)Ljava/lang/String;", DNS, ANY_THREAD,
                () -> InetAddress.getByAddress(new byte[] {127, 0, 0, 1}).getCanonicalHostName());
        add("java.lang.ProcessImpl", "start",
                "([Ljava/lang/String;Ljava/util/Map;Ljava/lang/String;[Ljava/lang/ProcessBuilder$Redirect;Z)Ljava/lang/Process;",
                PROCESS, ANY_THREAD, () -> new ProcessBuilder("/nonexistent/fiber-agent-self-test").start());
        TABLE.add(new Entry("java.lang.VirtualThread", "parkOnCarrierThread", "(ZJ)V", PARK, Set.of(PARK), PINNED,
                Check.PINNED_PARK, BlockingMethodsSelfTest::parkPinned));
        add("java.lang.Object", "wait", "(J)V", PARK, WAIT, () -> { synchronized (LOCK) { LOCK.wait(1); } });
        add("java.lang.Thread", "sleepNanos", "(J)V", PARK, PLATFORM_THREAD, () -> Thread.sleep(1));
        String ls = "java.util.concurrent.locks.LockSupport";
        add(ls, "park", "()V", PARK, PLATFORM_THREAD, () -> { permit(); LockSupport.park(); });
        add(ls, "park", "(Ljava/lang/Object;)V", PARK, PLATFORM_THREAD, () -> { permit(); LockSupport.park(LOCK); });
        add(ls, "parkNanos", "(J)V", PARK, PLATFORM_THREAD, () -> LockSupport.parkNanos(1));
        add(ls, "parkNanos", "(Ljava/lang/Object;J)V", PARK, PLATFORM_THREAD, () -> LockSupport.parkNanos(LOCK, 1));
        add(ls, "parkUntil", "(J)V", PARK, PLATFORM_THREAD, () -> LockSupport.parkUntil(0));
        add(ls, "parkUntil", "(Ljava/lang/Object;J)V", PARK, PLATFORM_THREAD, () -> LockSupport.parkUntil(LOCK, 0));
        add("sun.nio.ch.NioSocketImpl", "park", "(Ljava/io/FileDescriptor;IJ)V", SOCKET, PLATFORM_THREAD, () -> {
            try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                server.setSoTimeout(EXERCISE_TIMEOUT_MILLIS);
                server.accept();
            }
        });
        add("sun.nio.ch.SelChImpl", "park", "(IJ)V", SOCKET, PLATFORM_THREAD, () -> {
            try (ServerSocketChannel server = ServerSocketChannel.open()) {
                server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
                server.socket().setSoTimeout(EXERCISE_TIMEOUT_MILLIS);
                server.socket().accept();
            }
        });
    }

    private BlockingMethods() { }

    private static void file(String owner, String method, String descriptor, Exercise exercise) {
        add(owner, method, descriptor, FILE_IO, ANY_THREAD, exercise);
    }

    /** A read or write of a file stream, which may carry a file, standard input or output, or a process pipe. */
    private static void stream(String owner, String method, String descriptor, Exercise exercise) {
        TABLE.add(new Entry(owner, method, descriptor, FILE_IO, Set.of(FILE_IO, STDIN, CONSOLE, PROCESS), ANY_THREAD,
                Check.ON_ENTRY, exercise));
    }

    private static void add(String owner, String method, String descriptor, BlockingCategory category, int rule, Exercise exercise) {
        TABLE.add(new Entry(owner, method, descriptor, category, Set.of(category), rule, Check.ON_ENTRY, exercise));
    }

    private static FileChannel devNull() throws java.io.IOException {
        return FileChannel.open(DEV_NULL_PATH, StandardOpenOption.READ, StandardOpenOption.WRITE);
    }

    /** A park with the permit already given returns at once when the patch does not fire. */
    private static void permit() {
        LockSupport.unpark(Thread.currentThread());
    }

    /** Looks every entry up on this JDK (throwing naming the first one missing) and names it. */
    static List<Found> find() {
        List<Found> found = new ArrayList<>();
        for (Entry e : TABLE) {
            Method m = JdkPatches.find(e.owner(), e.method(), e.descriptor());
            found.add(new Found(e, displayName(e.owner(), e.method(), Modifier.isStatic(m.getModifiers()))));
        }
        return found;
    }

    /** {@code owner#method}, or {@code owner.method} for a static method: how every report names a method. */
    static String displayName(String owner, String method, boolean isStatic) {
        return owner + (isStatic ? "." : "#") + method;
    }
}
