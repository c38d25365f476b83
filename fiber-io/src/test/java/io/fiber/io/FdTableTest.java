package io.fiber.io;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static io.fiber.io.FdTable.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * {@link FdTable}'s operations one at a time, single-threaded: what each does to a slot's waiters,
 * bits and trust, and what it leaves alone. {@link FdTableStressTest} races them, and
 * {@link FdTableLincheckTest} checks them for linearizability.
 */
class FdTableTest {
    private final FdTable table = new FdTable();
    private final Thread a = new Thread(() -> { }, "a");
    private final Thread b = new Thread(() -> { }, "b");

    @Test
    void aClaimTakesAnEmptySlotOnly() {
        assertTrue(table.claim(5, READ, a));
        assertFalse(table.claim(5, READ, b), "one reader per fd");
        assertFalse(table.claim(5, READ, a), "not even the same thread twice");
        assertTrue(table.claim(5, WRITE, b), "the other direction is another slot");
        assertTrue(table.claim(6, READ, b), "and so is the next fd");
        assertSame(a, table.waiter(5, READ));
        assertSame(b, table.waiter(5, WRITE));
    }

    @Test
    void fdsOutOfRangeAreNeverClaimed() {
        assertFalse(table.claim(-1, READ, a));
        assertFalse(table.claim(MAX_FD, READ, a));
        assertTrue(table.claim(MAX_FD - 1, WRITE, a), "the last fd the table serves");
        assertNull(table.take(MAX_FD, WRITE));
        assertNull(table.take(-1, READ));
    }

    @Test
    void aTakeEmptiesTheSlotAndHandsOutTheWaiterOnce() {
        table.claim(5, READ, a);
        assertSame(a, table.take(5, READ));
        assertNull(table.take(5, READ), "woken at most once per claim");
        assertNull(table.waiter(5, READ));
        assertTrue(table.claim(5, READ, b), "free for the next waiter");
    }

    @Test
    void aReleaseClearsOnlyItsOwnClaim() {
        table.claim(5, READ, a);
        assertFalse(table.release(5, READ, b), "not b's claim");
        assertSame(a, table.waiter(5, READ));
        assertTrue(table.release(5, READ, a));
        assertNull(table.waiter(5, READ));
        assertFalse(table.release(5, READ, a), "already released");
    }

    @Test
    void aLateReleaseNeverClearsALaterClaim() {
        table.claim(5, READ, a);
        assertSame(a, table.take(5, READ)); // a is being woken
        table.claim(5, READ, b); // b waits before a returns
        assertFalse(table.release(5, READ, a), "a's claim was taken: nothing of a's to release");
        assertSame(b, table.waiter(5, READ));
        assertFalse(table.endWait(5, READ, a, 0));
        assertSame(b, table.waiter(5, READ));
    }

    @Test
    void endWaitEndsItsOwnTrustAndReleases() {
        table.claim(5, READ, a);
        table.trustedSince(5, 3);
        assertTrue(table.endWait(5, READ, a, 2), "the claim is released");
        assertEquals(3, table.trustedSince(5), "a trust begun in another epoch is not this wait's");
        table.claim(5, READ, a);
        assertTrue(table.endWait(5, READ, a, 3));
        assertEquals(0, table.trustedSince(5));
        assertNull(table.waiter(5, READ));
    }

    @Test
    void anInputEventTakesTheReaderOrRemembersTheReadiness() {
        table.set(5, REGISTERED_IN | ADDED);
        table.claim(5, READ, a);
        table.claim(5, WRITE, b);
        assertSame(a, table.inputEvent(5));
        assertSame(b, table.waiter(5, WRITE), "the writer stays");
        assertEquals(0, table.bits(5) & READY_IN, "the reader is woken: nothing to remember");
        assertNull(table.inputEvent(5));
        assertEquals(READY_IN, table.bits(5) & READY_IN, "an edge without a reader is remembered");
        assertEquals(REGISTERED_IN | ADDED, table.bits(5) & ~READY_IN, "the registration stays");
    }

