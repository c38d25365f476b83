package io.fiber.io;

import io.fiber.internal.bridge.FiberBridge;
import io.netty.channel.unix.FileDescriptor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The epoll reactor on its own, with platform threads as waiters and the test thread as the
 * carrier that polls: readiness, timeouts, stopPoll, close, wakeup, a second waiter, and an fd
 * number closed and reused while a one-shot registration for the old file is still armed. Waiters
 * wait through the bridge's {@code atPoll}, as the patched JDK's {@code Poller.poll} does, with
 * hooks that hand out this test's reactor (no agent here, so nothing else calls the bridge).
 */
class EpollReactorTest {
    private static volatile EpollReactor reactor;

    static {
        if (!FiberBridge.install(new TestReactorHooks())) {
            throw new IllegalStateException("other hooks own the bridge in this JVM");
        }
    }

    /** The bridge's hooks in this JVM: every thread waits in the current test's reactor; nothing else is handled. */
    private static final class TestReactorHooks implements FiberBridge.Hooks {
        @Override
        public FiberBridge.Reactor reactorForWait() {
            return reactor;
        }

        @Override
        public void stopPoll(int fd, int event) { }

        @Override
        public void fdClosing(java.io.FileDescriptor fd) { }

        @Override
        public void selectorClosing(int epfd) { }

        @Override
        public int tryRead(int fd, byte[] b, int off, int len) {
            return FiberBridge.NOT_HANDLED;
        }

        @Override
        public int tryWrite(int fd, byte[] b, int off, int len) {
            return FiberBridge.NOT_HANDLED;
        }

        @Override
        public void beginChannelRead() { }

        @Override
        public void beginAccept() { }

        @Override
        public Future<?> schedule(Executor scheduler, Runnable task, long delay, TimeUnit unit) {
            return null;
        }

        @Override
        public boolean offloadEnter(int category, Object receiver) {
            return false;
        }

        @Override
        public void offloadExit() { }
    }

    /** A fresh pipe per test: [0] the read end, [1] the write end. */
    private FileDescriptor[] pipe;

    @BeforeEach
    void open() throws Exception {
        reactor = new EpollReactor("test");
        pipe = FileDescriptor.pipe();
    }

    @AfterEach
    void close() throws Exception {
        reactor.close();
        pipe[0].close();
        pipe[1].close();
    }

    /** Starts a platform thread that waits in the reactor for {@code event} on {@code fd}; completes with await's result. */
    private CompletableFuture<Boolean> waiter(int fd, int event, long nanos) {
        CompletableFuture<Boolean> result = new CompletableFuture<>();
        Thread.ofPlatform().daemon().start(() -> {
            try {
                result.complete(FiberBridge.atPoll(fd, event, nanos, () -> true));
            } catch (Throwable t) {
                result.completeExceptionally(t);
            }
        });
        return result;
    }

