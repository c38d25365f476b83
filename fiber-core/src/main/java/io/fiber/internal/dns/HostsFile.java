package io.fiber.internal.dns;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A snapshot of a hosts file ({@code /etc/hosts}), which {@link DnsClient} consults before asking
 * DNS, as glibc's {@code hosts: files dns} does.
 *
 * <p>Each line is an address followed by a canonical name and aliases; {@code #} starts a comment.
 * A name maps to the addresses of every line that lists it, in file order (the JDK's own hosts-file
 * resolver does the same), matched without ASCII case; an address maps back to the canonical name of
 * its first line. Lines whose address is not an IP literal are skipped, as glibc skips them. The
 * file is read once, when the snapshot is made; a missing file is an empty snapshot.
 */
final class HostsFile {
    static final Path SYSTEM = Path.of("/etc/hosts");
    static final HostsFile EMPTY = new HostsFile(Map.of(), Map.of());

    private final Map<String, List<InetAddress>> addressesByName;
    private final Map<AddressKey, String> nameByAddress;

    private record AddressKey(byte[] bytes) {
        @Override
        public boolean equals(Object o) {
            return o instanceof AddressKey k && Arrays.equals(bytes, k.bytes);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(bytes);
        }
    }

    private HostsFile(Map<String, List<InetAddress>> addressesByName, Map<AddressKey, String> nameByAddress) {
        this.addressesByName = addressesByName;
        this.nameByAddress = nameByAddress;
    }

    /** Reads {@code file}; a file that does not exist gives an empty snapshot. */
    static HostsFile read(Path file) throws IOException {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.ISO_8859_1);
        } catch (NoSuchFileException e) {
            return EMPTY;
        }
        return parse(lines);
    }

    static HostsFile parse(List<String> lines) {
        Map<String, List<InetAddress>> byName = new HashMap<>();
        Map<AddressKey, String> byAddress = new HashMap<>();
        for (String line : lines) {
            int hash = line.indexOf('#');
            String[] fields = (hash >= 0 ? line.substring(0, hash) : line).trim().split("\\s+");
            if (fields.length < 2 || !looksLikeAddress(fields[0])) {
                continue;
            }
            InetAddress literal;
            try {
                literal = InetAddress.ofLiteral(fields[0]);
            } catch (IllegalArgumentException e) {
                continue;
            }
            byAddress.putIfAbsent(new AddressKey(literal.getAddress()), fields[1]);
            for (int i = 1; i < fields.length; i++) {
                byName.computeIfAbsent(key(fields[i]), k -> new ArrayList<>()).add(literal);
            }
        }
        Map<String, List<InetAddress>> frozen = new HashMap<>();
        byName.forEach((name, list) -> frozen.put(name, List.copyOf(list)));
        return new HostsFile(Map.copyOf(frozen), Map.copyOf(byAddress));
    }

    /** A cheap filter before parsing: an IP literal starts with a hex digit or ':'. */
    private static boolean looksLikeAddress(String field) {
        char c = field.charAt(0);
        return Character.digit(c, 16) >= 0 || c == ':';
    }

    private static String key(String name) {
        String n = name.endsWith(".") ? name.substring(0, name.length() - 1) : name;
        return n.toLowerCase(Locale.ROOT);
    }

    /** The addresses listed for {@code name} (no address objects carry a host name), or an empty list. */
    List<InetAddress> addresses(String name) {
        return addressesByName.getOrDefault(key(name), List.of());
    }

    /** The canonical name listed for {@code address}, or null. */
    String name(byte[] address) {
        return nameByAddress.get(new AddressKey(address));
    }
}
