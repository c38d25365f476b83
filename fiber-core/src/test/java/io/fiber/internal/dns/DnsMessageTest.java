package io.fiber.internal.dns;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.net.ProtocolException;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The wire format against messages written out byte by byte (RFC 1035 section 4). */
class DnsMessageTest {

    /** Builds a message from ints (each one byte) and strings (their ASCII bytes). */
    private static byte[] bytes(Object... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Object p : parts) {
            if (p instanceof Integer i) {
                out.write(i);
            } else {
                out.writeBytes(((String) p).getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            }
        }
        return out.toByteArray();
    }

    private static final Object[] HEADER_ONE_ANSWER = {0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0};
    private static final Object[] QUESTION_AB_C = {2, "ab", 1, "c", 0, 0, 1, 0, 1};

    private static byte[] response(Object[] header, Object[] question, Object... answers) {
        Object[] all = new Object[header.length + question.length + answers.length];
        System.arraycopy(header, 0, all, 0, header.length);
        System.arraycopy(question, 0, all, header.length, question.length);
        System.arraycopy(answers, 0, all, header.length + question.length, answers.length);
        return bytes(all);
    }

    @Test
    void aQueryIsAHeaderWithRecursionDesiredAndOneQuestion() {
        assertArrayEquals(bytes(0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 2, "ab", 1, "c", 0, 0, 28, 0, 1),
                DnsMessage.query(0x1234, "ab.c.", DnsMessage.TYPE_AAAA));
    }

    @Test
    void namesThatCannotBeAskedAreRefused() {
        assertEquals("ab.c", DnsMessage.checkName("ab.c."));
        assertThrows(IllegalArgumentException.class, () -> DnsMessage.checkName(""));
        assertThrows(IllegalArgumentException.class, () -> DnsMessage.checkName("."));
        assertThrows(IllegalArgumentException.class, () -> DnsMessage.checkName("a..c"));
        assertThrows(IllegalArgumentException.class, () -> DnsMessage.checkName("x".repeat(64)));
        assertThrows(IllegalArgumentException.class, () -> DnsMessage.checkName("a b"));
        String longest = ("x".repeat(63) + ".").repeat(3) + "x".repeat(61); // 253 characters, 255 bytes on the wire
        assertEquals(longest, DnsMessage.checkName(longest));
        assertThrows(IllegalArgumentException.class, () -> DnsMessage.checkName(longest + "x"));
    }

    /** A CNAME whose target is compressed into the question, and an A record owned through a pointer into the CNAME's data. */
    @Test
    void compressedNamesAreFollowed() throws Exception {
        byte[] m = bytes(0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0,
                2, "ab", 1, "c", 0, 0, 1, 0, 1,                        // question at 12: ab.c A IN ("c" label at 15)
                0xC0, 12, 0, 5, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 1, "x", 0xC0, 15, // at 22: ab.c CNAME x.c, TTL 3600; its data at 34
                0xC0, 34, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1);           // x.c A 192.0.2.1
        DnsMessage.Response r = DnsMessage.parse(m, m.length);
        assertEquals(0x1234, r.id());
        assertEquals(DnsMessage.RCODE_NOERROR, r.rcode());
        assertFalse(r.truncated());
        assertTrue(r.answers(0x1234, "AB.C.", DnsMessage.TYPE_A));
        assertFalse(r.answers(0x1235, "ab.c", DnsMessage.TYPE_A));
        assertFalse(r.answers(0x1234, "ab.c", DnsMessage.TYPE_AAAA));
        assertEquals(2, r.answers().size());
        DnsMessage.ResourceRecord cname = r.answers().get(0);
        assertEquals("ab.c", cname.owner());
        assertEquals(DnsMessage.TYPE_CNAME, cname.type());
        assertEquals(3600, cname.ttl());
        assertEquals("x.c", cname.target());
        DnsMessage.ResourceRecord a = r.answers().get(1);
        assertEquals("x.c", a.owner());
        assertArrayEquals(new byte[] {(byte) 192, 0, 2, 1}, a.address());
        assertNull(a.target());
    }