    @Test
    void anOutputEventTakesTheWriterOrRemembersTheReadiness() {
        table.claim(5, READ, a);
        table.claim(5, WRITE, b);
        assertSame(b, table.outputEvent(5));
        assertSame(a, table.waiter(5, READ));
        assertEquals(0, table.bits(5));
        assertNull(table.outputEvent(5));
        assertEquals(READY_OUT, table.bits(5));
    }

    @Test
    void clearReturnsTheBitsBeforeAndKeepsTheRest() {
        table.set(5, REGISTERED_IN | REGISTERED_OUT | ADDED | READY_IN);
        assertEquals(REGISTERED | ADDED | READY_IN, table.clear(5, UNTRUSTED));
        assertEquals(ADDED | READY_IN, table.bits(5), "a recheck keeps ADDED");
        assertEquals(ADDED | READY_IN, table.clear(5, CLOSED));
        assertEquals(READY_IN, table.bits(5));
        assertEquals(0, table.bits(6), "fds share no bits");
    }

    @Test
    void theDirectionsBits() {
        assertEquals(READY_IN, ready(READ));
        assertEquals(READY_OUT, ready(WRITE));
        assertEquals(REGISTERED_IN, registered(READ));
        assertEquals(REGISTERED_OUT, registered(WRITE));
    }

    @Test
    void aShortReadSkipsTheNextReadOnce() {
        table.set(5, REGISTERED_IN | ADDED | READY_IN);
        assertFalse(table.beginRead(5));
        assertEquals(READ_ARMED, table.bits(5) & (READ_ARMED | READY_IN), "armed; the read consumes the remembered readiness");
        table.endRead(5, true);
        assertEquals(DRAINED, table.bits(5) & (READ_ARMED | DRAINED));
        assertTrue(table.beginRead(5), "drained: skip");
        assertEquals(0, table.bits(5) & (READ_ARMED | DRAINED), "the mark is taken");
        assertFalse(table.beginRead(5), "one skip per short read");
    }

    @Test
    void aFullReadDoesNotDrain() {
        table.set(5, REGISTERED_IN | ADDED);
        assertFalse(table.beginRead(5));
        table.endRead(5, false);
        assertEquals(REGISTERED_IN | ADDED, table.bits(5));
        assertFalse(table.beginRead(5));
    }

    @Test
    void anInputEventDuringTheReadDisarmsIt() {
        table.set(5, REGISTERED_IN | ADDED);
        assertFalse(table.beginRead(5));
        assertNull(table.inputEvent(5));
        table.endRead(5, true);
        assertEquals(0, table.bits(5) & DRAINED, "the short read proves nothing");
        assertFalse(table.beginRead(5));
    }

    @Test
    void anInputEventAfterTheShortReadUndrains() {
        table.set(5, REGISTERED_IN | ADDED);
        table.beginRead(5);
        table.endRead(5, true);
        table.inputEvent(5);
        assertEquals(REGISTERED_IN | ADDED | READY_IN, table.bits(5));
        assertFalse(table.beginRead(5));
    }

    @Test
    void withoutAnInputRegistrationNothingIsArmedOrDrained() {
        assertFalse(table.beginRead(5), "no page yet");
        table.set(5, REGISTERED_OUT | ADDED);
        assertFalse(table.beginRead(5));
        table.endRead(5, true);
        assertEquals(REGISTERED_OUT | ADDED, table.bits(5));
        table.set(5, REGISTERED_IN);
        table.beginRead(5);
        table.clear(5, UNTRUSTED); // a recheck or close during the read
        table.endRead(5, true);
        assertEquals(ADDED, table.bits(5), "not drained: no registration would undrain it");
    }

