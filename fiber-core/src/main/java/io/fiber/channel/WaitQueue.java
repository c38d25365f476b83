package io.fiber.channel;

/** A FIFO of {@link WaitNode}s linked through the nodes themselves: O(1) append and unlink. */
final class WaitQueue {
    private WaitNode head;
    private WaitNode tail;
    private int size;

    WaitNode first() {
        return head;
    }

    int size() {
        return size;
    }

    void add(WaitNode n) {
        n.prev = tail;
        n.next = null;
        if (tail == null) {
            head = n;
        } else {
            tail.next = n;
        }
        tail = n;
        n.linked = true;
        size++;
    }

    /** Unlinks {@code n} if it is linked here; idempotent, since owner and counterparts both unlink. */
    void remove(WaitNode n) {
        if (!n.linked) {
            return;
        }
        WaitNode p = n.prev, s = n.next;
        if (p == null) {
            head = s;
        } else {
            p.next = s;
        }
        if (s == null) {
            tail = p;
        } else {
            s.prev = p;
        }
        n.prev = n.next = null;
        n.linked = false;
        size--;
    }
}
