package io.fiber.internal.dns;

import io.fiber.internal.Settings;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * What {@code /etc/resolv.conf} says, read as glibc reads it (resolv.conf(5)):
 * <ul>
 *   <li>{@code nameserver ADDRESS}: up to 3 servers, port 53, in file order; none means the local
 *       host, 127.0.0.1;</li>
 *   <li>{@code search D1 D2 ...} and {@code domain D}: the search list, the last such line wins
 *       (up to 6 domains);</li>
 *   <li>{@code options ndots:N timeout:N attempts:N}: dots that make a name be tried as it is first
 *       (default 1, at most 15), seconds per try (default 5, at most 30), tries per server (default
 *       2, at most 5). Other options are ignored.</li>
 * </ul>
 * Comments start with {@code #} or {@code ;}. Unreadable entries are skipped, as glibc skips them.
 * glibc also honours the environment variables {@code LOCALDOMAIN} and {@code RES_OPTIONS}, and
 * without a search line takes the domain of the host name; this reader does not.
 */
record ResolvConf(List<InetSocketAddress> servers, List<String> search, int ndots, Duration timeout, int attempts) {
    static final Path SYSTEM = Path.of("/etc/resolv.conf");
    private static final int MAX_SERVERS = 3;
    private static final int MAX_SEARCH = 6;
    static final ResolvConf DEFAULTS = new ResolvConf(
            List.of(new InetSocketAddress(InetAddress.getLoopbackAddress(), Settings.DNS_PORT)), List.of(), 1, Duration.ofSeconds(5), 2);

    /** Reads {@code file}; one that does not exist gives glibc's defaults. */
    static ResolvConf read(Path file) throws IOException {
        try {
            return parse(Files.readAllLines(file, StandardCharsets.ISO_8859_1));
        } catch (NoSuchFileException e) {
            return DEFAULTS;
        }
    }

    static ResolvConf parse(List<String> lines) {
        List<InetSocketAddress> servers = new ArrayList<>();
        List<String> search = DEFAULTS.search;
        int ndots = DEFAULTS.ndots;
        Duration timeout = DEFAULTS.timeout;
        int attempts = DEFAULTS.attempts;
        for (String line : lines) {
            String[] fields = line.trim().split("\\s+");
            if (fields.length < 2 || fields[0].startsWith("#") || fields[0].startsWith(";")) {
                continue;
            }
            switch (fields[0]) {
                case "nameserver" -> {
                    if (servers.size() < MAX_SERVERS) {
                        try {
                            servers.add(new InetSocketAddress(InetAddress.ofLiteral(fields[1]), Settings.DNS_PORT));
                        } catch (IllegalArgumentException e) {
                            // not an address: skipped, as glibc does
                        }
                    }
                }
                case "domain" -> search = List.of(stripDot(fields[1]));
                case "search" -> {
                    List<String> domains = new ArrayList<>();
                    for (int i = 1; i < fields.length && domains.size() < MAX_SEARCH; i++) {
                        if (fields[i].startsWith("#") || fields[i].startsWith(";")) {
                            break;
                        }
                        domains.add(stripDot(fields[i]));
                    }
                    search = List.copyOf(domains);
                }
                case "options" -> {
                    for (int i = 1; i < fields.length; i++) {
                        String option = fields[i];
                        ndots = option(option, "ndots:", 0, 15, ndots);
                        timeout = Duration.ofSeconds(option(option, "timeout:", 1, 30, (int) timeout.toSeconds()));
                        attempts = option(option, "attempts:", 1, 5, attempts);
                    }
                }
                default -> { }
            }
        }
        return new ResolvConf(servers.isEmpty() ? DEFAULTS.servers : List.copyOf(servers), search, ndots, timeout, attempts);
    }

    /** The value of {@code option} if it is {@code prefix}N, clamped to [min, max]; otherwise {@code current}. */
    private static int option(String option, String prefix, int min, int max, int current) {
        if (!option.startsWith(prefix)) {
            return current;
        }
        try {
            return Math.max(min, Math.min(max, Integer.parseInt(option.substring(prefix.length()))));
        } catch (NumberFormatException e) {
            return current;
        }
    }

    private static String stripDot(String domain) {
        return domain.endsWith(".") && domain.length() > 1 ? domain.substring(0, domain.length() - 1) : domain;
    }
}
