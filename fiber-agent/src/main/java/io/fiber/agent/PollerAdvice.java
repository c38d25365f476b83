package io.fiber.agent;

import io.fiber.bridge.FiberBridge;
import net.bytebuddy.asm.Advice;

import java.io.FileDescriptor;
import java.io.IOException;
import java.util.function.BooleanSupplier;

/**
 * Advice inlined into {@code sun.nio.ch.Poller}, {@code UnixDispatcher} and {@code NioSocketImpl} (DESIGN.md section 3). Each entry asks the runtime's
 * hooks first; when they handle the call the JDK's body is skipped, otherwise it runs unchanged.
 * The inlined code may reference only boot class path types (the JDK's and {@link FiberBridge}),
 * and may not use lambdas: their bodies would stay behind in this class.
 */
final class PollerAdvice {
    private PollerAdvice() { }

    /** {@code static void poll(int fd, int event, long nanos, BooleanSupplier isOpen)}. */
    static final class Poll {
        @Advice.OnMethodEnter(skipOn = Advice.OnNonDefaultValue.class)
        static boolean enter(@Advice.Argument(0) int fd, @Advice.Argument(1) int event,
                             @Advice.Argument(2) long nanos, @Advice.Argument(3) BooleanSupplier isOpen) throws IOException {
            FiberBridge.Hooks hooks = FiberBridge.hooks();
            return hooks != null && hooks.poll(fd, event, nanos, isOpen);
        }
    }

    /** {@code static void pollSelector(int fd, long nanos)}: a {@code Selector.select} waits for its epoll fd. */
    static final class PollSelector {
        @Advice.OnMethodEnter(skipOn = Advice.OnNonDefaultValue.class)
        static boolean enter(@Advice.Argument(0) int fd, @Advice.Argument(1) long nanos) throws IOException {
            FiberBridge.Hooks hooks = FiberBridge.hooks();
            return hooks != null && hooks.pollSelector(fd, nanos);
        }
    }

    /**
     * {@code UnixDispatcher.close(FileDescriptor)} and {@code implPreClose(FileDescriptor, long, long)}:
     * every NIO socket, pipe and datagram fd is closed (or replaced by a pre-close) through them, so
     * reactors forget the fd before its number can be reused.
     */
    static final class FdClosing {
        @Advice.OnMethodEnter
        static void enter(@Advice.Argument(0) FileDescriptor fd) {
            FiberBridge.Hooks hooks = FiberBridge.hooks();
            if (hooks != null) {
                hooks.fdClosing(fd);
            }
        }
    }

    /**
     * {@code NioSocketImpl.tryRead(FileDescriptor fd, byte[] b, int off, int len)}, the read of a
     * {@code java.net.Socket} stream, which its caller follows with a wait when it returns
     * {@code IOStatus.UNAVAILABLE} (-2): a read the reactor knows would find nothing returns that at
     * once, without its system call.
     */
    static final class SocketRead {
        @Advice.OnMethodEnter(skipOn = Advice.OnNonDefaultValue.class)
        static boolean enter(@Advice.Argument(0) FileDescriptor fd) {
            FiberBridge.Hooks hooks = FiberBridge.hooks();
            return hooks != null && hooks.readBegins(fd);
        }

        @Advice.OnMethodExit
        static void exit(@Advice.Enter boolean skipped, @Advice.Argument(0) FileDescriptor fd,
                         @Advice.Argument(3) int len, @Advice.Return(readOnly = false) int n) {
            if (skipped) {
                n = -2;
                return;
            }
            FiberBridge.Hooks hooks = FiberBridge.hooks();
            if (hooks != null) {
                hooks.readReturned(fd, len, n);
            }
        }
    }

    /** {@code static void stopPoll(int fd, int event)}: wake our waiters too, then the JDK's. */
    static final class StopPoll {
        @Advice.OnMethodEnter
        static void enter(@Advice.Argument(0) int fd, @Advice.Argument(1) int event) {
            FiberBridge.Hooks hooks = FiberBridge.hooks();
            if (hooks != null) {
                hooks.stopPoll(fd, event);
            }
        }
    }
}
