package io.fiber.internal.dns;

import io.fiber.internal.Settings;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Locale;

/**
 * The DNS system properties, as {@link Settings} parses them (their names, grammar and error
 * messages live there): a bad value is an {@link IllegalArgumentException} that names the property,
 * the value and what it must be. Reading them does no I/O, so the provider checks them when the JDK
 * creates the system-wide resolver (and the agent at start-up).
 *
 * <ul>
 *   <li>{@code fiber.dns} ({@link Settings#DNS}, also the agent option {@code dns=}): see {@link Mode};</li>
 *   <li>{@code fiber.dns.servers} ({@link Settings#DNS_SERVERS}): for {@code nonblocking}, the DNS
 *       servers to ask instead of {@code /etc/resolv.conf}'s;</li>
 *   <li>{@code fiber.dns.timeout.millis} ({@link Settings#DNS_TIMEOUT}): how long to wait for one
 *       server's answer, instead of resolv.conf's {@code options timeout:} (seconds);</li>
 *   <li>{@code fiber.dns.attempts} ({@link Settings#DNS_ATTEMPTS}): rounds over the servers, instead
 *       of resolv.conf's {@code options attempts:}.</li>
 * </ul>
 * Null fields mean "as resolv.conf says".
 */
record DnsSettings(Mode mode, List<InetSocketAddress> servers, Duration timeout, Integer attempts) {

    /** How lookups made on a carrier run: one constant per word of {@link Settings#DNS}. */
    enum Mode {
        /** The JDK's built-in resolver, on the scheduler's offload pool while the fiber parks. */
        OFFLOAD,
        /** DNS over UDP (TCP when truncated) from the fiber itself; its socket waits unmount it. */
        NONBLOCKING,
        /** The JDK's built-in resolver on the carrier, as without this provider. */
        OFF;

        /** The mode of a word {@link Settings#DNS} accepted. */
        static Mode of(String word) {
            return valueOf(word.toUpperCase(Locale.ROOT));
        }
    }

    static DnsSettings fromSystemProperties() {
        return new DnsSettings(Mode.of(Settings.DNS.fromSystemProperty()), Settings.DNS_SERVERS.fromSystemProperty(),
                Settings.DNS_TIMEOUT.fromSystemProperty(), Settings.DNS_ATTEMPTS.fromSystemProperty());
    }
}
