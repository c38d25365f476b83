package io.fiber;

import java.util.concurrent.RejectedExecutionException;

/**
 * A spawn refused by a bound on live fibers ({@link FiberScheduler.Builder#maxLiveFibers},
 * {@link FiberGroup.Builder#maxLiveFibers}): the bound was reached under {@link AdmissionPolicy#REJECT},
 * a {@link AdmissionPolicy#waitAtMost} wait ran out, or the waiting spawner was interrupted (then
 * the cause is an {@link InterruptedException}). No fiber was made. The message names the scheduler
 * (and group), the bound and how to raise it or change the policy.
 *
 * <p>A {@link RejectedExecutionException}, as executors throw when they cannot take a task, so code
 * written for an {@code ExecutorService}, and a {@code Thread.start()} of a fiber handed out as a
 * thread, see what they already handle. A shut-down scheduler's rejection is a plain
 * {@link RejectedExecutionException}, not this.
 */
public class FiberRejectedException extends RejectedExecutionException {
    private static final long serialVersionUID = 1L;

    /** The bound that refused: at most this many live fibers. */
    private final int maxLiveFibers;

    public FiberRejectedException(String message, int maxLiveFibers, Throwable cause) {
        super(message, cause);
        this.maxLiveFibers = maxLiveFibers;
    }

    /** The bound that refused the spawn: at most this many live fibers in the scheduler or group. */
    public int maxLiveFibers() {
        return maxLiveFibers;
    }
}
