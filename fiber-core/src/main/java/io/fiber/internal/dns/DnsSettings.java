package io.fiber.internal.dns;

import io.fiber.internal.Settings;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The DNS system properties, parsed strictly: a bad value is an {@link IllegalArgumentException}
 * that names the property, the value and what it must be. Reading them does no I/O, so the provider
 * checks them when the JDK creates the system-wide resolver (and the agent at start-up).
 *
 * <ul>
 *   <li>{@code fiber.dns} ({@link Settings#DNS}): {@code offload} (default), {@code nonblocking} or {@code off}; see {@link Mode};</li>
 *   <li>{@value #SERVERS}: for {@code nonblocking}, the DNS servers to ask instead of
 *       {@code /etc/resolv.conf}'s, comma-separated IP addresses with an optional port:
 *       {@code 127.0.0.1:5353}, {@code 10.0.0.2}, {@code [::1]:53}, {@code ::1};</li>
 *   <li>{@value #TIMEOUT}: milliseconds to wait for one server's answer, instead of resolv.conf's
 *       {@code options timeout:} (seconds);</li>
 *   <li>{@value #ATTEMPTS}: rounds over the servers, instead of resolv.conf's {@code options attempts:}.</li>
 * </ul>
 * Null fields mean "as resolv.conf says".
 */
record DnsSettings(Mode mode, List<InetSocketAddress> servers, Duration timeout, Integer attempts) {
    static final String MODE = Settings.DNS.property(); // the agent option dns= sets it
    static final String SERVERS = "fiber.dns.servers";
    static final String TIMEOUT = "fiber.dns.timeout.millis";
    static final String ATTEMPTS = "fiber.dns.attempts";
    static final int MAX_TIMEOUT_MILLIS = 60_000;
    static final int MAX_ATTEMPTS = 10;

    /** How lookups made on a carrier run. */
    enum Mode {
        /** The JDK's built-in resolver, on the scheduler's offload pool while the fiber parks. */
        OFFLOAD,
        /** DNS over UDP (TCP when truncated) from the fiber itself; its socket waits unmount it. */
        NONBLOCKING,
        /** The JDK's built-in resolver on the carrier, as without this provider. */
        OFF;

        static Mode parse(String value) {
            return valueOf(Settings.DNS.parse(value, Settings.Source.SYSTEM_PROPERTY).toUpperCase(Locale.ROOT));
        }
    }

    static DnsSettings fromSystemProperties() {
        String mode = System.getProperty(MODE);
        String servers = System.getProperty(SERVERS);
        String timeout = System.getProperty(TIMEOUT);
        String attempts = System.getProperty(ATTEMPTS);
        return new DnsSettings(
                mode == null ? Mode.OFFLOAD : Mode.parse(mode),
                servers == null ? null : parseServers(servers),
                timeout == null ? null : Duration.ofMillis(parseInt(TIMEOUT, timeout, 1, MAX_TIMEOUT_MILLIS)),
                attempts == null ? null : parseInt(ATTEMPTS, attempts, 1, MAX_ATTEMPTS));
    }

    /** {@code 127.0.0.1:5353,[::1]:53,10.0.0.2}: addresses only, a DNS server cannot be found by name. */
    static List<InetSocketAddress> parseServers(String value) {
        List<InetSocketAddress> servers = new ArrayList<>();
        for (String entry : value.split(",")) {
            String e = entry.trim();
            if (e.isEmpty()) {
                continue;
            }
            String host = e;
            int port = ResolvConf.DNS_PORT;
            if (e.startsWith("[")) {
                int close = e.indexOf(']');
                if (close < 0) {
                    throw badServer(e, "a '[' without its ']'");
                }
                host = e.substring(1, close);
                String rest = e.substring(close + 1);
                if (!rest.isEmpty()) {
                    if (!rest.startsWith(":")) {
                        throw badServer(e, "text after ']' that is not :PORT");
                    }
                    port = parsePort(e, rest.substring(1));
                }
            } else if (e.indexOf(':') >= 0 && e.indexOf(':') == e.lastIndexOf(':')) {
                host = e.substring(0, e.indexOf(':'));
                port = parsePort(e, e.substring(e.indexOf(':') + 1));
            }
            InetAddress address;
            try {
                address = InetAddress.ofLiteral(host);
            } catch (IllegalArgumentException ex) {
                throw badServer(e, "'" + host + "' is not an IP address (a DNS server must be given by address)");
            }
            servers.add(new InetSocketAddress(address, port));
        }
        if (servers.isEmpty()) {
            throw new IllegalArgumentException("system property " + SERVERS + "=" + value + " is invalid: it lists no server");
        }
        return List.copyOf(servers);
    }

    private static int parsePort(String entry, String port) {
        try {
            int p = Integer.parseInt(port);
            if (p >= 1 && p <= 65535) {
                return p;
            }
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw badServer(entry, "port '" + port + "' is not a number from 1 to 65535");
    }

    private static IllegalArgumentException badServer(String entry, String why) {
        return new IllegalArgumentException("system property " + SERVERS + " has an invalid server '" + entry + "': " + why
                + "; expected comma-separated ADDRESS or ADDRESS:PORT, such as 127.0.0.1:5353 or [::1]:53");
    }

    private static int parseInt(String property, String value, int min, int max) {
        try {
            int n = Integer.parseInt(value.trim());
            if (n >= min && n <= max) {
                return n;
            }
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new IllegalArgumentException("system property " + property + "=" + value
                + " is invalid: it must be a whole number from " + min + " to " + max);
    }
}
