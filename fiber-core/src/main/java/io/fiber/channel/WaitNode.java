package io.fiber.channel;

/**
 * A {@link Waiter}'s entry in the queue of receivers or of senders of one channel. The links and
 * {@link #linked} are guarded by that channel's lock.
 */
final class WaitNode {
    final Waiter waiter;
    /** The select case this node stands for (0 for a plain send or receive). */
    final int index;
    final boolean send;
    /**
     * A send node: the item offered. A receive node: the item delivered, stored by the claimer just
     * before its claim CAS, so the owner reads it after seeing the CAS; only claimers holding this
     * node's channel lock write it, and the successful one unlinks the node in the same critical
     * section, so no later write can follow.
     */
    Object item;
    WaitNode prev;
    WaitNode next;
    boolean linked;

    WaitNode(Waiter waiter, int index, boolean send, Object item) {
        this.waiter = waiter;
        this.index = index;
        this.send = send;
        this.item = item;
    }
}
