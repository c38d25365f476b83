package io.fiber.agent;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Each family of the agent option {@code offload=} covers exactly the calls the detector reports
 * under that family's name: every kind of call of an offloaded family goes to the offload pool and
 * is not reported, and every other call stays on its carrier and is reported under its own family.
 * A file stream's read or write belongs to the family of what it carries: a process pipe is
 * {@code process}, standard input and output are no family and never offloaded.
 */
class OffloadFamiliesIT {
    /** Each kind of call {@link OffloadProbe} makes, with the category the detector reports it under ("" for none). */
    private static final Map<String, String> KINDS = new LinkedHashMap<>();

    static {
        for (String file : List.of("file open", "file stream read", "file stream write", "RandomAccessFile read",
                "FileChannel read", "Files stat", "Files mkdir")) {
            KINDS.put(file, "file I/O");
        }
        KINDS.put("dns lookup by name", "DNS lookup");
        KINDS.put("dns lookup by address", "DNS lookup");
        KINDS.put("process start", "process start or pipe I/O");
        KINDS.put("process pipe read", "process start or pipe I/O");
        KINDS.put("process pipe write", "process start or pipe I/O");
        KINDS.put("stdin read", "System.in read");
        KINDS.put("console write", ""); // allowed by default: not reported
    }

    private static final Map<String, String> FAMILY_OF_CATEGORY = Map.of(
            "file I/O", "file", "DNS lookup", "dns", "process start or pipe I/O", "process");

    @ParameterizedTest(name = "offload={0}")
    @ValueSource(strings = {"none", "file", "process", "dns", "file+dns+process"})
    void eachFamilyOffloadsExactlyWhatIsReportedUnderItsName(String offload) throws Exception {
        Set<String> families = offload.equals("none") ? Set.of() : Set.of(offload.split("\\+"));
        String out = probe("detector=report,dns=off,handoff=off,offload=" + offload);
        assertTrue(out.contains("a console line from a fiber"), out);
        for (Map.Entry<String, String> kind : KINDS.entrySet()) {
            String category = kind.getValue();
            String family = FAMILY_OF_CATEGORY.get(category);
            boolean offloaded = family != null && families.contains(family);
            String line = out.lines().filter(l -> l.startsWith(kind.getKey() + ": ")).findFirst()
                    .orElseThrow(() -> new AssertionError("no line for " + kind.getKey() + " in:\n" + out));
            long offloads = Long.parseLong(line.substring(line.lastIndexOf(' ') + 1));
            // Reported means it ran on the carrier; an offloaded call is not reported, and went to the pool.
            String reported = offloaded || category.isEmpty() ? "[]" : "[" + category + "]";
            assertTrue(line.startsWith(kind.getKey() + ": reported " + reported + ";"),
                    "expected " + kind.getKey() + " reported " + reported + " with offload=" + offload + ", got: " + line + "\nin:\n" + out);
            if (offloaded) {
                assertTrue(offloads > 0, "went to the pool: " + line);
            }
            if (family == null) {
                assertEquals(0, offloads, "standard input and output belong to no family, so nothing offloads them: " + line);
            }
        }
    }

    private static String probe(String agentOptions) throws Exception {
        ChildJvm.Run r = ChildJvm.run(List.of(ChildJvm.agent(agentOptions)), ChildJvm.testClassPath(), OffloadProbe.class, List.of(), 60);
        assertEquals(0, r.exit(), r.out() + r.err());
        return r.out();
    }
}
