package io.fiber.internal.dns;

import io.fiber.internal.Settings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** What the non-blocking resolver reads: the {@code fiber.dns*} properties, resolv.conf and the hosts file. */
class DnsConfigurationTest {

    private static InetSocketAddress at(String address, int port) {
        return new InetSocketAddress(InetAddress.ofLiteral(address), port);
    }

    @Test
    void everyWordOfTheDnsSettingIsAMode() {
        for (String word : List.of("offload", "nonblocking", "off")) {
            assertEquals(word, Settings.DNS.parse(word, Settings.Source.SYSTEM_PROPERTY));
            assertEquals(word, DnsSettings.Mode.of(word).name().toLowerCase(Locale.ROOT));
        }
        assertEquals(DnsSettings.Mode.OFFLOAD, DnsSettings.Mode.of(Settings.DNS.defaultValue()));
    }

    @Test
    void thePropertiesAreReadThroughSettings() {
        Map<String, String> saved = new HashMap<>();
        List<String> names = List.of(Settings.DNS.property(), Settings.DNS_SERVERS.property(), Settings.DNS_TIMEOUT.property(),
                Settings.DNS_ATTEMPTS.property());
        names.forEach(name -> saved.put(name, System.getProperty(name)));
        try {
            names.forEach(System::clearProperty);
            assertEquals(new DnsSettings(DnsSettings.Mode.OFFLOAD, null, null, null), DnsSettings.fromSystemProperties(),
                    "unset: offload, the rest from resolv.conf");
            System.setProperty(Settings.DNS.property(), "nonblocking");
            System.setProperty(Settings.DNS_SERVERS.property(), "127.0.0.1:5353");
            System.setProperty(Settings.DNS_TIMEOUT.property(), "250");
            System.setProperty(Settings.DNS_ATTEMPTS.property(), "3");
            assertEquals(new DnsSettings(DnsSettings.Mode.NONBLOCKING, List.of(at("127.0.0.1", 5353)), Duration.ofMillis(250), 3),
                    DnsSettings.fromSystemProperties());
            System.setProperty(Settings.DNS_ATTEMPTS.property(), "0");
            assertEquals("system property fiber.dns.attempts=0 is invalid: it must be a whole number from 1 to 10",
                    assertThrows(IllegalArgumentException.class, FiberResolverProvider::checkSystemProperties).getMessage());
        } finally {
            saved.forEach((name, value) -> {
                if (value == null) {
                    System.clearProperty(name);
                } else {
                    System.setProperty(name, value);
                }
            });
        }
    }

    @Test
    void resolvConfReadsServersSearchAndOptionsAsGlibcDoes() {
        ResolvConf conf = ResolvConf.parse(List.of(
                "# comment", "; another", "domain first.test",
                "search corp.test. other.test # trailing",
                "nameserver 10.0.0.1", "nameserver not-an-address", "nameserver ::1",
                "nameserver 10.0.0.3", "nameserver 10.0.0.4",
                "options ndots:2 timeout:1 attempts:9 rotate"));
        assertEquals(List.of(at("10.0.0.1", 53), at("::1", 53), at("10.0.0.3", 53)), conf.servers(), "three at most, bad ones skipped");
        assertEquals(List.of("corp.test", "other.test"), conf.search(), "the last search/domain line wins");
        assertEquals(2, conf.ndots());
        assertEquals(Duration.ofSeconds(1), conf.timeout());
        assertEquals(5, conf.attempts(), "attempts are capped at 5");
        assertEquals(ResolvConf.DEFAULTS, ResolvConf.parse(List.of()));
        assertEquals(List.of(at("127.0.0.1", 53)), ResolvConf.DEFAULTS.servers(), "no nameserver line: the local host");
    }

    @Test
    void configTakesPropertiesBeforeResolvConf(@TempDir Path dir) throws Exception {
        Path resolv = Files.writeString(dir.resolve("resolv.conf"), "nameserver 10.0.0.1\nsearch corp.test\noptions timeout:3 attempts:4\n");
        Path hosts = Files.writeString(dir.resolve("hosts"), "192.0.2.5 printer\n");
        DnsClient.Config fromFile = DnsClient.Config.load(new DnsSettings(DnsSettings.Mode.NONBLOCKING, null, null, null), resolv, hosts);
        assertEquals(List.of(at("10.0.0.1", 53)), fromFile.servers());
        assertEquals(List.of("corp.test"), fromFile.search());
        assertEquals(Duration.ofSeconds(3), fromFile.timeout());
        assertEquals(4, fromFile.attempts());
        assertEquals(List.of(InetAddress.ofLiteral("192.0.2.5")), fromFile.hosts().addresses("PRINTER"));

        DnsClient.Config overridden = DnsClient.Config.load(new DnsSettings(DnsSettings.Mode.NONBLOCKING,
                List.of(at("127.0.0.1", 5353)), Duration.ofMillis(250), 1), resolv, dir.resolve("no-such-hosts"));
        assertEquals(List.of(at("127.0.0.1", 5353)), overridden.servers());
        assertEquals(List.of("corp.test"), overridden.search(), "search domains still come from resolv.conf");
        assertEquals(Duration.ofMillis(250), overridden.timeout());
        assertEquals(1, overridden.attempts());
        assertEquals(List.of(), overridden.hosts().addresses("printer"), "a missing hosts file is empty");
    }

    @Test
    void hostsFileMapsNamesToEveryLineAndAddressesToTheFirstName() {
        HostsFile hosts = HostsFile.parse(List.of(
                "127.0.0.1 localhost", "192.0.2.1 web web-alias", "192.0.2.2 web.", "2001:db8::1 web",
                "192.0.2.1 later-name", "not-an-address name", "192.0.2.3", "  # only a comment"));
        assertEquals(List.of(InetAddress.ofLiteral("192.0.2.1"), InetAddress.ofLiteral("192.0.2.2"), InetAddress.ofLiteral("2001:db8::1")),
                hosts.addresses("Web"));
        assertEquals(List.of(InetAddress.ofLiteral("192.0.2.1")), hosts.addresses("web-alias."));
        assertEquals("web", hosts.name(new byte[] {(byte) 192, 0, 2, 1}));
        assertNull(hosts.name(new byte[] {(byte) 192, 0, 2, 3}), "a line without a name lists nothing");
        assertEquals(List.of(), hosts.addresses("name"));
    }
}
