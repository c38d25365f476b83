package io.fiber.channel;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * One blocked operation (a send, a receive or a whole select): the thread to unpark and the result
 * slot that decides, exactly once, how the operation ended. The slot moves by CAS from null to the
 * {@link WaitNode} through which a counterpart completed the operation, or to {@link #CANCELLED}
 * when the owner gave up. See {@link Channel} for the protocol.
 */
final class Waiter {
    private static final Object CANCELLED = new Object();
    private static final VarHandle RESULT;

    static {
        try {
            RESULT = MethodHandles.lookup().findVarHandle(Waiter.class, "result", Object.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final Thread thread = Thread.currentThread();
    @SuppressWarnings("unused") private volatile Object result;

    /**
     * Completes the operation through {@code node}, one of this waiter's nodes; false if the
     * operation had already ended. The caller holds the lock of the node's channel and, for a
     * receive node, has already stored the item in it.
     */
    boolean claim(WaitNode node) {
        return RESULT.compareAndSet(this, null, node);
    }

    /** Called by the owner only: ends the operation unless a counterpart completed it first. */
    boolean cancel() {
        return RESULT.compareAndSet(this, null, CANCELLED);
    }

    boolean isPending() {
        return RESULT.getVolatile(this) == null;
    }

    /** The node through which a counterpart completed the operation, or null. */
    WaitNode completedBy() {
        return RESULT.getVolatile(this) instanceof WaitNode n ? n : null;
    }
}
