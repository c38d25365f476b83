package io.fiber.agent;

import org.junit.jupiter.api.Test;

import java.io.FileDescriptor;

import static io.fiber.agent.Patch.arg;
import static io.fiber.agent.Patch.ownStatic;
import static io.fiber.agent.Patch.returned;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link Patch#check}: a table entry whose operands do not fit the patched class stops the agent, naming what is wrong. */
class PatchTest {
    private static final String FD_VAL = "(Ljava/io/FileDescriptor;)I";
    private static final String READ = "(Ljava/io/FileDescriptor;[BII)I";

    /** Shaped like {@code NioSocketImpl}: a read taking an fd object, and the class's own accessor for its number. */
    @SuppressWarnings("unused")
    static final class SocketLike {
        private static int fdVal(FileDescriptor fd) {
            return 0;
        }

        private int fdValue(FileDescriptor fd) {
            return 0;
        }

        private int tryRead(FileDescriptor fd, byte[] b, int off, int len) {
            return 0;
        }
    }

    private static Patch readPatch(Patch.Operand fd) {
        return Patch.returnIfTrue(SocketLike.class.getName(), "tryRead", READ, -2, "beginRead", fd)
                .atExit("endRead", returned(), fd, arg(3));
    }

    @Test
    void theReadPatchPassesTheFdNumberThroughTheClassOwnAccessor() {
        readPatch(ownStatic("fdVal", FD_VAL, 0)).check(SocketLike.class);
        // The bridge takes the number: passing the FileDescriptor itself names no bridge method.
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> readPatch(arg(0)).check(SocketLike.class));
        assertTrue(e.getMessage().contains("beginRead(Ljava/io/FileDescriptor;)Z"), e.getMessage());
    }

    @Test
    void anAccessorTheClassLacksIsNamed() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> readPatch(ownStatic("fdNumber", FD_VAL, 0)).check(SocketLike.class));
        assertTrue(e.getMessage().contains("fdNumber" + FD_VAL) && e.getMessage().contains("JDK 25"), e.getMessage());
    }

    @Test
    void anInstanceAccessorIsRefused() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> readPatch(ownStatic("fdValue", FD_VAL, 0)).check(SocketLike.class));
        assertTrue(e.getMessage().contains("no static"), e.getMessage());
    }

    @Test
    void anAccessorAppliedToAnArgumentOfAnotherTypeIsRefused() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> readPatch(ownStatic("fdVal", FD_VAL, 1)).check(SocketLike.class));
        assertTrue(e.getMessage().contains("does not take argument 1"), e.getMessage());
        e = assertThrows(IllegalStateException.class, () -> readPatch(ownStatic("fdVal", FD_VAL, 4)).check(SocketLike.class));
        assertTrue(e.getMessage().contains("has no argument 4"), e.getMessage());
    }
}
