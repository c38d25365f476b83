package io.fiber.agent.io;

import io.fiber.Fiber;
import io.fiber.FiberScheduler;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.file.DirectoryStream;
import java.time.Duration;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
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

    private static final int REUSES = 5;
    /** Far below the 100 to 200 ms in which the watchdog's recheck ends a wait on a stale registration, far above a wakeup. */
    private static final long PROMPT_MILLIS = 60;

    /**
     * A selector's epoll fd is closed by a JNI call the socket close hooks do not see, and the next
     * selector gets its number. What a carrier's reactor knew of the closed one (registered, and
     * trusted) must not carry over: the new selector's select would wait unregistered until the
     * watchdog's recheck ended it, 100 to 200 ms late. One carrier, so both selects use one reactor;
     * the median of five reuses, so one slow wakeup on a busy machine does not decide it.
     */
    @Test
    void aSelectorOnTheNumberOfAClosedOneWakesPromptly() throws Exception {
        try (FiberScheduler scheduler = FiberScheduler.builder().carriers(1).name("selector-reuse").build();
             Loopback.Channels c = Loopback.channels()) {
            c.near().configureBlocking(false);
            List<Long> millis = new ArrayList<>();
            for (int round = 0; round < REUSES; round++) {
                Set<Integer> before = epollFds();
                Selector first = Selector.open();
                Set<Integer> opened = new HashSet<>(epollFds());
                opened.removeAll(before);
                assertEquals(1, opened.size(), "epoll fds the selector opened: " + opened);
                int number = opened.iterator().next();
                Fiber<Integer> timed = scheduler.spawn(() -> first.select(5)); // the carrier's reactor registers the selector's fd
                assertTrue(timed.join(Duration.ofSeconds(5)));
                timed.get();
                first.close();
                Selector second = Selector.open();
                assertTrue(epollFds().contains(number), "the next selector did not get the number " + number + " back");
                try (second) {
                    c.near().register(second, SelectionKey.OP_READ);
                    Fiber<Integer> select = scheduler.spawn(() -> second.select());
                    Thread.sleep(20); // the fiber parked in its select
                    long written = System.nanoTime();
                    c.far().write(ByteBuffer.wrap(new byte[] {1}));
                    assertTrue(select.join(Duration.ofSeconds(5)), "the select did not wake in 5 s");
                    assertEquals(1, select.get());
                    millis.add(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - written));
                    c.near().read(ByteBuffer.allocate(16));
                } // closing the selector deregisters the channel, which joins the next round's
            }
            List<Long> sorted = millis.stream().sorted().toList();
            long median = sorted.get(sorted.size() / 2);
            assertTrue(median < PROMPT_MILLIS, "the select on a reused number woke " + millis + " ms after the write");
        }
    }

    /** This process's open epoll fds, by number. */
    private static Set<Integer> epollFds() throws IOException {
        Set<Integer> fds = new HashSet<>();
        try (DirectoryStream<Path> dir = Files.newDirectoryStream(Path.of("/proc/self/fd"))) {
            for (Path fd : dir) {
                try {
                    if (Files.readSymbolicLink(fd).toString().equals("anon_inode:[eventpoll]")) {
                        fds.add(Integer.parseInt(fd.getFileName().toString()));
                    }
                } catch (IOException closedMeanwhile) {
                    // the listing's own fd, or one another thread closed
                }
            }
        }
        return fds;
    }
}
