package io.fiber.internal.dns;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** What the non-blocking resolver reads: the {@code fiber.dns*} properties, resolv.conf and the hosts file. */
class DnsConfigurationTest {

    private static InetSocketAddress at(String address, int port) {
        return new InetSocketAddress(InetAddress.ofLiteral(address), port);
    }

    @Test
    void modesAreParsedStrictly() {
        assertEquals(DnsSettings.Mode.NONBLOCKING, DnsSettings.Mode.parse("nonblocking"));
        assertEquals(DnsSettings.Mode.OFF, DnsSettings.Mode.parse(" off "));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DnsSettings.Mode.parse("async"));
        assertEquals("system property fiber.dns=async is invalid: it must be offload, nonblocking or off", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> DnsSettings.Mode.parse("OFFLOAD"));
    }

    @Test
    void serversAreAddressesWithOptionalPorts() {
        assertEquals(List.of(at("127.0.0.1", 5353), at("10.0.0.2", 53), at("::1", 5300), at("::1", 53)),
                DnsSettings.parseServers("127.0.0.1:5353, 10.0.0.2,[::1]:5300,::1"));
    }

    @Test
    void badServersAreNamed() {
        assertEquals("system property fiber.dns.servers has an invalid server 'dns.example:53': 'dns.example' is not an IP address"
                        + " (a DNS server must be given by address); expected comma-separated ADDRESS or ADDRESS:PORT, such as 127.0.0.1:5353 or [::1]:53",
                assertThrows(IllegalArgumentException.class, () -> DnsSettings.parseServers("127.0.0.1,dns.example:53")).getMessage());
        assertEquals("system property fiber.dns.servers has an invalid server '127.0.0.1:99999': port '99999' is not a number from 1 to 65535"
                        + "; expected comma-separated ADDRESS or ADDRESS:PORT, such as 127.0.0.1:5353 or [::1]:53",
                assertThrows(IllegalArgumentException.class, () -> DnsSettings.parseServers("127.0.0.1:99999")).getMessage());
        assertThrows(IllegalArgumentException.class, () -> DnsSettings.parseServers("[::1"));
        assertThrows(IllegalArgumentException.class, () -> DnsSettings.parseServers("[::1]53"));
        assertEquals("system property fiber.dns.servers=, is invalid: it lists no server",
                assertThrows(IllegalArgumentException.class, () -> DnsSettings.parseServers(",")).getMessage());
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
