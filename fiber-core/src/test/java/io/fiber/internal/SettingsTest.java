package io.fiber.internal;

import io.fiber.detector.BlockingCategory;
import io.fiber.internal.Settings.Setting;
import io.fiber.internal.Settings.Source;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
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

    private static final String SERVERS_GRAMMAR = "it must be comma-separated IP addresses, each with an optional :PORT"
            + " (an IPv6 address in brackets then), such as 127.0.0.1:5353, 10.0.0.2, [::1]:53 or ::1";

    private static InetSocketAddress at(String address, int port) {
        return new InetSocketAddress(InetAddress.ofLiteral(address), port);
    }

    @Test
    void dnsServersAreAddressesWithOptionalPorts() {
        assertNull(Settings.DNS_SERVERS.defaultValue(), "unset: resolv.conf's");
        assertEquals(List.of(at("127.0.0.1", 5353), at("10.0.0.2", 53), at("::1", 5300), at("::1", 53)),
                Settings.DNS_SERVERS.parse("127.0.0.1:5353, 10.0.0.2,[::1]:5300,::1", Source.SYSTEM_PROPERTY));
        assertEquals(List.of(at("::1", 53), at("192.0.2.1", 65535)),
                Settings.DNS_SERVERS.parse(" [::1] ,,192.0.2.1:65535, ", Source.SYSTEM_PROPERTY), "blank entries are skipped");
        assertEquals(List.of(at("2001:db8::53", 53)), Settings.DNS_SERVERS.parse("2001:db8::53", Source.SYSTEM_PROPERTY),
                "a bare IPv6 address keeps all its colons");
    }

    @Test
    void aBadDnsServerIsNamedWithTheValueAndTheGrammar() {
        assertEquals("system property fiber.dns.servers=127.0.0.1,dns.example:53 is invalid: in server 'dns.example:53',"
                        + " 'dns.example' is not an IP address (a DNS server must be given by address); " + SERVERS_GRAMMAR,
                error(Settings.DNS_SERVERS, "127.0.0.1,dns.example:53", Source.SYSTEM_PROPERTY));
        assertEquals("system property fiber.dns.servers=127.0.0.1:99999 is invalid: in server '127.0.0.1:99999',"
                        + " port '99999' is not a number from 1 to 65535; " + SERVERS_GRAMMAR,
                error(Settings.DNS_SERVERS, "127.0.0.1:99999", Source.SYSTEM_PROPERTY));
        assertEquals("system property fiber.dns.servers=10.0.0.1:dns is invalid: in server '10.0.0.1:dns',"
                        + " port 'dns' is not a number from 1 to 65535; " + SERVERS_GRAMMAR,
                error(Settings.DNS_SERVERS, "10.0.0.1:dns", Source.SYSTEM_PROPERTY));
        assertEquals("system property fiber.dns.servers=[::1 is invalid: in server '[::1', a '[' lacks its ']'; " + SERVERS_GRAMMAR,
                error(Settings.DNS_SERVERS, "[::1", Source.SYSTEM_PROPERTY));
        assertEquals("system property fiber.dns.servers=[::1]53 is invalid: in server '[::1]53', the text after ']' is not :PORT; "
                + SERVERS_GRAMMAR, error(Settings.DNS_SERVERS, "[::1]53", Source.SYSTEM_PROPERTY));
        assertEquals("system property fiber.dns.servers=[::1]:0 is invalid: in server '[::1]:0', port '0' is not a number from 1 to 65535; "
                + SERVERS_GRAMMAR, error(Settings.DNS_SERVERS, "[::1]:0", Source.SYSTEM_PROPERTY));
        assertEquals("system property fiber.dns.servers=, is invalid: it lists no server; " + SERVERS_GRAMMAR,
                error(Settings.DNS_SERVERS, ",", Source.SYSTEM_PROPERTY));
        assertEquals("system property fiber.dns.servers= is invalid: it lists no server; " + SERVERS_GRAMMAR,
                error(Settings.DNS_SERVERS, "", Source.SYSTEM_PROPERTY));
    }

    @Test
    void dnsTimeoutIsMillisecondsUpToAMinute() {
        assertNull(Settings.DNS_TIMEOUT.defaultValue(), "unset: resolv.conf's");
        assertEquals(Duration.ofMillis(1), Settings.DNS_TIMEOUT.parse("1", Source.SYSTEM_PROPERTY));
        assertEquals(Duration.ofMinutes(1), Settings.DNS_TIMEOUT.parse(" 60000 ", Source.SYSTEM_PROPERTY));
        for (String bad : new String[] {"0", "60001", "1.5", "250ms", ""}) {
            assertEquals("system property fiber.dns.timeout.millis=" + bad + " is invalid: it must be a whole number of milliseconds"
                    + " from 1 to 60000", error(Settings.DNS_TIMEOUT, bad, Source.SYSTEM_PROPERTY), bad);
        }
    }

    @Test
    void dnsAttemptsAreOneToTen() {
        assertNull(Settings.DNS_ATTEMPTS.defaultValue(), "unset: resolv.conf's");
        assertEquals(1, Settings.DNS_ATTEMPTS.parse("1", Source.SYSTEM_PROPERTY));
        assertEquals(10, Settings.DNS_ATTEMPTS.parse("10", Source.SYSTEM_PROPERTY));
        for (String bad : new String[] {"0", "11", "two", "-1"}) {
            assertEquals("system property fiber.dns.attempts=" + bad + " is invalid: it must be a whole number from 1 to 10",
                    error(Settings.DNS_ATTEMPTS, bad, Source.SYSTEM_PROPERTY), bad);
        }
    }

    @Test
    void theDnsResolversPropertiesAreNoAgentOptions() {
        for (Setting<?> s : List.of(Settings.DNS_SERVERS, Settings.DNS_TIMEOUT, Settings.DNS_ATTEMPTS)) {
            assertFalse(s.isAgentOption(), s.toString());
            assertFalse(Settings.AGENT_OPTIONS.contains(s), s.toString());
            assertFalse(Settings.usage().contains(s.property()), s.toString());
            assertThrows(IllegalStateException.class, s::key, s.toString());
            assertThrows(IllegalStateException.class, () -> s.parse("1", Source.AGENT_OPTION), s.toString());
        }
        assertEquals(List.of("fiber.dns.servers", "fiber.dns.timeout.millis", "fiber.dns.attempts"),
                List.of(Settings.DNS_SERVERS.property(), Settings.DNS_TIMEOUT.property(), Settings.DNS_ATTEMPTS.property()));
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
            assertTrue(s.isAgentOption(), s.toString());
            assertTrue(usage.contains(s.key() + "="), s.key());
            assertTrue(s.property().equals("fiber." + s.key()), "one name from option to property: " + s);
        }
    }

    @Test
    void threadsArePlatformOrFibersAndTheirSelectorsAreClassesPackagesOrNames() {
        assertEquals("platform", Settings.THREADS.defaultValue());
        assertEquals("fibers", Settings.THREADS.parse("fibers", Source.AGENT_OPTION));
        assertEquals("option threads=virtual is invalid: it must be platform or fibers",
                error(Settings.THREADS, "virtual", Source.AGENT_OPTION));
        assertEquals(List.of(), Settings.THREADS_EXCLUDE.defaultValue());
        assertEquals(List.of("com.example.Worker", "com.example.legacy.*", "name:pool-*-thread-1"),
                Settings.THREADS_EXCLUDE.parse("com.example.Worker+com.example.legacy.*+name:pool-*-thread-1", Source.AGENT_OPTION));
        assertEquals(List.of("name:*"), Settings.THREADS_ONLY.parse("name:*", Source.AGENT_OPTION));
        for (String bad : new String[] {"", "a++b", "com.example.", "name:", "com..x", "*", "com.*.x", "1abc"}) {
            String message = error(Settings.THREADS_EXCLUDE, bad, Source.AGENT_OPTION);
            assertTrue(message.startsWith("option threads.exclude=" + bad + " is invalid: "), message);
            assertTrue(message.endsWith("; it must be " + Settings.THREAD_SELECTOR_GRAMMAR), message);
        }
        assertEquals("option threads.only=x+ is invalid: it has an empty selector; it must be " + Settings.THREAD_SELECTOR_GRAMMAR,
                error(Settings.THREADS_ONLY, "x+", Source.AGENT_OPTION));
    }
}
