package io.fiber.agent;

import io.fiber.internal.bridge.FiberBridge;

import org.junit.jupiter.api.Test;

import java.io.FileDescriptor;

import static io.fiber.agent.Patch.arg;
import static io.fiber.agent.Patch.ownStatic;
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

        private String describe() {
            return "";
        }
    }

    private static Patch readPatch(Patch.Operand fd) {
        return Patch.returnUnless(SocketLike.class.getName(), "tryRead", READ, FiberBridge.NOT_HANDLED, "atTryRead", fd, arg(1), arg(2), arg(3));
    }

    @Test
    void theReadPatchPassesTheFdNumberThroughTheClassOwnAccessor() {
        readPatch(ownStatic("fdVal", FD_VAL, 0)).check(SocketLike.class);
        // The bridge takes the number: passing the FileDescriptor itself names no bridge method.
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> readPatch(arg(0)).check(SocketLike.class));
        assertTrue(e.getMessage().contains("atTryRead(Ljava/io/FileDescriptor;[BII)I"), e.getMessage());
    }

    /** The bridge's result is returned in place of the method's unless it is the value that lets the body run: an int method only. */
    @Test
    void returningTheBridgesResultNeedsAnIntMethod() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> Patch.returnUnless(SocketLike.class.getName(), "fdValue", FD_VAL, 0, "atTryRead", arg(0)).check(SocketLike.class));
        assertTrue(e.getMessage().contains("atTryRead"), e.getMessage());
        e = assertThrows(IllegalStateException.class,
                () -> Patch.returnUnless(SocketLike.class.getName(), "describe", "()Ljava/lang/String;", 0, "atTryRead").check(SocketLike.class));
        assertTrue(e.getMessage().contains("only a method returning an int"), e.getMessage());
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
