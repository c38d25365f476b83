package io.fiber.agent;

import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The agent option {@code console=} in fresh JVMs: the console starts at start-up, says where on
 * standard error, answers while every carrier is held, never keeps the program alive; a bad value
 * stops the JVM as any bad option does, a port it cannot have does not; without the option none of
 * its classes is loaded.
 */
class ConsoleIT {
    private static final String TOKEN = "it-token-0123456789abcdef";

    private static ChildJvm.Run probe(List<String> jvmArgs, String... args) throws Exception {
        return ChildJvm.run(jvmArgs, ChildJvm.testClassPath(), ConsoleProbe.class, List.of(args), 120);
    }

    @Test
    void theConsoleStartsWithTheProgramAndAnswersWhileEveryCarrierIsHeld() throws Exception {
        ChildJvm.Run r = probe(List.of(ChildJvm.agent("console=0")));
        String out = r.completed(); // main returned with the console open: its threads are daemons
        assertTrue(r.err().matches("(?s)fiber-agent: console at http://127\\.0\\.0\\.1:\\d+/ \\(this machine only\\): .*"), r.err());
        String address = r.err().substring("fiber-agent: console at ".length(), r.err().indexOf(' ', "fiber-agent: console at ".length()));
        assertEquals("console: " + address, ChildJvm.line(out, "console"));
        String snapshot = ChildJvm.line(out, "snapshot");
        assertTrue(snapshot.startsWith("snapshot: 200 {"), snapshot);
        assertTrue(snapshot.contains("\"name\":\"probe-held\""), snapshot);
        assertTrue(snapshot.contains("\"detector\":{\"available\":true,\"mode\":\"REPORT\""), snapshot);
        String fibers = ChildJvm.line(out, "fibers");
        assertTrue(fibers.startsWith("fibers: 200 {\"id\":\"probe-held\""), fibers);
        assertTrue(fibers.matches(".*\"state\":\"RUNNABLE\",\"minAgeNanos\":-?\\d+,\"maxAgeNanos\":-?\\d+,\"waitsOn\":\"running on probe-held-carrier-.*"), fibers);
        assertTrue(ChildJvm.line(out, "no token").startsWith("no token: 200 "), out);
    }

    @Test
    void onEveryInterfaceWithATokenEveryRequestMustPresentIt() throws Exception {
        ChildJvm.Run r = probe(List.of(ChildJvm.agent("console=*:0,console.token=" + TOKEN)), TOKEN);
        String out = r.completed();
        assertTrue(r.err().contains("(needs its token: open it once with ?token=TOKEN, from console.token)"), r.err());
        assertFalse(r.err().contains(TOKEN), "the token is never printed: " + r.err());
        assertTrue(ChildJvm.line(out, "snapshot").startsWith("snapshot: 200 {"), out);
        assertTrue(ChildJvm.line(out, "no token").startsWith("no token: 401 this console needs its token"), out);
    }

    @Test
    void badValuesStopTheJvmAsEveryBadOptionDoes() throws Exception {
        ChildJvm.Run bad = probe(List.of(ChildJvm.agent("console=example.org:80")));
        assertEquals(1, bad.exit(), bad.out() + bad.err());
        assertTrue(bad.err().startsWith("fiber-agent: option console=example.org:80 is invalid: 'example.org' is not an IP address,"
                + " localhost or *; it must be a port from 0 (any free one) to 65535, or HOST:PORT"), bad.err());

        ChildJvm.Run open = probe(List.of(ChildJvm.agent("console=0.0.0.0:8700")));
        assertEquals(1, open.exit(), open.out() + open.err());
        assertTrue(open.err().startsWith("fiber-agent: option console=0.0.0.0:8700: the console on 0.0.0.0:8700 would be reachable"
                + " from other machines, so it needs a token: add console.token=SECRET"), open.err());

        ChildJvm.Run tokenAlone = probe(List.of(ChildJvm.agent("console.token=" + TOKEN)));
        assertEquals(1, tokenAlone.exit(), tokenAlone.out() + tokenAlone.err());
        assertTrue(tokenAlone.err().startsWith("fiber-agent: option console.token is the console's token, and no console= is given"),
                tokenAlone.err());
        assertFalse(tokenAlone.err().contains(TOKEN), tokenAlone.err());
    }

    @Test
    void aPortItCannotHaveIsOneLineAndTheProgramRuns() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            ChildJvm.Run r = probe(List.of(ChildJvm.agent("console=" + taken.getLocalPort())));
            assertEquals("console: none\ndone\n", r.completed());
            assertTrue(r.err().matches("fiber-agent: console: could not listen on 127\\.0\\.0\\.1:" + taken.getLocalPort()
                    + " \\(.*\\); the program runs on without the console \\(console=0 takes any free port\\)\n"), r.err());
        }
    }

    @Test
    void withoutTheOptionNoneOfItsClassesIsLoaded() throws Exception {
        Path log = Files.createTempFile("console-classes", ".log");
        try {
            ChildJvm.Run r = probe(List.of(ChildJvm.agent(""), "-Xlog:class+load=info:file=" + log), "plain");
            assertEquals("done\n", r.completed());
            List<String> loaded = Files.readAllLines(log).stream()
                    .filter(l -> l.contains("io.fiber.internal.console.") || l.contains("io.fiber.agent.AgentConsole")
                            || l.contains("sun.net.httpserver.") || l.contains("com.sun.net.httpserver."))
                    .toList();
            assertEquals(List.of(), loaded);
            assertEquals("", r.err());
        } finally {
            Files.deleteIfExists(log);
        }
    }
}
