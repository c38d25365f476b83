package io.fiber.load;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;

import static org.junit.jupiter.api.Assertions.*;

class ProcessPeaksTest {
    private static final long SELF = ProcessHandle.current().pid();

    @Test
    void readsThisProcesssThreadsAndResidentSet() throws Exception {
        ProcessPeaks.Status now = ProcessPeaks.status(SELF);
        assertTrue(now.threads() >= 1, now.toString());
        assertTrue(now.residentKib() > 1024, "a JVM holds more than 1 MiB: " + now);
    }

    @Test
    void keepsThePeakThreadCountAfterTheThreadsEnd() throws Exception {
        int before = ProcessPeaks.status(SELF).threads();
        CountDownLatch release = new CountDownLatch(1);
        List<Thread> extra = new ArrayList<>();
        try (ProcessPeaks peaks = ProcessPeaks.watch(SELF, 1)) {
            for (int i = 0; i < 20; i++) {
                extra.add(Thread.ofPlatform().start(() -> {
                    try {
                        release.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }));
            }
            while (ProcessPeaks.status(SELF).threads() < before + 20) {
                Thread.onSpinWait();
            }
            Thread.sleep(20); // a few sampling periods while the 20 threads live
            release.countDown();
            for (Thread t : extra) {
                t.join();
            }
            peaks.close();
            assertTrue(peaks.threads() >= before + 20, "peak " + peaks.threads() + ", before " + before);
            assertTrue(peaks.residentKib() > 0);
        }
    }

    @Test
    void refusesAPeriodBelowOneMillisecond() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ProcessPeaks.watch(SELF, 0));
        assertTrue(e.getMessage().contains("at least 1 ms"), e.getMessage());
    }

    @Test
    void aProcessThatIsGoneIsNamed() {
        Exception e = assertThrows(Exception.class, () -> ProcessPeaks.status(Long.MAX_VALUE));
        assertNotNull(e.getMessage());
    }

    @Test
    void readsThisProcesssOpenFilesLimit() throws Exception {
        long pid = ProcessHandle.current().pid();
        long limit = ProcessPeaks.openFilesLimit(pid);
        assertTrue(limit >= ProcessPeaks.openFiles(pid), "a limit of " + limit + " below the " + ProcessPeaks.openFiles(pid) + " files open");
        assertThrows(java.io.IOException.class, () -> ProcessPeaks.openFilesLimit(Long.MAX_VALUE), "no such process");
    }
}
