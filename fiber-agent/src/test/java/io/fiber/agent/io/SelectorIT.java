package io.fiber.agent.io;

import java.nio.ByteBuffer;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link Selector#select} inside the body: a blocking select wakes when a registered channel
 * becomes readable, when another thread calls {@link Selector#wakeup()}, and when another thread
 * closes the selector (select returns 0, then the selector is closed); {@code select(timeout)}
 * returns 0 after about the timeout.
 */
class SelectorIT {
    private static final int TIMEOUT_MILLIS = 200;
    private static final String SELECT_FRAME = "SelectorImpl.select";

    @OnEachKind
    void selectWakesWhenARegisteredChannelIsReadable(Kind kind) throws Exception {
        try (Loopback.Channels c = Loopback.channels(); Selector selector = Selector.open()) {
            c.near().configureBlocking(false);
            SelectionKey key = c.near().register(selector, SelectionKey.OP_READ);
            Body<Integer> body = Body.start(kind, selector::select).awaitBlockedIn(SELECT_FRAME);
            long written = System.nanoTime();
            c.far().write(ByteBuffer.wrap(new byte[] {7}));
            Outcome<Integer> outcome = body.outcome();
            assertEquals(1, outcome.value());
            outcome.assertEndedPromptlyAfter(written);
            assertEquals(1, selector.selectedKeys().size());
            assertTrue(selector.selectedKeys().contains(key));
            assertTrue(key.isReadable());
        }
    }

    @OnEachKind
    void selectWithATimeoutReturnsZeroAfterTheTimeout(Kind kind) throws Exception {
        try (Loopback.Channels c = Loopback.channels(); Selector selector = Selector.open()) {
            c.near().configureBlocking(false);
            c.near().register(selector, SelectionKey.OP_READ);
            Outcome<Integer> outcome = Body.run(kind, () -> selector.select(TIMEOUT_MILLIS));
            assertEquals(0, outcome.value());
            outcome.assertTookAbout(TIMEOUT_MILLIS);
            assertTrue(selector.selectedKeys().isEmpty());
        }
    }

    @OnEachKind
    void selectWakesOnWakeupFromAnotherThread(Kind kind) throws Exception {
        try (Selector selector = Selector.open()) {
            Body<Integer> body = Body.start(kind, selector::select).awaitBlockedIn(SELECT_FRAME);
            long woken = System.nanoTime();
            selector.wakeup();
            Outcome<Integer> outcome = body.outcome();
            assertEquals(0, outcome.value());
            outcome.assertEndedPromptlyAfter(woken);
        }
    }

    /** {@link Selector#close()} wakes the blocked select, then waits for it to return before closing. */
    @OnEachKind
    void selectReturnsWhenAnotherThreadClosesTheSelector(Kind kind) throws Exception {
        Selector selector = Selector.open();
        Body<Integer> body = Body.start(kind, selector::select).awaitBlockedIn(SELECT_FRAME);
        long closed = System.nanoTime();
        FutureTask<Void> closer = new FutureTask<>(() -> {
            selector.close();
            return null;
        });
        Thread.ofPlatform().name("selector-closer").start(closer);
        Outcome<Integer> outcome = body.outcome();
        assertEquals(0, outcome.value());
        outcome.assertEndedPromptlyAfter(closed);
        closer.get(Body.LIMIT.toMillis(), TimeUnit.MILLISECONDS);
        assertFalse(selector.isOpen());
        Body.run(kind, selector::select).threw(ClosedSelectorException.class, null);
    }
}
