package io.fiber.agent;

import io.fiber.internal.dns.LoopbackDnsServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fibers' name lookups under the packaged agent with {@code detector=fail}, in child JVMs (the mode
 * and servers are read when the JVM makes its first lookup, at the agent's start): {@link DnsProbe}
 * does the lookups, this test checks what it printed. The non-blocking mode asks a
 * {@link LoopbackDnsServer} running here; the other modes only resolve loopback names from /etc/hosts.
 */
class DnsIT {
    private static final int MANY = 200;
    private static final Duration SLOW = Duration.ofMillis(500);

    private record Run(int exit, Map<String, String> values, String out, String err) {
        String get(String key) {
            assertTrue(values.containsKey(key), "the probe printed no " + key + ": " + out + err);
            return values.get(key);
        }

        long number(String key) {
            return Long.parseLong(get(key));
        }
    }

    private static Run probe(String agentArgs, List<String> jvmArgs, Path classPathLast, String scenario) throws Exception {
        List<String> args = new ArrayList<>(List.of(ChildJvm.agent(agentArgs), "-Dsun.net.inetaddr.ttl=0",
                "--add-opens", "java.base/java.net=ALL-UNNAMED"));
        args.addAll(jvmArgs);
        String classPath = ChildJvm.testClassPath() + (classPathLast == null ? "" : File.pathSeparator + classPathLast);
        ChildJvm.Run r = ChildJvm.run(args, classPath, DnsProbe.class, List.of(scenario), 60);
        Map<String, String> values = new LinkedHashMap<>();
        for (String line : r.out().split("\n")) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                values.put(line.substring(0, eq), line.substring(eq + 1));
            }
        }
        return new Run(r.exit(), values, r.out(), r.err());
    }

    /** The default, offload: a fiber's lookups are not flagged, give the JDK's answers, and went to the offload pool. */
    @Test
    void offloadedLookupsAreNotFlaggedAndAnswerAsTheJdk() throws Exception {
        Run r = probe("detector=fail", List.of(), null, "jdk-resolver");
        assertEquals(0, r.exit(), r.out() + r.err());
        assertEquals(r.get("platform-forward"), r.get("fiber-forward"));
        assertEquals(r.get("platform-reverse"), r.get("fiber-reverse"));
        assertEquals("localhost", r.get("fiber-reverse"));
        assertEquals(3, r.number("offloaded"), "the fiber's lookups ran on the offload pool: the forward one, the reverse one"
                + " and the forward check getCanonicalHostName makes of the name it got");
        assertTrue(r.get("watched-platform").startsWith("error io.fiber.detector.BlockingCallError")
                        && r.get("watched-platform").contains("InetAddress$PlatformResolver"),
                "a platform thread's lookup goes straight to the JDK's resolver, on that thread: " + r.get("watched-platform"));
    }

    /** With the provider off, the same fiber lookups reach the JDK's resolver on the carrier, and the detector stops them. */
    @Test
    void withDnsOffTheDetectorFlagsTheSameLookups() throws Exception {
        Run r = probe("detector=fail,dns=off", List.of(), null, "jdk-resolver");
        assertEquals(0, r.exit(), r.out() + r.err());
        for (String key : List.of("fiber-forward", "fiber-reverse")) {
            assertTrue(r.get(key).startsWith("error io.fiber.detector.BlockingCallError")
                    && r.get(key).contains("java.net.InetAddress$PlatformResolver#lookupBy"), key + ": " + r.get(key));
        }
        assertEquals(0, r.number("offloaded"));
    }

    /**
     * dns=nonblocking against a loopback server, on one carrier: a lookup answered 500 ms late leaves
     * the carrier to a fiber pinging every 1 ms (held, the ping would be 500 ms late; the bound is
     * half that, as this machine is shared with other builds); the reactor took the socket waits;
     * NXDOMAIN and a silent server fail naming the host and the server; many lookups at once all come back right.
     */
    @Test
    void nonblockingLookupsAskTheServersFromTheFiber() throws Exception {
        try (LoopbackDnsServer server = new LoopbackDnsServer()) {
            server.a("slow.test", "192.0.2.77").aaaa("slow.test", "2001:db8::77").delay("slow.test", SLOW)
                    .a("warm-up.test", "192.0.2.1").silence("silent.test");
            for (int i = 0; i < MANY; i++) {
                server.a("host" + i + ".test", "192.0.2." + (i % 250 + 1));
            }
            Run r = probe("detector=fail,dns=nonblocking", List.of(
                    "-Dfiber.dns.servers=" + server.serverProperty(), "-Dfiber.dns.timeout.millis=1500", "-Dfiber.dns.attempts=1",
                    "-Ddns.probe.many=" + MANY), null, "nonblocking");
            assertEquals(0, r.exit(), r.out() + r.err());
            System.out.printf("DnsIT nonblocking: lookup %s ms (server delay %d ms), ping at most %s ms late over %s pings; %d lookups at once in %s ms%n",
                    r.get("slow-ms"), SLOW.toMillis(), r.get("ping-max-late-ms"), r.get("pings"), MANY, r.get("many-ms"));
            assertEquals("[slow.test/192.0.2.77, slow.test/2001:db8:0:0:0:0:0:77]", r.get("slow"));
            assertTrue(r.number("slow-ms") >= SLOW.toMillis() - 10, "answered after the server's delay: " + r.get("slow-ms"));
            assertTrue(r.number("ping-max-late-ms") < SLOW.toMillis() / 2, "the ping fiber kept running, at most "
                    + r.get("ping-max-late-ms") + " ms late during a " + SLOW.toMillis() + " ms lookup");
            assertTrue(r.number("pings") >= 20, "pings during the lookup: " + r.get("pings"));
            assertTrue(r.number("io-waits") >= 1, "the carrier's epoll reactor took the fiber's socket waits");
            assertEquals("error java.net.UnknownHostException: nosuch.test: no such host (NXDOMAIN from " + server.serverProperty() + ")",
                    r.get("nxdomain"));
            assertTrue(r.get("silent").startsWith("error java.net.UnknownHostException: silent.test: DNS timeout: no answer from "
                    + server.serverProperty() + " within 1500 ms per try, 1 attempt(s)"), r.get("silent"));
            assertTrue(r.get("fiber-hosts-file").startsWith("[localhost/127.0.0.1"), "/etc/hosts first: " + r.get("fiber-hosts-file"));
            assertEquals(MANY, r.number("many-right"));
            assertEquals(0, r.number("offloaded"), "nothing went to the offload pool: resolv.conf and /etc/hosts were read"
                    + " when the agent's start made the JDK create its resolver");
        }
    }

    /** An application's own resolver provider stays in charge when the JDK found ours first, for fibers too (offloaded). */
    @Test
    void anApplicationProviderBehindOursStillAnswers(@TempDir Path dir) throws Exception {
        Path services = dir.resolve("META-INF/services/java.net.spi.InetAddressResolverProvider");
        Files.createDirectories(services.getParent());
        Files.writeString(services, AppResolverProvider.class.getName() + "\n");
        Run r = probe("detector=fail", List.of(), dir, "delegated");
        assertEquals(0, r.exit(), r.out() + r.err());
        assertEquals("io.fiber.internal.dns.FiberResolver", r.get("resolver"), "the JDK chose fiber-core's provider, first on the class path");
        assertEquals("[localhost/192.0.2.200]", r.get("platform"));
        assertEquals("[localhost/192.0.2.200]", r.get("fiber"));
        assertEquals(1, r.number("offloaded"));
    }

    @Test
    void badSettingsStopTheJvmAtStartNamingTheSetting() throws Exception {
        Run option = probe("dns=async", List.of(), null, "jdk-resolver");
        assertEquals(1, option.exit(), option.err());
        assertEquals(1, option.err().lines().count(), "one line, nothing from the JDK's agent launcher: " + option.err());
        assertTrue(option.err().contains("fiber-agent: option dns=async is invalid: it must be offload, nonblocking or off"), option.err());

        Run property = probe("", List.of("-Dfiber.dns=async"), null, "jdk-resolver");
        assertEquals(1, property.exit(), property.err());
        assertEquals(1, property.err().lines().count(), "one line, nothing from the JDK's agent launcher: " + property.err());
        assertTrue(property.err().contains("fiber-agent: system property fiber.dns=async is invalid: it must be offload, nonblocking or off"),
                property.err());

        Run server = probe("dns=nonblocking", List.of("-Dfiber.dns.servers=127.0.0.1,dns.example"), null, "nonblocking");
        assertEquals(1, server.exit(), server.err());
        assertEquals(1, server.err().lines().count(), "one line, nothing from the JDK's agent launcher: " + server.err());
        assertTrue(server.err().contains("fiber-agent: system property fiber.dns.servers=127.0.0.1,dns.example is invalid:"
                + " in server 'dns.example', 'dns.example' is not an IP address"), server.err());
        assertTrue(!server.values().containsKey("resolver") && !server.values().containsKey("slow"),
                "the application must not have run: " + server.out());

        Run timeout = probe("dns=nonblocking", List.of("-Dfiber.dns.timeout.millis=90000"), null, "nonblocking");
        assertEquals(1, timeout.exit(), timeout.err());
        assertEquals(1, timeout.err().lines().count(), "one line, nothing from the JDK's agent launcher: " + timeout.err());
        assertTrue(timeout.err().contains("fiber-agent: system property fiber.dns.timeout.millis=90000 is invalid:"
                + " it must be a whole number of milliseconds from 1 to 60000"), timeout.err());
    }
}
