package io.fiber.internal.dns;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.net.ProtocolException;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.net.spi.InetAddressResolver.LookupPolicy;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static java.net.spi.InetAddressResolver.LookupPolicy.IPV4;
import static java.net.spi.InetAddressResolver.LookupPolicy.IPV6;
import static java.net.spi.InetAddressResolver.LookupPolicy.IPV6_FIRST;

/**
 * A stub resolver that asks DNS servers itself, from the calling thread, over UDP, and over TCP when
 * an answer comes back truncated. In a fiber every wait is a socket wait, which unmounts the fiber
 * (under the agent, into its carrier's epoll reactor), so a slow server never holds a carrier.
 *
 * <p>A name lookup, in order:
 * <ol>
 *   <li>the hosts file snapshot: if it lists the name with an address of a wanted family, that is
 *       the answer (glibc's {@code hosts: files dns});</li>
 *   <li>the candidates, as glibc's {@code res_search} builds them: a name ending in '.' is only
 *       itself; one with at least {@code ndots} dots is tried as it is, then with each search
 *       domain appended; one with fewer, with the search domains first and as it is last. A
 *       candidate that does not exist (NXDOMAIN) or has no address (NODATA), or whose servers all
 *       failed (SERVFAIL, REFUSED...), passes to the next; a timeout ends the lookup at once, as in glibc;</li>
 *   <li>per candidate, the A and AAAA questions the lookup policy wants go out together on one
 *       socket (as glibc sends them in parallel); each answer's CNAME chain is followed from the
 *       question's name, and when the chain ends at a name the answer holds no address for, that
 *       name is asked next, up to {@value #MAX_CNAME_HOPS} names in all.</li>
 * </ol>
 *
 * <p>One exchange: for each round of {@code attempts}, each server in order gets the questions still
 * unanswered, from a new connected UDP socket (a fresh ephemeral port) with a random 16-bit id per
 * question, and is given {@code timeout} to answer. A packet counts only if it parses, and its id,
 * type and name match a question still open; anything else is ignored and the wait goes on. A
 * truncated answer is asked again of the same server over TCP. NOERROR and NXDOMAIN answer the
 * question; another response code (SERVFAIL, REFUSED, ...) passes it to the next server, and if no
 * server answers better, the question stays failed without more rounds. Rounds are repeated only for
 * questions nothing came back for; when they run out, the lookup fails with an
 * {@link UnknownHostException} naming the host, the servers and the timeout.
 *
 * <p>Addresses come back with the host name as the caller gave it, in answer order, IPv4 first unless
 * the policy says IPv6 first (getaddrinfo would also sort them by RFC 6724; this does not). A reverse
 * lookup asks for the PTR record of the in-addr.arpa or ip6.arpa name, after the hosts file.
 * Everything here may run on any thread; nothing is cached (the JDK caches what it is given).
 */
final class DnsClient {
    static final int MAX_CNAME_HOPS = 16;
    /** Room for any answer a server sends over UDP without EDNS (512 bytes), with slack for one that sends more. */
    private static final int RECEIVE_BUFFER = 4096;
    /** Query ids: unpredictable, so a forged answer must guess them along with the source port; DRBG draws them without a system call. */
    private static final SecureRandom IDS = drbg();

    /** Where and how to ask; see {@link DnsSettings} and {@link ResolvConf}. */
    record Config(List<InetSocketAddress> servers, List<String> search, int ndots, Duration timeout, int attempts,
                  HostsFile hosts) {
        Config {
            servers = List.copyOf(servers);
            search = List.copyOf(search);
            if (servers.isEmpty()) {
                throw new IllegalArgumentException("no DNS server");
            }
        }

        /** The properties in {@code settings}, the rest from {@code resolvConf}, and the {@code hostsFile} snapshot: reads both files. */
        static Config load(DnsSettings settings, Path resolvConf, Path hostsFile) throws IOException {
            ResolvConf conf = ResolvConf.read(resolvConf);
            return new Config(
                    settings.servers() != null ? settings.servers() : conf.servers(),
                    conf.search(), conf.ndots(),
                    settings.timeout() != null ? settings.timeout() : conf.timeout(),
                    settings.attempts() != null ? settings.attempts() : conf.attempts(),
                    HostsFile.read(hostsFile));
        }
    }

    private record Question(String name, int type) { }

