package io.fiber.internal.jdk;

import java.io.FileDescriptor;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;

/**
 * Adapter over {@code sun.nio.ch.IOUtil.fdVal(FileDescriptor)}: the number behind a JDK file
 * descriptor, which the agent's close hook hands over as the object. The agent exports
 * {@code sun.nio.ch} to the runtime alone; without it {@link #fdVal} returns -1 and reactors rely
 * on their safety net ({@code CarrierReactor.recheckLongWaits}).
 */
public final class NioFileDescriptors {
    private static final MethodHandle FD_VAL = find();

    private NioFileDescriptors() { }

    private static MethodHandle find() {
        try {
            return MethodHandles.lookup().findStatic(Class.forName("sun.nio.ch.IOUtil"), "fdVal",
                    MethodType.methodType(int.class, FileDescriptor.class));
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }

    /** The fd number, or -1 when it cannot be read. */
    public static int fdVal(FileDescriptor fd) {
        if (FD_VAL == null) {
            return -1;
        }
        try {
            return (int) FD_VAL.invokeExact(fd);
        } catch (Throwable e) {
            return -1;
        }
    }
}
