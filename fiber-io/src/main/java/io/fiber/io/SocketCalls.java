package io.fiber.io;

import java.io.IOException;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;

/**
 * A fiber's socket read and write as one system call on the caller's byte array (docs/design.md
 * section 3, "Reads and writes"), in place of the bodies of {@code NioSocketImpl.tryRead} and
 * {@code tryWrite}, with their results and exceptions.
 *
 * <p>The JDK's body copies through a temporary direct buffer, found twice per call in a per-carrier
 * cache (a thread-local lookup each time), and makes a JNI call that turns the {@code FileDescriptor}
 * into a handle and the thread's state to native and back, then {@code read(2)} or {@code write(2)},
 * which go through the kernel's file layer. Here each is a critical downcall ({@link Linker.Option#critical}:
 * no thread-state transition, the heap array passed as it is) to {@code recv(2)} or {@code send(2)},
 * the socket calls Netty makes. The call never blocks ({@code MSG_DONTWAIT}; the JDK has made the
 * socket non-blocking for a virtual thread anyway), so holding off a safepoint for it is as short as
 * the call. {@code errno} is captured into an {@code int[1]} of the calling carrier thread's own
 * (a new array per call would be garbage per call, since an array passed to native code escapes),
 * so no state is shared between carriers or with a handed-off carrier's old thread.
 *
 * <p>What the JDK returns and throws, kept exactly ({@code SocketDispatcher.read0}, {@code write0}
 * and {@code convertReturnVal}): bytes moved; for a read, -1 ({@code IOStatus.EOF}) at end of
 * stream; -2 ({@code UNAVAILABLE}) for {@code EAGAIN}; -3 ({@code INTERRUPTED}) for {@code EINTR};
 * a read's {@code ECONNRESET} or {@code EPIPE} as {@code sun.net.ConnectionResetException}
 * ("Connection reset"), which {@code NioSocketImpl} remembers so that later reads report the reset
 * too; any other error as an {@link IOException} whose message is the C library's text for it.
 * {@code send} with {@code MSG_NOSIGNAL} gets the {@code EPIPE} that {@code write} gets, without
 * the {@code SIGPIPE} the JVM would ignore.
 *
 * <p>Linux x86_64 only, like the reactor. If anything here cannot be linked (no native access for
 * this module, or {@code sun.net} not exported to it, which the agent arranges),
 * {@link #unavailableBecause} says why, and the reactor leaves reads and writes to the JDK.
 */
final class SocketCalls {
    /** The JDK's {@code sun.nio.ch.IOStatus} values that a read or write returns. */
    static final int EOF = -1;
    static final int UNAVAILABLE = -2;
    static final int INTERRUPTED = -3;
    private static final int EINTR = 4;
    private static final int EAGAIN = 11;
    private static final int EPIPE = 32;
    private static final int ECONNRESET = 104;
    private static final int MSG_DONTWAIT = 0x40;
    private static final int MSG_NOSIGNAL = 0x4000;

    private static final MethodHandle RECV;
    private static final MethodHandle SEND;
    private static final MethodHandle STRERROR;
    /** {@code new sun.net.ConnectionResetException(String)}. */
    private static final MethodHandle CONNECTION_RESET;
    private static final String UNAVAILABLE_BECAUSE;

    static {
        MethodHandle recv = null;
        MethodHandle send = null;
        MethodHandle strerror = null;
        MethodHandle connectionReset = null;
        String because = null;
        try {
            Linker linker = Linker.nativeLinker();
            FunctionDescriptor socketCall = FunctionDescriptor.of(ValueLayout.JAVA_LONG,
                    ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT);
            Linker.Option[] options = {Linker.Option.critical(true), Linker.Option.captureCallState("errno")};
            recv = linker.downcallHandle(linker.defaultLookup().findOrThrow("recv"), socketCall, options);
            send = linker.downcallHandle(linker.defaultLookup().findOrThrow("send"), socketCall, options);
            strerror = linker.downcallHandle(linker.defaultLookup().findOrThrow("strerror"),
                    FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
            connectionReset = MethodHandles.lookup().findConstructor(Class.forName("sun.net.ConnectionResetException"),
                    MethodType.methodType(void.class, String.class));
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            because = e.toString();
        }
        RECV = recv;
        SEND = send;
        STRERROR = strerror;
        CONNECTION_RESET = connectionReset;
        UNAVAILABLE_BECAUSE = because;
    }

    private SocketCalls() { }

    /** Why reads and writes stay with the JDK, or null when this class makes them. */
    static String unavailableBecause() {
        return UNAVAILABLE_BECAUSE;
    }

    /**
     * {@code NioSocketImpl.tryRead}'s result for up to {@code len} bytes of {@code fd} into {@code b} at
     * {@code off}; {@code errno}: an {@code int[1]} only this thread uses.
     */
    static int read(int fd, byte[] b, int off, int len, int[] errno) throws IOException {
        long n;
        try {
            n = (long) RECV.invokeExact(MemorySegment.ofArray(errno), fd, MemorySegment.ofArray(b).asSlice(off, len), (long) len,
                    MSG_DONTWAIT);
        } catch (Throwable t) {
            throw unexpected(t);
        }
        if (n > 0) {
            return (int) n;
        }
        if (n == 0) {
            return EOF;
        }
        int error = errno[0];
        if (error == ECONNRESET || error == EPIPE) {
            throw connectionReset();
        }
        return failed(error);
    }

    /** {@code NioSocketImpl.tryWrite}'s result for {@code len} bytes of {@code b} at {@code off} to {@code fd}, as {@link #read}. */
    static int write(int fd, byte[] b, int off, int len, int[] errno) throws IOException {
        long n;
        try {
            n = (long) SEND.invokeExact(MemorySegment.ofArray(errno), fd, MemorySegment.ofArray(b).asSlice(off, len), (long) len,
                    MSG_DONTWAIT | MSG_NOSIGNAL);
        } catch (Throwable t) {
            throw unexpected(t);
        }
        return n >= 0 ? (int) n : failed(errno[0]);
    }

    /** The JDK's {@code convertReturnVal} for a failed call: a status to retry with, or the exception. */
    private static int failed(int errno) throws IOException {
        if (errno == EAGAIN) {
            return UNAVAILABLE;
        }
        if (errno == EINTR) {
            return INTERRUPTED;
        }
        throw new IOException(describe(errno));
    }

    /** The C library's text for {@code errno}, as the JDK's message for a failed socket call. */
    static String describe(int errno) {
        try {
            MemorySegment text = (MemorySegment) STRERROR.invokeExact(errno);
            return text.reinterpret(Integer.MAX_VALUE).getString(0);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    private static IOException connectionReset() {
        try {
            return (IOException) CONNECTION_RESET.invoke("Connection reset");
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /** A downcall or constructor that was linked fine threw: only an error of the JVM can. */
    private static RuntimeException unexpected(Throwable t) {
        if (t instanceof RuntimeException r) {
            throw r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        throw new IllegalStateException("a socket call failed unexpectedly", t);
    }
}
