package io.fiber.internal.dns;

import java.io.ByteArrayOutputStream;
import java.net.ProtocolException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The DNS wire format (RFC 1035 section 4), as much of it as a stub resolver asking for A, AAAA and
 * PTR records needs: one query out, one response in.
 *
 * <p>A query is a 12-byte header (an id, the RD flag, one question) and the question: the name as
 * length-prefixed labels ending in a zero byte, the type, class IN. No EDNS, like glibc's default:
 * a response that does not fit in 512 bytes comes back with the TC flag, and {@link DnsClient}
 * asks again over TCP.
 *
 * <p>A response is parsed in full, bounds-checked at every read, since it comes off the network:
 * the header, the question it echoes, and the answer section's records, of which A, AAAA, CNAME and
 * PTR are decoded and others kept as type and owner only. Names may be compressed (a two-byte
 * pointer to an earlier name in the message); a pointer must point strictly before itself and a
 * name may not exceed 255 bytes, so reading a name always ends, even in a message built to loop.
 * Anything malformed
 * is a {@link ProtocolException} naming what was wrong; the authority and additional sections are
 * not read.
 *
 * <p>Names are kept as dotted strings without the trailing dot, in the case they arrived in, and
 * compared with {@link #sameName}, which ignores ASCII case as DNS does. A label byte that is not
 * a printable character other than '.' and '\' is written {@code \DDD} (as dig does), so no label
 * read from the network can pass for two labels or a different name.
 */
final class DnsMessage {
    static final int TYPE_A = 1;
    static final int TYPE_CNAME = 5;
    static final int TYPE_PTR = 12;
    static final int TYPE_AAAA = 28;
    static final int CLASS_IN = 1;

    static final int RCODE_NOERROR = 0;
    static final int RCODE_FORMERR = 1;
    static final int RCODE_SERVFAIL = 2;
    static final int RCODE_NXDOMAIN = 3;
    static final int RCODE_NOTIMP = 4;
    static final int RCODE_REFUSED = 5;

    static final int HEADER_LENGTH = 12;
    /** The largest UDP response a server sends without EDNS (RFC 1035 section 2.3.4). */
    static final int MAX_UDP_LENGTH = 512;
    static final int MAX_NAME_LENGTH = 255;
    static final int MAX_LABEL_LENGTH = 63;

    private static final int FLAG_QR = 0x8000;
    private static final int FLAG_TC = 0x0200;
    private static final int FLAG_RD = 0x0100;
    private static final int POINTER = 0xC0;

    private DnsMessage() { }

    /** One resource record of the answer section. {@code address} is set for A and AAAA, {@code target} for CNAME and PTR. */
    record ResourceRecord(String owner, int type, long ttl, byte[] address, String target) { }

    /** A parsed response: who it answers (id, question), how (rcode, truncation) and with what. */
    record Response(int id, int rcode, boolean truncated, String questionName, int questionType,
                    List<ResourceRecord> answers) {
        /** True when this is the answer to {@code name}/{@code type} asked under {@code id}. */
        boolean answers(int queryId, String name, int type) {
            return id == queryId && questionType == type && sameName(questionName, name);
        }
    }

    /**
     * A recursive query for {@code name} (dotted, with or without the trailing dot) and {@code type}.
     *
     * @throws IllegalArgumentException if {@code name} is not a valid DNS name (an empty label, a
     *         label over 63 bytes, over 255 bytes in all, or a character outside printable ASCII)
     */
    static byte[] query(int id, String name, int type) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(HEADER_LENGTH + name.length() + 6);
        writeShort(out, id);
        writeShort(out, FLAG_RD);
        writeShort(out, 1); // one question
        writeShort(out, 0);
        writeShort(out, 0);
        writeShort(out, 0);
        writeName(out, name);
        writeShort(out, type);
        writeShort(out, CLASS_IN);
        return out.toByteArray();
    }

    /** Checks that {@code name} can be asked for, as {@link #query} would; returns it without a trailing dot. */
    static String checkName(String name) {
        writeName(new ByteArrayOutputStream(), name);
        return name.endsWith(".") ? name.substring(0, name.length() - 1) : name;
    }

    private static void writeName(ByteArrayOutputStream out, String name) {
        String dotted = name.endsWith(".") ? name.substring(0, name.length() - 1) : name;
        if (dotted.isEmpty()) {
            throw new IllegalArgumentException("an empty name");
        }
        int total = 1;
        for (String label : dotted.split("\\.", -1)) {
            byte[] bytes = label.getBytes(StandardCharsets.US_ASCII);
            if (bytes.length == 0) {
                throw new IllegalArgumentException("an empty label in '" + name + "'");
            }
            if (bytes.length > MAX_LABEL_LENGTH) {
                throw new IllegalArgumentException("a label longer than " + MAX_LABEL_LENGTH + " bytes in '" + name + "'");
            }
            for (int i = 0; i < label.length(); i++) {
                char c = label.charAt(i);
                if (c <= ' ' || c >= 0x7f) {
                    throw new IllegalArgumentException("a character that is not printable ASCII in '" + name + "'");
                }
            }
            total += 1 + bytes.length;
            if (total > MAX_NAME_LENGTH) {
                throw new IllegalArgumentException("'" + name + "' is longer than " + MAX_NAME_LENGTH + " bytes");
            }
            out.write(bytes.length);
            out.writeBytes(bytes);
        }
        out.write(0);
    }

    private static void writeShort(ByteArrayOutputStream out, int value) {
        out.write((value >>> 8) & 0xff);
        out.write(value & 0xff);
    }

    /** The 16-bit id of a message, or -1 when it is shorter than a header. */
    static int id(byte[] message, int length) {
        return length < HEADER_LENGTH ? -1 : ((message[0] & 0xff) << 8) | (message[1] & 0xff);
    }

    /**
     * Parses a response of {@code length} bytes.
     *
     * @throws ProtocolException if it is not a well-formed response to a single question
     */
    static Response parse(byte[] message, int length) throws ProtocolException {
        Reader r = new Reader(message, length);
        int id = r.u16();
        int flags = r.u16();
        int questions = r.u16();
        int answers = r.u16();
        r.u16(); // authority records: not read
        r.u16(); // additional records: not read
        if ((flags & FLAG_QR) == 0) {
            throw new ProtocolException("a query, not a response");
        }
        if (questions != 1) {
            throw new ProtocolException(questions + " questions, expected 1");
        }
        String questionName = r.name();
        int questionType = r.u16();
        r.u16(); // class
        List<ResourceRecord> records = new ArrayList<>(answers);
        boolean truncated = (flags & FLAG_TC) != 0;
        for (int i = 0; i < answers; i++) {
            if (truncated && r.remaining() == 0) {
                break; // a truncated message may end before its stated count
            }
            String owner = r.name();
            int type = r.u16();
            int recordClass = r.u16();
            long ttl = r.u32();
            int rdLength = r.u16();
            int rdEnd = r.position + rdLength;
            r.require(rdLength, "record data");
            byte[] address = null;
            String target = null;
            if (recordClass == CLASS_IN && (type == TYPE_A || type == TYPE_AAAA)) {
                int expected = type == TYPE_A ? 4 : 16;
                if (rdLength != expected) {
                    throw new ProtocolException("an " + (type == TYPE_A ? "A" : "AAAA") + " record of " + rdLength
                            + " bytes, expected " + expected);
                }
                address = r.bytes(rdLength);
            } else if (recordClass == CLASS_IN && (type == TYPE_CNAME || type == TYPE_PTR)) {
                target = r.name();
                if (r.position != rdEnd) {
                    throw new ProtocolException("a " + (type == TYPE_CNAME ? "CNAME" : "PTR") + " record whose name does not fill its data");
                }
            }
            r.position = rdEnd;
            if (recordClass == CLASS_IN) {
                records.add(new ResourceRecord(owner, type, ttl, address, target));
            }
        }
        return new Response(id, flags & 0xf, truncated, questionName, questionType, List.copyOf(records));
    }

    /** DNS name equality: ASCII letters compare without case, a trailing dot does not count. */
    static boolean sameName(String a, String b) {
        int la = a.endsWith(".") ? a.length() - 1 : a.length();
        int lb = b.endsWith(".") ? b.length() - 1 : b.length();
        return la == lb && a.regionMatches(true, 0, b, 0, la);
    }

    /** The name of a response code, for messages. */
    static String rcodeName(int rcode) {
        return switch (rcode) {
            case RCODE_NOERROR -> "NOERROR";
            case RCODE_FORMERR -> "FORMERR";
            case RCODE_SERVFAIL -> "SERVFAIL";
            case RCODE_NXDOMAIN -> "NXDOMAIN";
            case RCODE_NOTIMP -> "NOTIMP";
            case RCODE_REFUSED -> "REFUSED";
            default -> "RCODE " + rcode;
        };
    }

    /** Bounds-checked reads over the first {@code length} bytes of a message. */
    private static final class Reader {
        private final byte[] data;
        private final int length;
        int position;

        Reader(byte[] data, int length) {
            this.data = data;
            this.length = Math.min(length, data.length);
        }

        int remaining() {
            return length - position;
        }

        void require(int n, String what) throws ProtocolException {
            if (n > length - position) {
                throw new ProtocolException("the message ends inside " + what + " (at byte " + position + " of " + length + ")");
            }
        }

        int u16() throws ProtocolException {
            require(2, "a 16-bit field");
            int v = ((data[position] & 0xff) << 8) | (data[position + 1] & 0xff);
            position += 2;
            return v;
        }

        long u32() throws ProtocolException {
            require(4, "a 32-bit field");
            long v = ((long) (data[position] & 0xff) << 24) | ((data[position + 1] & 0xff) << 16)
                    | ((data[position + 2] & 0xff) << 8) | (data[position + 3] & 0xff);
            position += 4;
            return v;
        }

        byte[] bytes(int n) throws ProtocolException {
            require(n, "record data");
            byte[] b = java.util.Arrays.copyOfRange(data, position, position + n);
            position += n;
            return b;
        }

        /**
         * A name at the current position, following compression pointers; the position moves past
         * the name as it is stored here (up to and including the first pointer).
         */
        String name() throws ProtocolException {
            StringBuilder name = new StringBuilder();
            int at = position;
            int resumeAt = -1;
            int wireLength = 1;
            while (true) {
                if (at >= length) {
                    throw new ProtocolException("the message ends inside a name (at byte " + at + " of " + length + ")");
                }
                int len = data[at] & 0xff;
                if (len == 0) {
                    at++;
                    break;
                }
                if ((len & POINTER) == POINTER) {
                    if (at + 1 >= length) {
                        throw new ProtocolException("the message ends inside a name pointer (at byte " + at + ")");
                    }
                    int target = ((len & 0x3f) << 8) | (data[at + 1] & 0xff);
                    if (target >= at) {
                        throw new ProtocolException("a name pointer at byte " + at + " points forward or at itself (to " + target + ")");
                    }
                    if (resumeAt < 0) {
                        resumeAt = at + 2;
                    }
                    at = target;
                    continue;
                }
                if ((len & POINTER) != 0) {
                    throw new ProtocolException("an unknown label type 0x" + Integer.toHexString(len & POINTER) + " at byte " + at);
                }
                if (at + 1 + len > length) {
                    throw new ProtocolException("the message ends inside a label (at byte " + at + ")");
                }
                wireLength += 1 + len;
                if (wireLength > MAX_NAME_LENGTH) {
                    throw new ProtocolException("a name longer than " + MAX_NAME_LENGTH + " bytes");
                }
                if (!name.isEmpty()) {
                    name.append('.');
                }
                for (int i = at + 1; i <= at + len; i++) {
                    int c = data[i] & 0xff;
                    if (c > ' ' && c < 0x7f && c != '.' && c != '\\') {
                        name.append((char) c);
                    } else {
                        name.append('\\').append(String.format("%03d", c));
                    }
                }
                at += 1 + len;
            }
            position = resumeAt >= 0 ? resumeAt : at;
            return name.isEmpty() ? "." : name.toString();
        }
    }
}
