package io.fiber.internal.dns;

import io.fiber.FiberScheduler;
import io.fiber.TestFibers;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The provider as the JDK installs it from fiber-core's {@code META-INF/services} on this test class
 * path, in its default mode (offload). Reverse lookups are used because the JDK does not cache them:
 * each one reaches the system-wide resolver. 127.0.0.1 is in /etc/hosts, so no DNS server is asked.
 * That lookups outside fibers stay on their own thread, and that offloaded ones are not flagged by
 * the detector, is checked under the agent (fiber-agent's DnsIT).
 */
class FiberResolverTest {
    private static final byte[] LOOPBACK = {127, 0, 0, 1};

    @Test
    void aFibersLookupRunsOnTheOffloadPoolWithTheJdksAnswer() throws Exception {
        String onPlatformThread = InetAddress.getByAddress(LOOPBACK).getCanonicalHostName();
        try (FiberScheduler s = TestFibers.scheduler("dns-offload", 1)) {
            String inFiber = TestFibers.result(s.spawn(() -> InetAddress.getByAddress(LOOPBACK).getCanonicalHostName()));
            assertEquals(onPlatformThread, inFiber, "the same answer as the JDK's resolver gives a platform thread");
            assertEquals(1, s.stats().blockingCalls(), "the fiber's reverse lookup went to the offload pool");
        }
    }
}