    @Test
    void aRecheckUntrustsWaitsBegunByItsBoundAndWakesBothDirections() {
        table.set(5, REGISTERED | ADDED | DRAINED);
        table.claim(5, READ, a);
        table.claim(5, WRITE, b);
        table.trustedSince(5, 2);
        table.set(2000, REGISTERED_IN | ADDED);
        table.claim(2000, READ, b);
        table.trustedSince(2000, 3);
        List<Thread> woken = new ArrayList<>();
        assertEquals(0, table.untrustWaitsBegunBy(1, woken::add), "both began later");
        assertEquals(2, table.untrustWaitsBegunBy(2, woken::add));
        assertEquals(List.of(a, b), woken, "fd 5's reader, then its writer");
        assertEquals(ADDED, table.bits(5), "the registration is no longer trusted; the entry is most likely still there");
        assertEquals(0, table.trustedSince(5));
        assertEquals(REGISTERED_IN | ADDED, table.bits(2000), "epoch 3's wait is untouched");
        assertSame(b, table.waiter(2000, READ));
        assertEquals(0, table.untrustWaitsBegunBy(2, woken::add), "each trust is ended once");
        assertEquals(1, table.untrustWaitsBegunBy(3, woken::add));
        assertEquals(List.of(a, b, b), woken);
        assertFalse(table.endWait(5, READ, a, 2), "the recheck took the claim");
    }

    @Test
    void aTrustEndedByItsWaiterIsNotRechecked() {
        table.set(5, REGISTERED_IN | ADDED);
        table.claim(5, READ, a);
        table.trustedSince(5, 1);
        table.endWait(5, READ, a, 1);
        assertEquals(0, table.untrustWaitsBegunBy(Long.MAX_VALUE, t -> fail("woke " + t)));
        assertEquals(REGISTERED_IN | ADDED, table.bits(5));
    }

    @Test
    void takeAllTakesEveryWaiterOnce() {
        table.claim(5, READ, a);
        table.claim(5, WRITE, b);
        table.claim(MAX_FD - 1, READ, b);
        List<Thread> woken = new ArrayList<>();
        table.takeAll(woken::add);
        assertEquals(List.of(a, b, b), woken);
        table.takeAll(t -> fail("woke " + t + " twice"));
        assertNull(table.waiter(5, READ));
    }

    @Test
    void onlyClaimsAndUpdatesCreatePages() {
        int fd = 10 * PAGE_SIZE + 1;
        assertFalse(table.hasPage(fd));
        assertNull(table.take(fd, READ));
        assertFalse(table.release(fd, READ, a));
        assertFalse(table.endWait(fd, READ, a, 1));
        assertEquals(0, table.clear(fd, CLOSED));
        assertEquals(0, table.bits(fd));
        assertFalse(table.beginRead(fd));
        table.endRead(fd, true);
        assertEquals(0, table.trustedSince(fd));
        assertEquals(0, table.untrustWaitsBegunBy(Long.MAX_VALUE, t -> { }));
        assertNull(table.waiter(fd, WRITE));
        assertFalse(table.hasPage(fd), "reading an fd creates no page");
        assertTrue(table.claim(fd, READ, a));
        assertTrue(table.hasPage(fd));
        assertTrue(table.hasPage(10 * PAGE_SIZE), "the page's first fd");
        assertFalse(table.hasPage(11 * PAGE_SIZE), "the next page's first fd");
        table.preparePage(11 * PAGE_SIZE + 1000);
        assertTrue(table.hasPage(11 * PAGE_SIZE));
        table.preparePage(MAX_FD);
        table.preparePage(-1);
        assertFalse(table.hasPage(MAX_FD));
    }

    @Test
    void everyUpdateKeepsTheBitsConsistent() {
        assertTrue(consistent(0));
        assertTrue(consistent(REGISTERED | ADDED | READY_IN | READY_OUT));
        assertTrue(consistent(REGISTERED_IN | ADDED | DRAINED));
        assertTrue(consistent(ADDED | READ_ARMED));
        assertFalse(consistent(REGISTERED_IN), "registered but never added");
        assertFalse(consistent(ADDED | DRAINED), "drained without an input registration");
        assertFalse(consistent(REGISTERED_IN | ADDED | DRAINED | READ_ARMED), "drained and armed");
        assertThrows(AssertionError.class, () -> table.set(5, REGISTERED_OUT),
                "surefire runs with assertions on, and an update checks what it wrote");
    }
}
