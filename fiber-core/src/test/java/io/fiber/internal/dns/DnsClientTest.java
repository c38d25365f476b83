package io.fiber.internal.dns;

import io.fiber.Fiber;
import io.fiber.FiberScheduler;
import io.fiber.PingFiber;
import io.fiber.TestFibers;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.net.spi.InetAddressResolver.LookupPolicy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static java.net.spi.InetAddressResolver.LookupPolicy.IPV4;
import static java.net.spi.InetAddressResolver.LookupPolicy.IPV4_FIRST;
import static java.net.spi.InetAddressResolver.LookupPolicy.IPV6;
import static java.net.spi.InetAddressResolver.LookupPolicy.IPV6_FIRST;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link DnsClient} against {@link LoopbackDnsServer}: answers, CNAME chains, search domains, the
 * hosts file, failures and their messages, TCP after truncation; and, in fibers of a one-carrier
 * scheduler, that a slow server never holds the carrier. These run without the agent, so the
 * fibers' socket waits park in the JDK's poller; fiber-agent's DnsIT runs the same client under the agent.
 */
class DnsClientTest {
    private static final LookupPolicy DUAL = LookupPolicy.of(IPV4 | IPV6 | IPV4_FIRST);
    private static final Duration TIMEOUT = Duration.ofMillis(300);

    private LoopbackDnsServer server;

