package io.fiber.internal;

import io.fiber.detector.BlockingCategory;
import io.fiber.internal.Settings.Setting;
import io.fiber.internal.Settings.Source;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Arrays;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/** One grammar per setting, the same whether the agent option or the system property gives it. */
class SettingsTest {
    private static String error(Setting<?> setting, String text, Source source) {
        return assertThrows(IllegalArgumentException.class, () -> setting.parse(text, source)).getMessage();
    }

    @Test
    void carriers() {
        assertEquals(1, Settings.CARRIERS.parse("1", Source.AGENT_OPTION));
        assertEquals(4096, Settings.CARRIERS.parse(" 4096 ", Source.SYSTEM_PROPERTY));
        assertNull(Settings.CARRIERS.defaultValue(), "unset: one per available processor");
        assertEquals("option carriers=0 is invalid: it must be a whole number from 1 to 4096", error(Settings.CARRIERS, "0", Source.AGENT_OPTION));
        assertEquals("system property fiber.carriers=4097 is invalid: it must be a whole number from 1 to 4096",
                error(Settings.CARRIERS, "4097", Source.SYSTEM_PROPERTY));
        assertEquals("option carriers=two is invalid: it must be a whole number from 1 to 4096", error(Settings.CARRIERS, "two", Source.AGENT_OPTION));
    }

    @Test
    void handoff() {
        assertEquals(Duration.ofMillis(10), Settings.HANDOFF.defaultValue());
        assertEquals(Duration.ZERO, Settings.HANDOFF.parse("off", Source.AGENT_OPTION));
        assertEquals(Duration.ofMillis(9_999_999), Settings.HANDOFF.parse("9999999ms", Source.SYSTEM_PROPERTY));
        for (String bad : new String[] {"0ms", "10", "10s", "10000000ms", "soon", ""}) {
            assertTrue(error(Settings.HANDOFF, bad, Source.AGENT_OPTION).startsWith("option handoff=" + bad
                    + " is invalid: it must be off or a whole number of milliseconds from 1 to 9999999 followed by ms"), bad);
        }
    }

    @Test
    void offloadFamiliesJoinWithPlusOnly() {
        assertEquals(Set.of(), Settings.OFFLOAD.defaultValue());
        assertEquals(Set.of(), Settings.OFFLOAD.parse("none", Source.AGENT_OPTION));
        assertEquals(Set.of("file", "dns", "process"), Settings.OFFLOAD.parse("file+dns+process", Source.SYSTEM_PROPERTY));
        assertEquals("option offload=file+disk is invalid: 'disk' is not a call family; it must be none, or some of file, dns and process"
                + " joined by +, such as file+dns", error(Settings.OFFLOAD, "file+disk", Source.AGENT_OPTION));
        assertTrue(error(Settings.OFFLOAD, "file,dns", Source.SYSTEM_PROPERTY)
                .startsWith("system property fiber.offload=file,dns is invalid: 'file,dns' is not a call family"));
        assertTrue(error(Settings.OFFLOAD, "file+", Source.AGENT_OPTION).contains("'' is not a call family"));
    }

    @Test
    void everyOffloadFamilyNamesADetectorCategory() {
        for (String family : Settings.OFFLOAD_FAMILIES) {
            assertEquals(1, Arrays.stream(BlockingCategory.values()).filter(c -> family.equals(c.offloadFamily())).count(),
                    "the categories named " + family);
        }
        assertEquals(Settings.OFFLOAD_FAMILIES.size(),
                Arrays.stream(BlockingCategory.values()).filter(c -> c.offloadFamily() != null).count());
    }

    @Test
    void detectorAndDnsModesAreLowerCaseWords() {
        assertEquals("report", Settings.DETECTOR.defaultValue());
        assertEquals("fail", Settings.DETECTOR.parse("fail", Source.AGENT_OPTION));
        assertEquals("option detector=loud is invalid: it must be fail, report or off", error(Settings.DETECTOR, "loud", Source.AGENT_OPTION));
        assertEquals("system property fiber.detector=FAIL is invalid: it must be fail, report or off",
                error(Settings.DETECTOR, "FAIL", Source.SYSTEM_PROPERTY));
        assertEquals("offload", Settings.DNS.defaultValue());
        assertEquals("nonblocking", Settings.DNS.parse(" nonblocking ", Source.SYSTEM_PROPERTY));
        assertEquals("option dns=async is invalid: it must be offload, nonblocking or off", error(Settings.DNS, "async", Source.AGENT_OPTION));
    }

    @Test
    void aSystemPropertyIsParsedWithTheSameGrammarAndUnsetGivesTheDefault() {
        String property = Settings.CARRIERS.property();
        String saved = System.getProperty(property);
        try {
            System.clearProperty(property);
            assertNull(Settings.CARRIERS.fromSystemProperty());
            System.setProperty(property, "3");
            assertEquals(3, Settings.CARRIERS.fromSystemProperty());
            System.setProperty(property, "-1");
            assertEquals("system property fiber.carriers=-1 is invalid: it must be a whole number from 1 to 4096",
                    assertThrows(IllegalArgumentException.class, Settings.CARRIERS::fromSystemProperty).getMessage());
        } finally {
            if (saved == null) {
                System.clearProperty(property);
            } else {
                System.setProperty(property, saved);
            }
        }
    }

    @Test
    void theUsageLineNamesEveryAgentOption() {
        String usage = Settings.usage();
        assertTrue(usage.startsWith("valid options: carriers=N (carrier loops of the default scheduler, 1 to 4096), detector=fail|report|off"), usage);
        for (Setting<?> s : Settings.AGENT_OPTIONS) {
            assertTrue(usage.contains(s.key() + "="), s.key());
            assertTrue(s.property().equals("fiber." + s.key()), "one name from option to property: " + s);
        }
    }
}
