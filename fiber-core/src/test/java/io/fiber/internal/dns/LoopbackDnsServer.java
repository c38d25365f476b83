package io.fiber.internal.dns;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A DNS server for tests, on 127.0.0.1 over UDP and TCP on the same ephemeral port, written apart
 * from the client's codec so the two cannot share a mistake.
 *
 * <p>It answers A, AAAA and PTR questions from its records, CNAMEs included (a chain is answered
 * whole, unless {@link #cnameOnly} says to give the first link only), NOERROR with no answer for a
 * name it knows without that type, and NXDOMAIN for a name it does not know. Answers are delayed by
 * {@link #delay} (per name, or for all), on a scheduler, so slow answers do not hold up others.
 * Names can be made to fail: {@link #truncate} (TC over UDP, the full answer over TCP),
 * {@link #servfail}, {@link #silence} (no answer at all), and {@link #noiseFirst} (a garbage packet
 * and an answer with the wrong id go out before the real one). Answers name their owner with a
 * compression pointer to the question, and a CNAME's target by a pointer into the record before,
 * as real servers do. Every question it receives is recorded.
 */
public final class LoopbackDnsServer implements AutoCloseable {
    /** A question as received. */
    public record Query(String name, int type, boolean tcp) { }

    private final DatagramSocket udp;
    private final ServerSocket tcp;
    private final ScheduledExecutorService replies = Executors.newScheduledThreadPool(2, r -> {
        Thread t = new Thread(r, "loopback-dns-reply");
        t.setDaemon(true);
        return t;
    });
    private final Map<String, List<byte[]>> a = new ConcurrentHashMap<>();
    private final Map<String, List<byte[]>> aaaa = new ConcurrentHashMap<>();
    private final Map<String, String> cnames = new ConcurrentHashMap<>();
    private final Map<String, String> ptrs = new ConcurrentHashMap<>();
    private final Map<String, List<byte[]>> aBySuffix = new ConcurrentHashMap<>();
    private final Map<String, Duration> delays = new ConcurrentHashMap<>();
    private final Set<String> truncated = ConcurrentHashMap.newKeySet();
    private final Set<String> servfail = ConcurrentHashMap.newKeySet();
    private final Set<String> silent = ConcurrentHashMap.newKeySet();
    private final Set<String> noisy = ConcurrentHashMap.newKeySet();
    private final Set<String> cnameOnly = ConcurrentHashMap.newKeySet();
    private final List<Query> queries = new CopyOnWriteArrayList<>();
    private volatile Duration delay = Duration.ZERO;
    private volatile boolean silenceAll;
    private final Thread udpLoop;
    private final Thread tcpLoop;

    /** On 127.0.0.1, a free port. */
    public LoopbackDnsServer() throws IOException {
        this(new InetSocketAddress(InetAddress.getByAddress("localhost", new byte[] {127, 0, 0, 1}), 0));
    }

    /** On {@code address}, which must be a loopback address; port 0 takes a free one. */
    public LoopbackDnsServer(InetSocketAddress address) throws IOException {
        if (!address.getAddress().isLoopbackAddress()) {
            throw new IllegalArgumentException("a test DNS server listens on loopback only, not " + address);
        }
        InetAddress loopback = address.getAddress();
        DatagramSocket u = null;
        ServerSocket t = null;
        for (int tries = 0; t == null; tries++) {
            u = new DatagramSocket(new InetSocketAddress(loopback, address.getPort()));
            try {
                t = new ServerSocket(u.getLocalPort(), 50, loopback);
            } catch (IOException e) {
                u.close();
                if (tries > 20) {
                    throw e;
                }
            }
        }
        u.setReceiveBufferSize(4 << 20); // bursts of thousands of questions (the DNS benchmark) must not overflow it
        udp = u;
        tcp = t;
        udpLoop = Thread.ofPlatform().daemon().name("loopback-dns-udp").start(this::serveUdp);
        tcpLoop = Thread.ofPlatform().daemon().name("loopback-dns-tcp").start(this::serveTcp);
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) udp.getLocalSocketAddress();
    }

    /** {@code ADDRESS:PORT}, as the {@code fiber.dns.servers} property takes it. */
    public String serverProperty() {
        return address().getAddress().getHostAddress() + ":" + udp.getLocalPort();
    }

    public LoopbackDnsServer a(String name, String... addresses) {
        a.put(key(name), literals(addresses));
        return this;
    }

    public LoopbackDnsServer aaaa(String name, String... addresses) {
        aaaa.put(key(name), literals(addresses));
        return this;
    }

    /** Every name ending in {@code suffix} has these A records (and no AAAA). */
    public LoopbackDnsServer aForSuffix(String suffix, String... addresses) {
        aBySuffix.put(key(suffix), literals(addresses));
        return this;
    }

    public LoopbackDnsServer cname(String name, String target) {
        cnames.put(key(name), target);
        return this;
    }

    public LoopbackDnsServer ptr(String reverseName, String target) {
        ptrs.put(key(reverseName), target);
        return this;
    }

    /** Every answer waits this long. */
    public LoopbackDnsServer delay(Duration d) {
        delay = d;
        return this;
    }

    /** Answers for {@code name} wait this long. */
    public LoopbackDnsServer delay(String name, Duration d) {
        delays.put(key(name), d);
        return this;
    }

    public LoopbackDnsServer truncate(String name) {
        truncated.add(key(name));
        return this;
    }

    public LoopbackDnsServer servfail(String name) {
        servfail.add(key(name));
        return this;
    }

    public LoopbackDnsServer silence(String name) {
        silent.add(key(name));
        return this;
    }

    /** No answers at all, to anything. */
    public LoopbackDnsServer silenceAll() {
        silenceAll = true;
        return this;
    }

    public LoopbackDnsServer noiseFirst(String name) {
        noisy.add(key(name));
        return this;
    }

    /** Questions for {@code name} are answered with its CNAME record only, not the chain behind it. */
    public LoopbackDnsServer cnameOnly(String name) {
        cnameOnly.add(key(name));
        return this;
    }

    public List<Query> queries() {
        return List.copyOf(queries);
    }

    public List<String> queriedNames() {
        List<String> names = new ArrayList<>();
        for (Query q : queries) {
            names.add(q.name() + "/" + typeName(q.type()));
        }
        return names;
    }

    @Override
    public void close() {
        udp.close();
        try {
            tcp.close();
        } catch (IOException ignored) {
            // closing
        }
        replies.shutdownNow();
        udpLoop.interrupt();
        tcpLoop.interrupt();
    }

    private void serveUdp() {
        byte[] buffer = new byte[2048];
        while (!udp.isClosed()) {
            DatagramPacket packet = new DatagramPacket(buffer, buffer.length);
            try {
                udp.receive(packet);
            } catch (IOException e) {
                return;
            }
            byte[] query = java.util.Arrays.copyOf(packet.getData(), packet.getLength());
            InetSocketAddress client = (InetSocketAddress) packet.getSocketAddress();
            Parsed q = parse(query);
            if (q == null) {
                continue;
            }
            queries.add(new Query(q.name, q.type, false));
            if (silenceAll || silent.contains(key(q.name))) {
                continue;
            }
            Duration wait = delays.getOrDefault(key(q.name), delay);
            replies.schedule(() -> {
                try {
                    if (noisy.contains(key(q.name))) {
                        send(client, new byte[] {1, 2, 3});
                        byte[] wrongId = answer(q, true);
                        wrongId[0] ^= 0x55;
                        send(client, wrongId);
                    }
                    send(client, answer(q, truncated.contains(key(q.name))));
                } catch (IOException ignored) {
                    // the server is closing
                }
            }, wait.toNanos(), TimeUnit.NANOSECONDS);
        }
    }

    private void send(InetSocketAddress client, byte[] message) throws IOException {
        udp.send(new DatagramPacket(message, message.length, client));
    }

    private void serveTcp() {
        while (!tcp.isClosed()) {
            Socket s;
            try {
                s = tcp.accept();
            } catch (IOException e) {
                return;
            }
            Thread.ofPlatform().daemon().start(() -> {
                try (Socket socket = s) {
                    DataInputStream in = new DataInputStream(socket.getInputStream());
                    byte[] query = new byte[in.readUnsignedShort()];
                    in.readFully(query);
                    Parsed q = parse(query);
                    if (q == null) {
                        return;
                    }
                    queries.add(new Query(q.name, q.type, true));
                    byte[] answer = answer(q, false);
                    OutputStream out = socket.getOutputStream();
                    out.write(new byte[] {(byte) (answer.length >>> 8), (byte) answer.length});
                    out.write(answer);
                    out.flush();
                } catch (IOException ignored) {
                    // the client went away
                }
            });
        }
    }

    private record Parsed(int id, int flags, String name, int type, byte[] question) { }

    /** A query: header, one question with an uncompressed name; null when it is not one. */
    private static Parsed parse(byte[] m) {
        if (m.length < 17) {
            return null;
        }
        int id = ((m[0] & 0xff) << 8) | (m[1] & 0xff);
        int flags = ((m[2] & 0xff) << 8) | (m[3] & 0xff);
        StringBuilder name = new StringBuilder();
        int at = 12;
        while (at < m.length && m[at] != 0) {
            int len = m[at] & 0xff;
            if (len > 63 || at + 1 + len >= m.length) {
                return null;
            }
            if (!name.isEmpty()) {
                name.append('.');
            }
            name.append(new String(m, at + 1, len, StandardCharsets.US_ASCII));
            at += 1 + len;
        }
        if (at + 5 > m.length) {
            return null;
        }
        int type = ((m[at + 1] & 0xff) << 8) | (m[at + 2] & 0xff);
        byte[] question = java.util.Arrays.copyOfRange(m, 12, at + 5);
        return new Parsed(id, flags, name.toString(), type, question);
    }

    /** The response to {@code q}; with {@code truncate}, flagged TC and without answers. */
    private byte[] answer(Parsed q, boolean truncate) {
        String name = key(q.name);
        List<byte[]> records = new ArrayList<>();
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.writeBytes(q.question);
        int rcode;
        if (servfail.contains(name)) {
            rcode = 2;
        } else if (!knows(name)) {
            rcode = 3;
        } else {
            rcode = 0;
            if (!truncate) {
                int ownerPointer = 12; // the question's name
                String owner = name;
                int offset = 12 + q.question.length;
                for (int hop = 0; hop < 20 && cnames.containsKey(owner); hop++) {
                    String target = cnames.get(owner);
                    byte[] rdata = encodeName(target);
                    byte[] record = record(ownerPointer, 5, rdata);
                    records.add(record);
                    ownerPointer = offset + 12; // the target's name, inside this record's data
                    offset += record.length;
                    owner = key(target);
                    if (cnameOnly.contains(name)) {
                        break;
                    }
                }
                if (!cnameOnly.contains(name) || !cnames.containsKey(name)) {
                    Map<String, List<byte[]>> table = q.type == 1 ? a : q.type == 28 ? aaaa : null;
                    if (table != null) {
                        for (byte[] address : table.getOrDefault(owner, q.type == 1 ? bySuffix(owner) : List.of())) {
                            records.add(record(ownerPointer, q.type, address));
                        }
                    } else if (q.type == 12 && ptrs.containsKey(owner)) {
                        records.add(record(ownerPointer, 12, encodeName(ptrs.get(owner))));
                    }
                }
            }
        }
        for (byte[] record : records) {
            body.writeBytes(record);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(q.id >>> 8);
        out.write(q.id);
        int flags = 0x8000 | (q.flags & 0x0100) | 0x0080 | rcode | (truncate ? 0x0200 : 0);
        out.write(flags >>> 8);
        out.write(flags);
        out.writeBytes(new byte[] {0, 1, 0, (byte) records.size(), 0, 0, 0, 0});
        out.writeBytes(body.toByteArray());
        return out.toByteArray();
    }

    private boolean knows(String name) {
        return a.containsKey(name) || aaaa.containsKey(name) || cnames.containsKey(name) || ptrs.containsKey(name)
                || !bySuffix(name).isEmpty();
    }

    private List<byte[]> bySuffix(String name) {
        for (Map.Entry<String, List<byte[]>> e : aBySuffix.entrySet()) {
            if (name.endsWith(e.getKey())) {
                return e.getValue();
            }
        }
        return List.of();
    }

    /** owner (a pointer), type, class IN, TTL 60, data. */
    private static byte[] record(int ownerPointer, int type, byte[] rdata) {
        ByteArrayOutputStream r = new ByteArrayOutputStream();
        r.write(0xC0 | (ownerPointer >>> 8));
        r.write(ownerPointer);
        r.writeBytes(new byte[] {0, (byte) type, 0, 1, 0, 0, 0, 60, (byte) (rdata.length >>> 8), (byte) rdata.length});
        r.writeBytes(rdata);
        return r.toByteArray();
    }

    private static byte[] encodeName(String name) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (String label : name.split("\\.")) {
            out.write(label.length());
            out.writeBytes(label.getBytes(StandardCharsets.US_ASCII));
        }
        out.write(0);
        return out.toByteArray();
    }

    private static List<byte[]> literals(String... addresses) {
        List<byte[]> list = new ArrayList<>();
        for (String s : addresses) {
            list.add(InetAddress.ofLiteral(s).getAddress());
        }
        return List.copyOf(list);
    }

    private static String key(String name) {
        return name.toLowerCase(Locale.ROOT);
    }

    private static String typeName(int type) {
        return switch (type) {
            case 1 -> "A";
            case 28 -> "AAAA";
            case 12 -> "PTR";
            default -> Integer.toString(type);
        };
    }
}