    private void awaitRegistered(int expectedWaiters) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!reactor.hasWaiters() || reactor.waits() < expectedWaiters) {
            assertTrue(System.nanoTime() < deadline, "waiter did not register within 10 s");
            Thread.sleep(1);
        }
    }

    /** Plays the carrier: polls until {@code done} completes, returning how many threads the reactor woke. */
    private int pollUntil(CompletableFuture<?> done) {
        int woken = 0;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!done.isDone()) {
            assertTrue(System.nanoTime() < deadline, "waiter not woken within 10 s");
            woken += reactor.poll(TimeUnit.MILLISECONDS.toNanos(10));
        }
        return woken;
    }

    private static void writeByte(FileDescriptor fd) throws Exception {
        ByteBuffer b = ByteBuffer.allocateDirect(1).put((byte) 7).flip();
        assertEquals(1, fd.write(b, 0, 1));
    }

    @Test
    void readinessWakesTheWaiterThroughPoll() throws Exception {
        CompletableFuture<Boolean> w = waiter(pipe[0].intValue(), EpollReactor.POLLIN, 0);
        awaitRegistered(1);
        assertEquals(0, reactor.poll(0), "nothing ready yet");
        writeByte(pipe[1]);
        assertEquals(1, pollUntil(w));
        assertTrue(w.get());
    }

    /** A poll takes no more events than asked; the rest stay ready in the kernel for the next poll. */
    @Test
    void aPollTakesAtMostTheEventsItHasRoomFor() throws Exception {
        FileDescriptor[][] pipes = new FileDescriptor[5][];
        List<CompletableFuture<Boolean>> waiters = new ArrayList<>();
        try {
            for (int i = 0; i < pipes.length; i++) {
                pipes[i] = FileDescriptor.pipe();
                waiters.add(waiter(pipes[i][0].intValue(), EpollReactor.POLLIN, 0));
                awaitRegistered(i + 1);
            }
            for (FileDescriptor[] p : pipes) {
                writeByte(p[1]);
            }
            assertEquals(2, reactor.poll(TimeUnit.SECONDS.toNanos(10), 2), "room for 2");
            assertEquals(1, reactor.poll(0, 1), "room for 1");
            assertEquals(2, reactor.poll(0, 100), "the other two stayed ready");
            assertEquals(0, reactor.poll(0, 100));
            for (CompletableFuture<Boolean> w : waiters) {
                assertTrue(w.get(10, TimeUnit.SECONDS));
            }
        } finally {
            for (FileDescriptor[] p : pipes) {
                if (p != null) {
                    p[0].close();
                    p[1].close();
                }
            }
        }
    }

    @Test
    void aTimedWaitReturnsAfterItsTimeoutWithoutAnEvent() throws Exception {
        long start = System.nanoTime();
        assertTrue(waiter(pipe[0].intValue(), EpollReactor.POLLIN, TimeUnit.MILLISECONDS.toNanos(50)).get(10, TimeUnit.SECONDS));
        assertTrue(System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(50));
        assertFalse(reactor.hasWaiters(), "the waiter released its slot");
    }

    @Test
    void stopPollWakesTheWaiterFromAnotherThread() throws Exception {
        CompletableFuture<Boolean> w = waiter(pipe[0].intValue(), EpollReactor.POLLIN, 0);
        awaitRegistered(1);
        reactor.stopPoll(pipe[0].intValue(), EpollReactor.POLLIN);
        assertTrue(w.get(10, TimeUnit.SECONDS));
    }

    @Test
    void aSecondWaiterInTheSameDirectionIsLeftToTheJdk() throws Exception {
        CompletableFuture<Boolean> first = waiter(pipe[0].intValue(), EpollReactor.POLLIN, 0);
        awaitRegistered(1);
        assertFalse(FiberBridge.atPoll(pipe[0].intValue(), EpollReactor.POLLIN, 0, () -> true),
                "a second reader of one fd on one carrier goes to the JDK's poller");
        writeByte(pipe[1]);
        pollUntil(first);
        assertTrue(first.get());
    }

    @Test
    void aClosedCheckAfterRegistrationSkipsThePark() throws Exception {
        AtomicBoolean asked = new AtomicBoolean();
        assertTrue(FiberBridge.atPoll(pipe[0].intValue(), EpollReactor.POLLIN, 0, () -> {
            asked.set(true);
            return false;
        }));
        assertTrue(asked.get(), "isOpen is consulted after registering, so a racing close is never missed");
    }

    /** A closed fd's number, reused by a new file: the old registration is gone with the old file. */
    private interface ReuseCase {
        /** What happens between the old file's close and the new file's wait; returns the threads the wait needed woken. */
        int reuse(int number, CompletableFuture<Boolean> waiter, FileDescriptor writeEnd) throws Exception;
    }

    private void reuseNumber(boolean forget, ReuseCase then) throws Exception {
        FileDescriptor[] old = FileDescriptor.pipe();
        int number = old[0].intValue();
        assertTrue(waiter(number, EpollReactor.POLLIN, TimeUnit.MILLISECONDS.toNanos(20)).get(10, TimeUnit.SECONDS));
        if (forget) {
            reactor.forget(number); // what the agent's close hook does
        }
        old[0].close(); // still registered in the epoll set: the kernel drops it with the file
        old[1].close();
        FileDescriptor[] reused = FileDescriptor.pipe();
        try {
            assertEquals(number, reused[0].intValue(), "the kernel hands out the lowest free fd number");
            CompletableFuture<Boolean> w = waiter(number, EpollReactor.POLLIN, 0);
            awaitRegistered(2);
            then.reuse(number, w, reused[1]);
            assertTrue(w.get(10, TimeUnit.SECONDS));
        } finally {
            reused[0].close();
            reused[1].close();
        }
    }

    @Test
    void aForgottenFdNumberIsRegisteredAfreshWhenReused() throws Exception {
        reuseNumber(true, (number, w, writeEnd) -> {
            writeByte(writeEnd);
            return pollUntil(w);
        });
    }

    /**
     * The safety net: a close nobody reported leaves the registration believed, so the wait on the
     * reused number trusts it and would park forever; recheckLongWaits ends that wait, and the
     * retry (the JDK's, played here) registers the new file and gets its event.
     */
    @Test
    void aReusedNumberNobodyForgotIsRecheckedAndThenRegisteredAfresh() throws Exception {
        reuseNumber(false, (number, w, writeEnd) -> {
            writeByte(writeEnd);
            assertEquals(0, reactor.poll(TimeUnit.MILLISECONDS.toNanos(50)), "the new file is not in the epoll set yet");
            assertFalse(w.isDone());
            assertEquals(0, reactor.recheckLongWaits(), "the wait began in this period: not old yet");
            assertEquals(1, reactor.recheckLongWaits(), "a whole period later");
            assertTrue(w.get(10, TimeUnit.SECONDS), "woken to retry");
            CompletableFuture<Boolean> retry = waiter(number, EpollReactor.POLLIN, 0);
            assertEquals(1, pollUntil(retry), "the retry registered the new file, already readable");
            return 1;
        });
    }

    /**
     * A recheck drops the reactor's belief in a registration, not the registration: the retry
     * modifies the entry it added before, and the next edge wakes the waiter. A forget drops the
     * entry from the reactor's memory too, so the next wait adds first, finds the fd still in the
     * set, and modifies it instead.
     */
    @Test
    void aRecheckedFdStillInTheEpollSetIsRegisteredAgain() throws Exception {
        int fd = pipe[0].intValue();
        CompletableFuture<Boolean> first = waiter(fd, EpollReactor.POLLIN, 0);
        awaitRegistered(1);
        writeByte(pipe[1]);
        assertEquals(1, pollUntil(first));
        assertEquals(1, read(16));
        CompletableFuture<Boolean> trusting = waiter(fd, EpollReactor.POLLIN, 0);
        awaitRegistered(2);
        reactor.recheckLongWaits();
        assertEquals(1, reactor.recheckLongWaits(), "the trusting wait is ended");
        assertTrue(trusting.get(10, TimeUnit.SECONDS));
        CompletableFuture<Boolean> retry = waiter(fd, EpollReactor.POLLIN, 0);
        awaitRegistered(3);
        assertEquals(0, reactor.poll(TimeUnit.MILLISECONDS.toNanos(20)), "nothing to read yet");
        writeByte(pipe[1]);
        assertEquals(1, pollUntil(retry), "the registration, modified, reports the edge");
        assertTrue(retry.get());
        assertEquals(1, read(16));
        reactor.forget(fd); // as for a selector's own fd: forgotten, yet still open and in the set
        CompletableFuture<Boolean> afresh = waiter(fd, EpollReactor.POLLIN, 0);
        awaitRegistered(4);
        writeByte(pipe[1]);
        assertEquals(1, pollUntil(afresh), "the add finds the fd in the set, and the modify that follows reports the edge");
        assertTrue(afresh.get());
    }

    /**
     * The fd table grows ahead of the waits: each poll creates the pages for the highest fd waited
     * on and the next 1024, so a growing server's waits do not take the page-creating branch that
     * the JIT compiled out of the wait path.
     */
    @Test
    void aPollPreparesTheTablesPastTheHighestFdWaitedOn() {
        int far = FdTable.MAX_FD - 3 * FdTable.PAGE_SIZE + 7; // no such open file: the wait claims, then fails to register
        assertFalse(reactor.tableHasPage(far + FdTable.PAGE_SIZE));
        assertThrows(IOException.class, () -> reactor.beginWait(far, EpollReactor.POLLIN));
        reactor.poll(0);
        assertTrue(reactor.tableHasPage(far), "the highest fd's page");
        assertTrue(reactor.tableHasPage(far + FdTable.PAGE_SIZE), "and the next one");
        assertFalse(reactor.tableHasPage(far + 2 * FdTable.PAGE_SIZE));
    }

    /** An event that finds no waiter is kept: edge-triggered epoll reports it once. */
    @Test
    void readinessWithoutAWaiterIsKeptForTheNextWait() throws Exception {
        CompletableFuture<Boolean> first = waiter(pipe[0].intValue(), EpollReactor.POLLIN, 0);
        awaitRegistered(1);
        writeByte(pipe[1]);
        assertEquals(1, pollUntil(first));
        writeByte(pipe[1]); // a second edge, nobody waiting
        assertEquals(0, reactor.poll(TimeUnit.MILLISECONDS.toNanos(100)));
        assertTrue(FiberBridge.atPoll(pipe[0].intValue(), EpollReactor.POLLIN, 0, () -> true), "returns at once: ready");
    }

    @Test
    void closeWakesEveryWaiter() throws Exception {
        CompletableFuture<Boolean> reader = waiter(pipe[0].intValue(), EpollReactor.POLLIN, 0);
        awaitRegistered(1);
        reactor.close();
        assertTrue(reader.get(10, TimeUnit.SECONDS));
        reactor.wakeup(); // after close: must not write to a recycled fd number
        reactor = new EpollReactor("test-2");
    }

    @Test
    void aWakeupBeforePollMakesThePollReturnAtOnce() {
        reactor.wakeup();
        long start = System.nanoTime();
        assertEquals(0, reactor.poll(-1), "the eventfd is not a waiter");
        assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(5));
        assertEquals(0, reactor.poll(0), "the eventfd was drained");
    }

    @Test
    void readerAndWriterOfOneFdAreBothServedThoughOneShotDisarmsTheFd() throws Exception {
        int fd = pipe[0].intValue();
        CompletableFuture<Boolean> reader = waiter(fd, EpollReactor.POLLIN, 0);
        awaitRegistered(1);
        // A pipe's read end never becomes writable: the writer waits on it until stopPoll.
        CompletableFuture<Boolean> writer = waiter(fd, EpollReactor.POLLOUT, 0);
        awaitRegistered(2);
        writeByte(pipe[1]);
        assertEquals(1, pollUntil(reader));
        assertFalse(writer.isDone());
        reactor.stopPoll(fd, EpollReactor.POLLOUT);
        assertTrue(writer.get(10, TimeUnit.SECONDS));
    }

    /** Registers the pipe's read end for input as a fiber's first wait does, and drains the byte that woke it. */
    private int registeredAndDrained() throws Exception {
        int fd = pipe[0].intValue();
        CompletableFuture<Boolean> first = waiter(fd, EpollReactor.POLLIN, 0);
        awaitRegistered(1);
        writeByte(pipe[1]);
        pollUntil(first);
        assertEquals(1, read(16));
        return fd;
    }

    private int read(int asked) throws Exception {
        return pipe[0].read(ByteBuffer.allocateDirect(asked), 0, asked);
    }

    /** A short read drained the fd: the next read would find nothing and is skipped, once. */
    @Test
    void aShortReadMakesTheNextReadSkippableOnce() throws Exception {
        int fd = registeredAndDrained();
        assertFalse(reactor.beginRead(fd), "no short read seen yet");
        reactor.endRead(fd, 16, 1);
        assertTrue(reactor.beginRead(fd), "short read, no event since: skip");
        assertFalse(reactor.beginRead(fd), "one skip per short read: the read after a wait goes to the kernel");
    }

    /** After a skip the waiter trusts the registration, and the next data wakes it. */
    @Test
    void aSkippedReadWaitsAndIsWokenByTheNextData() throws Exception {
        int fd = registeredAndDrained();
        assertFalse(reactor.beginRead(fd));
        reactor.endRead(fd, 16, 1);
        assertTrue(reactor.beginRead(fd));
        CompletableFuture<Boolean> w = waiter(fd, EpollReactor.POLLIN, 0);
        awaitRegistered(2);
        writeByte(pipe[1]);
        assertEquals(1, pollUntil(w));
        assertEquals(1, read(16));
    }

    /** Data that arrives while the read runs: its event disarms the read, so its short result proves nothing. */
    @Test
    void anInputEventDuringTheReadKeepsTheFdUndrained() throws Exception {
        int fd = registeredAndDrained();
        assertFalse(reactor.beginRead(fd));
        writeByte(pipe[1]);
        assertEquals(0, reactor.poll(TimeUnit.MILLISECONDS.toNanos(1000)), "the event finds no waiter");
        reactor.endRead(fd, 16, 1);
        assertFalse(reactor.beginRead(fd), "the byte written during the read must be read");
        assertEquals(1, read(16));
    }

    /** Data after the short read: its event undrains the fd. */
    @Test
    void anInputEventAfterTheShortReadUndrainsTheFd() throws Exception {
        int fd = registeredAndDrained();
        assertFalse(reactor.beginRead(fd));
        reactor.endRead(fd, 16, 1);
        writeByte(pipe[1]);
        assertEquals(0, reactor.poll(TimeUnit.MILLISECONDS.toNanos(1000)));
        assertFalse(reactor.beginRead(fd));
        assertEquals(1, read(16));
    }

    /** A read that filled its buffer, EOF, EAGAIN or an error say nothing of what is left. */
    @Test
    void onlyAShortPositiveReadDrains() throws Exception {
        int fd = registeredAndDrained();
        for (int got : new int[] {16, -1, -2, -3}) {
            assertFalse(reactor.beginRead(fd));
            reactor.endRead(fd, 16, got);
        }
        assertFalse(reactor.beginRead(fd));
    }

    /** Drained is part of the trusted registration: without one (never registered, forgotten, rechecked) nothing is skipped. */
    @Test
    void withoutATrustedInputRegistrationNoReadIsSkipped() throws Exception {
        int fresh = pipe[0].intValue();
        assertFalse(reactor.beginRead(fresh));
        reactor.endRead(fresh, 16, 1);
        assertFalse(reactor.beginRead(fresh), "never registered: no event would undrain it");

        int fd = registeredAndDrained();
        assertFalse(reactor.beginRead(fd));
        reactor.endRead(fd, 16, 1);
        reactor.forget(fd);
        assertFalse(reactor.beginRead(fd), "forgotten (closing)");

        CompletableFuture<Boolean> w = waiter(fd, EpollReactor.POLLIN, 0);
        awaitRegistered(2);
        writeByte(pipe[1]);
        pollUntil(w);
        assertEquals(1, read(16));
        assertFalse(reactor.beginRead(fd));
        reactor.endRead(fd, 16, 1);
        reactor.recheckLongWaits();
        reactor.recheckLongWaits();
        assertTrue(reactor.beginRead(fd), "no trusting wait ran, so the recheck ended none");
        assertFalse(reactor.beginRead(fd));
        reactor.endRead(fd, 16, 1);
        reactor.stopPoll(fd, EpollReactor.POLLIN);
        assertFalse(reactor.beginRead(fd), "stopPoll: the fd is closing");
    }

    /**
     * Fibers wake peer carriers, so a wakeup must never wait for a lock: a fiber that blocks entering
     * a monitor is unmounted and queued for it (JEP 491), and the carrier that closes this reactor
     * as it exits, queued behind that fiber, waits for a fiber that may need that very carrier. A
     * scheduler hung in termination that way when the reactor's monitor guarded the eventfd.
     */
    @Test
    void wakeupNeverWaitsForALockEvenTheReactorsMonitor() throws Exception {
        synchronized (reactor) {
            Thread fiberLike = Thread.ofVirtual().start(reactor::wakeup);
            assertTrue(fiberLike.join(java.time.Duration.ofSeconds(10)), "wakeup waited for the reactor's monitor");
            Thread closer = Thread.ofPlatform().start(reactor::close);
            assertTrue(closer.join(java.time.Duration.ofSeconds(10)), "close waited for the reactor's monitor");
        }
    }

    /**
     * Wakeups race the close from platform and virtual threads: the close returns, and no wakeup
     * writes after it, not even once the eventfd's number belongs to a new file.
     */
    @Test
    void noWakeupWritesAfterCloseEvenToAReusedNumber() throws Exception {
        int wakeupFd = reactor.wakeupFd();
        AtomicBoolean stop = new AtomicBoolean();
        List<Thread> wakers = new ArrayList<>();
        List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        for (int i = 0; i < 8; i++) {
            Thread.Builder builder = i % 2 == 0 ? Thread.ofPlatform() : Thread.ofVirtual();
            wakers.add(builder.start(() -> {
                try {
                    while (!stop.get()) {
                        reactor.wakeup();
                    }
                } catch (Throwable t) {
                    failures.add(t);
                }
            }));
        }
        Thread.sleep(20);
        reactor.close();
        // The lowest free numbers go to the next file: the eventfd's and the epoll fd's, just closed.
        List<FileDescriptor> opened = new ArrayList<>();
        FileDescriptor[] reused = null;
        try {
            for (int i = 0; i < 8 && reused == null; i++) {
                FileDescriptor[] p = FileDescriptor.pipe();
                opened.add(p[0]);
                opened.add(p[1]);
                if (p[0].intValue() == wakeupFd || p[1].intValue() == wakeupFd) {
                    reused = p; // a write to the read end would fail, to the write end would arrive
                }
            }
            assertNotNull(reused, "no new pipe took the eventfd's number " + wakeupFd);
            Thread.sleep(50);
            stop.set(true);
            for (Thread waker : wakers) {
                assertTrue(waker.join(java.time.Duration.ofSeconds(10)));
            }
            assertEquals(List.of(), failures);
            int got = reused[0].read(ByteBuffer.allocateDirect(64), 0, 64);
            assertTrue(got <= 0, got + " bytes reached the file that reused the eventfd's number after the close");
        } finally {
            stop.set(true);
            for (FileDescriptor fd : opened) {
                fd.close();
            }
        }
    }
}
