package io.fiber;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** {@link ApplicationThreadsReport}: off without the agent's threads=fibers, and the one line it prints. */
class ApplicationThreadsReportTest {
    @Test
    void withoutThreadsFibersItIsOffAndEmpty() {
        ApplicationThreadsReport report = ApplicationThreadsReport.get();
        assertFalse(report.enabled());
        assertEquals(Map.of(), report.converted());
        assertEquals(Map.of(), report.leftAlone());
        assertEquals("threads=fibers is off: application threads stay platform threads", report.toString());
    }

    @Test
    void itsLineCountsEachWayAndEachReasonInOrder() {
        Map<String, Long> converted = new LinkedHashMap<>();
        converted.put("new Thread", 10L);
        converted.put("default thread factory", 2L);
        Map<String, Long> left = new LinkedHashMap<>();
        left.put("created by JDK code", 1L);
        ApplicationThreadsReport report = new ApplicationThreadsReport(true, converted, left);
        assertEquals(12, report.convertedCount());
        assertEquals(1, report.leftAloneCount());
        assertEquals("threads=fibers: 12 application threads became fibers (10 new Thread, 2 default thread factory);"
                + " 1 left platform threads (1 created by JDK code)", report.toString());
        assertEquals("threads=fibers: 0 application threads became fibers; 0 left platform threads",
                new ApplicationThreadsReport(true, Map.of(), Map.of()).toString());
        assertThrows(UnsupportedOperationException.class, () -> report.converted().put("x", 1L));
    }
}