    @Test
    void rcodeAndTruncationAreRead() throws Exception {
        byte[] nx = response(new Object[] {0, 7, 0x81, 0x83, 0, 1, 0, 0, 0, 0, 0, 0}, QUESTION_AB_C);
        assertEquals(DnsMessage.RCODE_NXDOMAIN, DnsMessage.parse(nx, nx.length).rcode());
        // TC set, one answer announced, none present: a truncated message may end early
        byte[] tc = response(new Object[] {0, 7, 0x83, 0x80, 0, 1, 0, 1, 0, 0, 0, 0}, QUESTION_AB_C);
        DnsMessage.Response r = DnsMessage.parse(tc, tc.length);
        assertTrue(r.truncated());
        assertEquals(List.of(), r.answers());
        assertEquals(7, DnsMessage.id(tc, tc.length));
        assertEquals(-1, DnsMessage.id(tc, 11));
    }

    @Test
    void recordsOfOtherTypesAndClassesAreSkipped() throws Exception {
        byte[] m = bytes(0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0, 2, "ab", 1, "c", 0, 0, 1, 0, 1,
                0xC0, 12, 0, 16, 0, 1, 0, 0, 0, 60, 0, 3, 2, "hi",        // TXT: kept as type and owner only
                0xC0, 12, 0, 1, 0, 3, 0, 0, 0, 60, 0, 4, 1, 2, 3, 4);     // class CHAOS: dropped
        List<DnsMessage.ResourceRecord> answers = DnsMessage.parse(m, m.length).answers();
        assertEquals(1, answers.size());
        assertEquals(16, answers.get(0).type());
        assertNull(answers.get(0).address());
    }

    @Test
    void labelBytesThatCouldMisleadAreEscaped() throws Exception {
        byte[] m = bytes(0x12, 0x34, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 3, "a.b", 2, 0, "\\", 0, 0, 1, 0, 1);
        assertEquals("a\\046b.\\000\\092", DnsMessage.parse(m, m.length).questionName());
    }

    private static void assertMalformed(String expectedMessagePart, byte[] m) {
        ProtocolException e = assertThrows(ProtocolException.class, () -> DnsMessage.parse(m, m.length));
        assertTrue(e.getMessage().contains(expectedMessagePart), e.getMessage());
    }

    @Test
    void malformedMessagesAreRefused() {
        assertMalformed("ends inside", bytes(0x12, 0x34, 0x81));
        assertMalformed("a query, not a response", response(new Object[] {0, 7, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0}, QUESTION_AB_C));
        assertMalformed("2 questions", response(new Object[] {0, 7, 0x81, 0x80, 0, 2, 0, 0, 0, 0, 0, 0}, QUESTION_AB_C));
        assertMalformed("ends inside a label", bytes(0, 7, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 5, "ab"));
        assertMalformed("points forward", bytes(0, 7, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 14, 0, 0, 1, 0, 1));
        assertMalformed("points forward or at itself", bytes(0, 7, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1));
        assertMalformed("unknown label type 0x40", bytes(0, 7, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0x41, "a", 0, 0, 1, 0, 1));
        // a label followed by a pointer back to that label: each pass is legal, the name never ends
        assertMalformed("longer than 255", response(HEADER_ONE_ANSWER, QUESTION_AB_C,
                1, "z", 0xC0, 22, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 1, 2, 3, 4));
        assertMalformed("A record of 5 bytes", response(HEADER_ONE_ANSWER, QUESTION_AB_C,
                0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 5, 1, 2, 3, 4, 5));
        assertMalformed("ends inside record data", response(HEADER_ONE_ANSWER, QUESTION_AB_C,
                0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 1, 2));
        assertMalformed("does not fill its data", response(HEADER_ONE_ANSWER, QUESTION_AB_C,
                0xC0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 5, 1, "x", 0, 9, 9));
        assertMalformed("ends inside a 16-bit field", response(new Object[] {0, 7, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0}, QUESTION_AB_C, 0xC0, 12, 0));
    }
}