    /** What the servers said about one name, per question type; the order is the order of preference. */
    private enum Outcome { FOUND, NXDOMAIN, NODATA, FAILED, TIMEOUT }

    private record Answer(Outcome outcome, String detail) { }

    private final Config config;

    DnsClient(Config config) {
        this.config = config;
    }

    Config config() {
        return config;
    }

    /** Loads and initialises what a lookup uses (the message codec, the id generator's seed) without asking anyone. */
    void warmUp() {
        byte[] query = DnsMessage.query(IDS.nextInt(1 << 16), "warm-up.invalid", DnsMessage.TYPE_A);
        query[2] |= (byte) 0x80; // as if it were the response
        try {
            DnsMessage.parse(query, query.length);
        } catch (ProtocolException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The addresses of {@code host}, of the families {@code policy} asks for, carrying {@code host} as their name. */
    List<InetAddress> lookupByName(String host, LookupPolicy policy) throws UnknownHostException {
        String name;
        try {
            name = DnsMessage.checkName(host);
        } catch (IllegalArgumentException e) {
            throw unknownHost(host, "not a valid DNS name: " + e.getMessage(), null);
        }
        int characteristics = policy.characteristics();
        boolean wantV4 = (characteristics & IPV4) != 0;
        boolean wantV6 = (characteristics & IPV6) != 0;
        boolean v6First = (characteristics & IPV6_FIRST) != 0;

        List<byte[]> v4 = new ArrayList<>();
        List<byte[]> v6 = new ArrayList<>();
        for (InetAddress listed : config.hosts().addresses(name)) {
            if (listed instanceof Inet4Address) {
                if (wantV4) {
                    v4.add(listed.getAddress());
                }
            } else if (wantV6) {
                v6.add(listed.getAddress());
            }
        }
        if (v4.isEmpty() && v6.isEmpty()) {
            List<Integer> types = new ArrayList<>(2);
            if (wantV4) {
                types.add(DnsMessage.TYPE_A);
            }
            if (wantV6) {
                types.add(DnsMessage.TYPE_AAAA);
            }
            Map<Integer, List<byte[]>> found = resolve(host, name, types);
            v4.addAll(found.getOrDefault(DnsMessage.TYPE_A, List.of()));
            v6.addAll(found.getOrDefault(DnsMessage.TYPE_AAAA, List.of()));
        }
        List<InetAddress> result = new ArrayList<>(v4.size() + v6.size());
        for (List<byte[]> family : v6First ? List.of(v6, v4) : List.of(v4, v6)) {
            for (byte[] address : family) {
                result.add(InetAddress.getByAddress(host, address));
            }
        }
        return result;
    }

    /** The name of {@code address} (4 or 16 bytes): the hosts file's, else its PTR record's. */
    String lookupByAddress(byte[] address) throws UnknownHostException {
        String literal = InetAddress.getByAddress(address).getHostAddress();
        String listed = config.hosts().name(address);
        if (listed != null) {
            return listed;
        }
        String reverse = reverseName(address);
        Map<Integer, List<String>> names = new HashMap<>();
        Answer answer = ask(literal, reverse, List.of(DnsMessage.TYPE_PTR), null, names);
        List<String> targets = names.getOrDefault(DnsMessage.TYPE_PTR, List.of());
        if (!targets.isEmpty()) {
            return targets.get(0);
        }
        throw unknownHost(literal, answer.detail(), null);
    }

    /** The addresses by type for the first candidate of {@code name} that has any. */
    private Map<Integer, List<byte[]>> resolve(String host, String name, List<Integer> types) throws UnknownHostException {
        List<String> tried = new ArrayList<>();
        String failure = null;
        String notFound = null;
        for (String candidate : candidates(host, name)) {
            Map<Integer, List<byte[]>> addresses = new HashMap<>();
            Answer answer = ask(host, candidate, types, addresses, null);
            tried.add(candidate);
            switch (answer.outcome()) {
                case FOUND -> {
                    return addresses;
                }
                case FAILED -> failure = failure == null ? answer.detail() : failure;
                default -> notFound = notFound == null ? answer.detail() : notFound;
            }
        }
        String triedNames = tried.size() > 1 ? "; tried " + String.join(", ", tried) : "";
        if (failure != null) {
            throw unknownHost(host, failure + triedNames, null);
        }
        throw unknownHost(host, notFound + triedNames, null);
    }

    /** The names to ask for, in order (see the class comment). */
    List<String> candidates(String host, String name) {
        Set<String> candidates = new LinkedHashSet<>();
        if (host.endsWith(".")) {
            candidates.add(name);
            return List.copyOf(candidates);
        }
        int dots = (int) name.chars().filter(c -> c == '.').count();
        if (dots >= config.ndots()) {
            candidates.add(name);
        }
        for (String domain : config.search()) {
            String qualified = name + "." + domain;
            try {
                candidates.add(DnsMessage.checkName(qualified));
            } catch (IllegalArgumentException e) {
                // too long with this domain: skipped, as glibc skips it
            }
        }
        candidates.add(name);
        return List.copyOf(candidates);
    }

    /**
     * Asks for {@code types} of {@code name}, following CNAME chains, and puts what was found into
     * {@code addresses} (A, AAAA) or {@code targets} (PTR).
     */
    private Answer ask(String host, String name, List<Integer> types, Map<Integer, List<byte[]>> addresses,
                       Map<Integer, List<String>> targets) throws UnknownHostException {
        Map<Integer, String> current = new LinkedHashMap<>();
        for (int type : types) {
            current.put(type, name);
        }
        Map<Integer, Outcome> outcomes = new HashMap<>();
        Map<Integer, String> details = new HashMap<>();
        int hops = 0;
        while (!current.isEmpty()) {
            List<Question> questions = new ArrayList<>();
            current.forEach((type, owner) -> questions.add(new Question(owner, type)));
            Exchange exchange = exchange(host, questions);
            Map<Integer, String> next = new LinkedHashMap<>();
            for (Question q : questions) {
                Exchanged exchanged = exchange.responses().get(q);
                if (exchanged == null) {
                    outcomes.put(q.type(), Outcome.TIMEOUT);
                    details.put(q.type(), exchange.silence());
                    continue;
                }
                DnsMessage.Response r = exchanged.response();
                String from = exchanged.server();
                if (r.rcode() != DnsMessage.RCODE_NOERROR && r.rcode() != DnsMessage.RCODE_NXDOMAIN) {
                    outcomes.put(q.type(), Outcome.FAILED);
                    details.put(q.type(), "DNS server " + from + " answered " + DnsMessage.rcodeName(r.rcode()));
                    continue;
                }
                String owner = followCnames(q.name(), r.answers());
                boolean any = false;
                for (DnsMessage.ResourceRecord record : r.answers()) {
                    if (record.type() == q.type() && DnsMessage.sameName(record.owner(), owner)) {
                        any = true;
                        if (record.address() != null && addresses != null) {
                            addresses.computeIfAbsent(q.type(), t -> new ArrayList<>()).add(record.address());
                        } else if (record.target() != null && targets != null) {
                            targets.computeIfAbsent(q.type(), t -> new ArrayList<>()).add(record.target());
                        }
                    }
                }
                if (any) {
                    outcomes.put(q.type(), Outcome.FOUND);
                } else if (r.rcode() == DnsMessage.RCODE_NXDOMAIN) {
                    outcomes.put(q.type(), Outcome.NXDOMAIN);
                    details.put(q.type(), "no such host (NXDOMAIN from " + from + ")");
                } else if (!DnsMessage.sameName(owner, q.name()) && ++hops < MAX_CNAME_HOPS) {
                    next.put(q.type(), owner); // the chain goes on at a name this answer has nothing for
                } else {
                    outcomes.put(q.type(), Outcome.NODATA);
                    details.put(q.type(), "no " + (q.type() == DnsMessage.TYPE_PTR ? "PTR" : "address") + " record ("
                            + from + " answered NOERROR without one"
                            + (hops >= MAX_CNAME_HOPS ? ", after " + MAX_CNAME_HOPS + " CNAME hops" : "") + ")");
                }
            }
            current = next;
        }
        // One family found is enough (a server that drops AAAA questions must not cost the A answer);
        // otherwise silence ends the lookup, and a definite answer counts before a failure.
        if (outcomes.containsValue(Outcome.FOUND)) {
            return new Answer(Outcome.FOUND, null);
        }
        for (int type : types) {
            if (outcomes.get(type) == Outcome.TIMEOUT) {
                throw unknownHost(host, details.get(type), new SocketTimeoutException("DNS timeout"));
            }
        }
        for (Outcome wanted : List.of(Outcome.NXDOMAIN, Outcome.NODATA, Outcome.FAILED)) {
            for (int type : types) {
                if (outcomes.get(type) == wanted) {
                    return new Answer(wanted, details.get(type));
                }
            }
        }
        throw new IllegalStateException("no outcome for " + name);
    }

    /** The end of the CNAME chain that starts at {@code name} in {@code answers}. */
    private static String followCnames(String name, List<DnsMessage.ResourceRecord> answers) {
        String owner = name;
        for (int hop = 0; hop < MAX_CNAME_HOPS; hop++) {
            String target = null;
            for (DnsMessage.ResourceRecord record : answers) {
                if (record.type() == DnsMessage.TYPE_CNAME && DnsMessage.sameName(record.owner(), owner)) {
                    target = record.target();
                    break;
                }
            }
            if (target == null) {
                return owner;
            }
            owner = target;
        }
        return owner;
    }

    private record Exchanged(DnsMessage.Response response, String server) { }

    /** The responses gathered for some questions; {@code silence} says why the others have none. */
    private record Exchange(Map<Question, Exchanged> responses, String silence) { }

    /**
     * Per question, a good response (NOERROR, NXDOMAIN) from the first server that gave one, else a
     * failure code from the last that gave one, else none after every round.
     */
    private Exchange exchange(String host, List<Question> questions) throws UnknownHostException {
        Map<Question, Exchanged> answered = new HashMap<>();
        Map<Question, Exchanged> failed = new HashMap<>();
        List<String> problems = new ArrayList<>();
        for (int round = 0; round < config.attempts(); round++) {
            for (InetSocketAddress server : config.servers()) {
                List<Question> open = new ArrayList<>();
                for (Question q : questions) {
                    if (!answered.containsKey(q) && !(round > 0 && failed.containsKey(q))) {
                        open.add(q);
                    }
                }
                if (open.isEmpty()) {
                    break;
                }
                askServer(host, server, open, answered, failed, problems);
            }
            boolean silent = false;
            for (Question q : questions) {
                silent |= !answered.containsKey(q) && !failed.containsKey(q);
            }
            if (!silent) {
                break;
            }
        }
        Map<Question, Exchanged> responses = new HashMap<>(failed);
        responses.putAll(answered);
        String silence = "DNS timeout: no answer from " + serverList() + " within " + config.timeout().toMillis()
                + " ms per try, " + config.attempts() + " attempt(s) (" + String.join("; ", problems) + ")";
        return new Exchange(responses, silence);
    }

    /** Sends {@code open} to {@code server} over UDP and waits up to the timeout for their answers. */
    private void askServer(String host, InetSocketAddress server, List<Question> open, Map<Question, Exchanged> answered,
                           Map<Question, Exchanged> failed, List<String> problems) throws UnknownHostException {
        String serverName = describe(server);
        Map<Integer, Question> waiting = new HashMap<>();
        try (DatagramSocket socket = new DatagramSocket()) {
            socket.connect(server);
            for (Question q : open) {
                int id;
                do {
                    id = IDS.nextInt(1 << 16);
                } while (waiting.containsKey(id));
                waiting.put(id, q);
                byte[] query = DnsMessage.query(id, q.name(), q.type());
                socket.send(new DatagramPacket(query, query.length));
            }
            long deadline = System.nanoTime() + config.timeout().toNanos();
            byte[] buffer = new byte[RECEIVE_BUFFER];
            DatagramPacket packet = new DatagramPacket(buffer, buffer.length);
            while (!waiting.isEmpty()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                socket.setSoTimeout((int) Math.max(1, TimeUnit.NANOSECONDS.toMillis(left + 999_999)));
                packet.setLength(buffer.length);
                try {
                    socket.receive(packet);
                } catch (SocketTimeoutException e) {
                    break;
                }
                int id = DnsMessage.id(buffer, packet.getLength());
                Question q = waiting.get(id);
                if (q == null) {
                    continue;
                }
                DnsMessage.Response r;
                try {
                    r = DnsMessage.parse(buffer, packet.getLength());
                } catch (ProtocolException e) {
                    problems.add(serverName + " sent a malformed answer (" + e.getMessage() + ")");
                    continue;
                }
                if (!r.answers(id, q.name(), q.type())) {
                    continue;
                }
                waiting.remove(id);
                if (r.truncated()) {
                    try {
                        r = askOverTcp(server, q);
                    } catch (IOException e) {
                        interrupted(host, e);
                        problems.add(serverName + " truncated its answer and TCP failed (" + e + ")");
                        continue;
                    }
                }
                Exchanged exchanged = new Exchanged(r, serverName);
                if (r.rcode() == DnsMessage.RCODE_NOERROR || r.rcode() == DnsMessage.RCODE_NXDOMAIN) {
                    answered.put(q, exchanged);
                    failed.remove(q);
                } else {
                    failed.put(q, exchanged);
                }
            }
            if (!waiting.isEmpty()) {
                problems.add(serverName + " did not answer " + waiting.size() + " question(s) in time");
            }
        } catch (PortUnreachableException e) {
            problems.add(serverName + " is unreachable (nothing listens on its port)");
        } catch (IOException e) {
            interrupted(host, e);
            problems.add(serverName + " failed: " + e);
        }
    }

    /** One question over TCP (RFC 1035 section 4.2.2: each message preceded by its 2-byte length). */
    private DnsMessage.Response askOverTcp(InetSocketAddress server, Question q) throws IOException {
        int timeoutMillis = (int) Math.max(1, config.timeout().toMillis());
        try (Socket socket = new Socket()) {
            socket.connect(server, timeoutMillis);
            socket.setSoTimeout(timeoutMillis);
            int id = IDS.nextInt(1 << 16);
            byte[] query = DnsMessage.query(id, q.name(), q.type());
            byte[] framed = new byte[query.length + 2];
            framed[0] = (byte) (query.length >>> 8);
            framed[1] = (byte) query.length;
            System.arraycopy(query, 0, framed, 2, query.length);
            OutputStream out = socket.getOutputStream();
            out.write(framed);
            out.flush();
            InputStream in = socket.getInputStream();
            DataInputStream data = new DataInputStream(in);
            int length = data.readUnsignedShort();
            byte[] response = new byte[length];
            data.readFully(response);
            DnsMessage.Response r = DnsMessage.parse(response, length);
            if (!r.answers(id, q.name(), q.type())) {
                throw new ProtocolException("the TCP answer is not for " + q.name() + " (id or question differ)");
            }
            return r;
        }
    }

    /** A lookup whose fiber was cancelled (or timed out) ends with the interrupt status still set. */
    private static void interrupted(String host, IOException e) throws UnknownHostException {
        if (Thread.currentThread().isInterrupted()) {
            throw unknownHost(host, "DNS lookup interrupted", e);
        }
    }

    private String serverList() {
        List<String> names = new ArrayList<>();
        for (InetSocketAddress server : config.servers()) {
            names.add(describe(server));
        }
        return String.join(", ", names);
    }

    private static SecureRandom drbg() {
        try {
            return SecureRandom.getInstance("DRBG");
        } catch (java.security.NoSuchAlgorithmException e) {
            return new SecureRandom();
        }
    }

    static String describe(InetSocketAddress server) {
        String address = server.getAddress().getHostAddress();
        return (server.getAddress() instanceof Inet4Address ? address : "[" + address + "]") + ":" + server.getPort();
    }

    /** {@code 4.3.2.1.in-addr.arpa} or the nibble form under {@code ip6.arpa}. */
    static String reverseName(byte[] address) {
        StringBuilder name = new StringBuilder();
        if (address.length == 4) {
            for (int i = 3; i >= 0; i--) {
                name.append(address[i] & 0xff).append('.');
            }
            return name.append("in-addr.arpa").toString();
        }
        for (int i = address.length - 1; i >= 0; i--) {
            name.append(Character.forDigit(address[i] & 0xf, 16)).append('.')
                    .append(Character.forDigit((address[i] >>> 4) & 0xf, 16)).append('.');
        }
        return name.append("ip6.arpa").toString();
    }

    private static String typeName(int type) {
        return switch (type) {
            case DnsMessage.TYPE_A -> "A";
            case DnsMessage.TYPE_AAAA -> "AAAA";
            case DnsMessage.TYPE_PTR -> "PTR";
            default -> "type " + type;
        };
    }

    static UnknownHostException unknownHost(String host, String why, Throwable cause) {
        UnknownHostException e = new UnknownHostException(host + ": " + why);
        if (cause != null) {
            e.initCause(cause);
        }
        return e;
    }
}
