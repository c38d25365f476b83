package io.netty.channel.epoll;

import io.netty.channel.unix.Errors;
import io.netty.channel.unix.FileDescriptor;

import java.io.IOException;

/**
 * The one adapter over netty-transport-native-epoll's internals (docs/design.md section 8). It lives in
 * Netty's package because {@code EpollEventArray} and the millisecond {@code epollWait} are
 * package-private; a Netty upgrade that moves them touches this file only. fiber-io's own code
 * depends on nothing else of Netty.
 */
public final class NettyEpoll {
    public static final int EPOLLIN = Native.EPOLLIN;
    public static final int EPOLLOUT = Native.EPOLLOUT;
    public static final int EPOLLERR = Native.EPOLLERR;
    public static final int EPOLLRDHUP = Native.EPOLLRDHUP;
    public static final int EPOLLET = Native.EPOLLET;
    /** Linux ABI values Netty does not name. */
    public static final int EPOLLHUP = 0x010;
    public static final int EPOLLONESHOT = 1 << 30;
    private static final int ERRNO_EEXIST_NEGATIVE = -17;

    private NettyEpoll() { }

    /** Throws, with the cause, when the native library cannot be loaded on this platform. */
    public static void ensureAvailable() {
        Epoll.ensureAvailability();
    }

    public static FileDescriptor newEpoll() {
        return Native.newEpollCreate();
    }

    public static FileDescriptor newEventFd() {
        return Native.newEventFd();
    }

    public static void eventFdWrite(int fd, long value) {
        Native.eventFdWrite(fd, value);
    }

    public static void eventFdRead(int fd) {
        Native.eventFdRead(fd);
    }

    /** Returns false, instead of throwing, when {@code fd} is in the epoll set already (EEXIST). */
    public static boolean ctlAdd(int epfd, int fd, int events) throws IOException {
        try {
            Native.epollCtlAdd(epfd, fd, events);
            return true;
        } catch (Errors.NativeIoException e) {
            if (e.expectedErr() == ERRNO_EEXIST_NEGATIVE) {
                return false;
            }
            throw e;
        }
    }

    /** Returns false, instead of throwing, when {@code fd} is not in the epoll set (ENOENT). */
    public static boolean ctlMod(int epfd, int fd, int events) throws IOException {
        try {
            Native.epollCtlMod(epfd, fd, events);
            return true;
        } catch (Errors.NativeIoException e) {
            if (e.expectedErr() == Errors.ERRNO_ENOENT_NEGATIVE) {
                return false;
            }
            throw e;
        }
    }

    /** Netty's fixed-size array of {@code struct epoll_event} in native memory. */
    public static final class Events {
        private final EpollEventArray array;

        public Events(int capacity) {
            array = new EpollEventArray(capacity);
        }

        public int fd(int i) {
            return array.fd(i);
        }

        public int events(int i) {
            return array.events(i);
        }

        public void free() {
            array.free();
        }
    }

    /** {@code epoll_wait} with a timeout in milliseconds (-1: none, 0: return at once); returns the number of events. */
    public static int await(FileDescriptor epfd, Events events, int timeoutMillis) throws IOException {
        return Native.epollWait(epfd, events.array, timeoutMillis);
    }
}