    @BeforeEach
    void start() throws Exception {
        server = new LoopbackDnsServer()
                .a("www.test", "192.0.2.1", "192.0.2.2")
                .aaaa("www.test", "2001:db8::1")
                .a("v4only.test", "192.0.2.9");
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private DnsClient client(LoopbackDnsServer... servers) {
        return client(List.of(), 1, HostsFile.EMPTY, 2, servers);
    }

    private DnsClient client(List<String> search, int ndots, HostsFile hosts, int attempts, LoopbackDnsServer... servers) {
        List<InetSocketAddress> addresses = new ArrayList<>();
        for (LoopbackDnsServer s : servers.length == 0 ? new LoopbackDnsServer[] {server} : servers) {
            addresses.add(s.address());
        }
        return new DnsClient(new DnsClient.Config(addresses, search, ndots, TIMEOUT, attempts, hosts));
    }

    private static List<String> text(List<InetAddress> addresses) {
        return addresses.stream().map(InetAddress::getHostAddress).toList();
    }

    @Test
    void answersAAndAaaaInThePolicysOrderWithTheNameAsAsked() throws Exception {
        List<InetAddress> dual = client().lookupByName("WWW.test", DUAL);
        assertEquals(List.of("192.0.2.1", "192.0.2.2", "2001:db8:0:0:0:0:0:1"), text(dual));
        assertEquals("WWW.test", dual.get(0).getHostName(), "addresses carry the name as the caller gave it, as the JDK's do");
        assertEquals(List.of("2001:db8:0:0:0:0:0:1", "192.0.2.1", "192.0.2.2"),
                text(client().lookupByName("www.test", LookupPolicy.of(IPV4 | IPV6 | IPV6_FIRST))));
        int before = server.queries().size();
        assertEquals(List.of("192.0.2.1", "192.0.2.2"), text(client().lookupByName("www.test", LookupPolicy.of(IPV4))));
        assertEquals(List.of("www.test/A"), server.queriedNames().subList(before, server.queries().size()),
                "an IPv4-only policy asks for A only");
        assertEquals(List.of("192.0.2.9"), text(client().lookupByName("v4only.test", DUAL)), "a name without AAAA still resolves");
    }

    @Test
    void followsCnameChainsInOneAnswerAndAcrossQuestions() throws Exception {
        server.cname("alias.test", "middle.test").cname("middle.test", "www.test");
        assertEquals(List.of("192.0.2.1", "192.0.2.2", "2001:db8:0:0:0:0:0:1"), text(client().lookupByName("alias.test", DUAL)));

        server.cname("partial.test", "www.test").cnameOnly("partial.test");
        int before = server.queries().size();
        assertEquals(List.of("192.0.2.1", "192.0.2.2"), text(client().lookupByName("partial.test", LookupPolicy.of(IPV4))));
        assertEquals(List.of("partial.test/A", "www.test/A"), server.queriedNames().subList(before, server.queries().size()),
                "an answer that stops at the CNAME makes the client ask for its target");

        server.cname("loop1.test", "loop2.test").cname("loop2.test", "loop1.test").cnameOnly("loop1.test").cnameOnly("loop2.test");
        UnknownHostException loop = assertThrows(UnknownHostException.class, () -> client().lookupByName("loop1.test", LookupPolicy.of(IPV4)));
        assertTrue(loop.getMessage().startsWith("loop1.test: no address record") && loop.getMessage().contains("CNAME hops"), loop.getMessage());
    }

    @Test
    void nxdomainIsAnUnknownHostNamingTheHostAndServer() {
        UnknownHostException e = assertThrows(UnknownHostException.class, () -> client().lookupByName("nosuch.test", DUAL));
        assertEquals("nosuch.test: no such host (NXDOMAIN from " + server.serverProperty() + ")", e.getMessage());
    }

    @Test
    void aSilentServerTimesOutNamingTheHostAndServer() {
        server.silenceAll();
        long start = System.nanoTime();
        UnknownHostException e = assertThrows(UnknownHostException.class, () -> client().lookupByName("www.test", DUAL));
        long millis = Duration.ofNanos(System.nanoTime() - start).toMillis();
        assertTrue(e.getMessage().startsWith("www.test: DNS timeout: no answer from " + server.serverProperty() + " within 300 ms per try, 2 attempt(s)"),
                e.getMessage());
        assertInstanceOf(SocketTimeoutException.class, e.getCause());
        assertTrue(millis >= 2 * TIMEOUT.toMillis() - 20 && millis < 5_000, "two tries of 300 ms, took " + millis + " ms");
        assertEquals(4, server.queries().size(), "A and AAAA, asked twice: " + server.queriedNames());
    }

    @Test
    void theNextServerAnswersWhenOneIsSilentOrFails() throws Exception {
        try (LoopbackDnsServer silent = new LoopbackDnsServer().silenceAll();
             LoopbackDnsServer failing = new LoopbackDnsServer().servfail("www.test")) {
            assertEquals(List.of("192.0.2.1", "192.0.2.2"), text(client(List.of(), 1, HostsFile.EMPTY, 1, silent, failing, server)
                    .lookupByName("www.test", LookupPolicy.of(IPV4))));
            assertEquals(1, silent.queries().size());
            assertEquals(1, failing.queries().size());

            int before = failing.queries().size();
            UnknownHostException e = assertThrows(UnknownHostException.class,
                    () -> client(List.of(), 1, HostsFile.EMPTY, 2, failing).lookupByName("www.test", LookupPolicy.of(IPV4)));
            assertEquals("www.test: DNS server " + failing.serverProperty() + " answered SERVFAIL", e.getMessage());
            assertEquals(1, failing.queries().size() - before, "a server failure is not asked again in a second round");
        }
    }

    @Test
    void aTruncatedAnswerIsAskedAgainOverTcp() throws Exception {
        server.truncate("www.test");
        assertEquals(List.of("192.0.2.1", "192.0.2.2"), text(client().lookupByName("www.test", LookupPolicy.of(IPV4))));
        assertEquals(List.of(new LoopbackDnsServer.Query("www.test", 1, false), new LoopbackDnsServer.Query("www.test", 1, true)),
                server.queries());
    }

    @Test
    void packetsThatAreNotTheAnswerAreIgnored() throws Exception {
        server.noiseFirst("www.test");
        assertEquals(List.of("192.0.2.1", "192.0.2.2"), text(client().lookupByName("www.test", LookupPolicy.of(IPV4))));
    }

    @Test
    void theHostsFileIsConsultedFirst() throws Exception {
        HostsFile hosts = HostsFile.parse(List.of("# comment", "198.51.100.7  www.test  alias # trailing", "::1 www.test"));
        DnsClient client = client(List.of(), 1, hosts, 2);
        assertEquals(List.of("198.51.100.7", "0:0:0:0:0:0:0:1"), text(client.lookupByName("www.test", DUAL)));
        assertEquals(List.of("198.51.100.7"), text(client.lookupByName("ALIAS", LookupPolicy.of(IPV4))));
        assertEquals("www.test", client.lookupByAddress(new byte[] {(byte) 198, 51, 100, 7}));
        assertEquals(List.of(), server.queries(), "names in the hosts file never reach DNS");
        assertEquals(List.of("192.0.2.9"), text(client.lookupByName("v4only.test", DUAL)));
    }

    @Test
    void searchDomainsAndNdotsOrderTheCandidates() throws Exception {
        server.a("db.corp.test", "192.0.2.50").a("db.corp", "192.0.2.51");
        DnsClient client = client(List.of("corp.test", "other.test"), 1, HostsFile.EMPTY, 2);
        assertEquals(List.of("192.0.2.50"), text(client.lookupByName("db", LookupPolicy.of(IPV4))));
        assertEquals(List.of("db.corp.test/A"), server.queriedNames(), "no dot: search domains first");

        assertEquals(List.of("192.0.2.51"), text(client.lookupByName("db.corp", LookupPolicy.of(IPV4))));
        assertEquals("db.corp/A", server.queriedNames().get(1), "ndots reached: the name as it is first");

        assertEquals(List.of("db.corp.test", "db.other.test", "db"), client.candidates("db", "db"));
        assertEquals(List.of("db.corp"), client.candidates("db.corp.", "db.corp"), "a trailing dot: the name only");
        assertEquals(List.of("a.b.corp.test", "a.b.other.test", "a.b"), client(List.of("corp.test", "other.test"), 2, HostsFile.EMPTY, 2)
                .candidates("a.b", "a.b"), "ndots 2: a name with one dot tries the search list first");

        UnknownHostException e = assertThrows(UnknownHostException.class, () -> client.lookupByName("nosuch", LookupPolicy.of(IPV4)));
        assertTrue(e.getMessage().endsWith("; tried nosuch.corp.test, nosuch.other.test, nosuch"), e.getMessage());
    }

    @Test
    void reverseLookupsAskForThePtrRecord() throws Exception {
        server.ptr("1.2.0.192.in-addr.arpa", "www.test")
                .ptr("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa", "www6.test");
        assertEquals("www.test", client().lookupByAddress(new byte[] {(byte) 192, 0, 2, 1}));
        assertEquals("www6.test", client().lookupByAddress(InetAddress.ofLiteral("2001:db8::1").getAddress()));
        UnknownHostException e = assertThrows(UnknownHostException.class, () -> client().lookupByAddress(new byte[] {(byte) 192, 0, 2, 99}));
        assertTrue(e.getMessage().startsWith("192.0.2.99: no such host (NXDOMAIN"), e.getMessage());
    }

    @Test
    void invalidNamesAreRefusedWithoutAsking() {
        UnknownHostException e = assertThrows(UnknownHostException.class, () -> client().lookupByName("a..b", DUAL));
        assertEquals("a..b: not a valid DNS name: an empty label in 'a..b'", e.getMessage());
        assertThrows(UnknownHostException.class, () -> client().lookupByName("x".repeat(64) + ".test", DUAL));
        assertThrows(UnknownHostException.class, () -> client().lookupByName("caf\u00e9.test", DUAL));
        assertEquals(List.of(), server.queries());
    }

    /**
     * The test: one carrier; a fiber resolves a name the server answers 300 ms late while a
     * ping fiber sleeps 1 ms at a time and measures how late it wakes. Had the lookup held the carrier,
     * the ping would have been about 300 ms late.
     */
    @Test
    void aSlowAnswerDoesNotHoldTheCarrier() throws Exception {
        Duration slow = Duration.ofMillis(300);
        server.a("slow.test", "192.0.2.77").delay("slow.test", slow);
        DnsClient client = new DnsClient(new DnsClient.Config(List.of(server.address()), List.of(), 1, Duration.ofSeconds(5), 1, HostsFile.EMPTY));
        try (FiberScheduler s = TestFibers.scheduler("dns-ping", 1)) {
            // A first lookup loads the client's classes, which is not what the ping measures.
            TestFibers.result(s.spawn(() -> client.lookupByName("v4only.test", LookupPolicy.of(IPV4))));
            PingFiber ping = PingFiber.start(s);
            long start = System.nanoTime();
            assertEquals(List.of("192.0.2.77"), text(TestFibers.result(s.spawn(() -> client.lookupByName("slow.test", LookupPolicy.of(IPV4))))));
            long tookMillis = Duration.ofNanos(System.nanoTime() - start).toMillis();
            PingFiber.Report report = ping.stop();
            long lateMillis = Duration.ofNanos(report.maxNanos()).toMillis();
            assertTrue(tookMillis >= slow.toMillis() - 20, "the answer came after the server's delay: " + tookMillis + " ms");
            assertTrue(lateMillis < slow.toMillis() / 2, "the ping fiber kept running: at most " + lateMillis
                    + " ms late, against the server's 300 ms (the bound is loose: the machine is shared with other builds)");
            assertTrue(report.ticks() >= 20, "the ping fiber ran " + report.ticks() + " times during a 300 ms lookup");
        }
    }

    /** 300 fibers on one carrier look up distinct names, each answered 200 ms late: they wait together, not in turn. */
    @Test
    void manyConcurrentLookups() throws Exception {
        int n = 300;
        for (int i = 0; i < n; i++) {
            server.a("host" + i + ".test", "192.0.2." + (i % 250 + 1));
        }
        server.delay(Duration.ofMillis(200));
        DnsClient client = new DnsClient(new DnsClient.Config(List.of(server.address()), List.of(), 1, Duration.ofSeconds(5), 1, HostsFile.EMPTY));
        try (FiberScheduler s = TestFibers.scheduler("dns-many", 1)) {
            long start = System.nanoTime();
            List<Fiber<List<InetAddress>>> lookups = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                String name = "host" + i + ".test";
                lookups.add(s.spawn(() -> client.lookupByName(name, LookupPolicy.of(IPV4))));
            }
            for (int i = 0; i < n; i++) {
                assertEquals(List.of("192.0.2." + (i % 250 + 1)), text(TestFibers.result(lookups.get(i))));
            }
            long millis = Duration.ofNanos(System.nanoTime() - start).toMillis();
            assertTrue(millis < 15_000, n + " lookups of 200 ms each took " + millis + " ms (60 s one after another): they did not overlap");
        }
    }
}
