package io.fiber.internal.dns;

import io.fiber.internal.carrier.Carriers;
import io.fiber.internal.carrier.CarrierThread;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.net.spi.InetAddressResolver;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.locks.ReentrantLock;
import java.util.stream.Stream;

/**
 * The system-wide resolver while this provider is installed: a lookup from a thread that does not
 * hold one of our carriers goes straight to the resolver underneath (the JDK's built-in one, or the
 * application's own provider), so code outside fibers sees no change. A lookup from a fiber (or a
 * virtual thread a fiber started) goes by the mode:
 * <ul>
 *   <li>{@code OFFLOAD}: the resolver underneath runs on the scheduler's offload pool
 *       ({@link Fibers#blocking}) while the fiber parks: the same answers, the carrier free;</li>
 *   <li>{@code NONBLOCKING}: {@link DnsClient} asks the DNS servers from the fiber itself. Its
 *       configuration (resolv.conf, the hosts file) is read once: at once if the JDK makes this
 *       resolver on a thread that holds no carrier (under the agent, at its start), else on the
 *       first such lookup, on the offload pool, since reading a file would hold the carrier. Made
 *       at once, it also spares the first fiber's lookup the loading of the client's classes.</li>
 * </ul>
 * ({@code OFF} never gets here: the provider then hands the JDK the resolver underneath itself.)
 */
final class FiberResolver implements InetAddressResolver {
    private final InetAddressResolver underneath;
    private final DnsSettings settings;
    private final Path resolvConf;
    private final Path hostsFile;
    private final ReentrantLock clientLock = new ReentrantLock();
    private volatile DnsClient client;

    FiberResolver(InetAddressResolver underneath, DnsSettings settings, Path resolvConf, Path hostsFile) {
        this.underneath = underneath;
        this.settings = settings;
        this.resolvConf = resolvConf;
        this.hostsFile = hostsFile;
        if (settings.mode() == DnsSettings.Mode.NONBLOCKING && !CarrierThread.callerOnCarrier()) {
            try {
                client = new DnsClient(DnsClient.Config.load(settings, resolvConf, hostsFile));
                client.warmUp();
            } catch (IOException e) {
                // read again on the first lookup, which reports the failure
            }
        }
    }

    DnsSettings.Mode mode() {
        return settings.mode();
    }

    @Override
    public Stream<InetAddress> lookupByName(String host, LookupPolicy lookupPolicy) throws UnknownHostException {
        if (!CarrierThread.callerOnCarrier()) {
            return underneath.lookupByName(host, lookupPolicy);
        }
        if (settings.mode() == DnsSettings.Mode.NONBLOCKING) {
            return client(host).lookupByName(host, lookupPolicy).stream();
        }
        List<InetAddress> found = offload(host, () -> underneath.lookupByName(host, lookupPolicy).toList());
        return found.stream();
    }

    @Override
    public String lookupByAddress(byte[] addr) throws UnknownHostException {
        if (!CarrierThread.callerOnCarrier()) {
            return underneath.lookupByAddress(addr);
        }
        if (settings.mode() == DnsSettings.Mode.NONBLOCKING) {
            return client(InetAddress.getByAddress(addr).getHostAddress()).lookupByAddress(addr);
        }
        return offload(InetAddress.getByAddress(addr).getHostAddress(), () -> underneath.lookupByAddress(addr));
    }

    /** The client, made on the first non-blocking lookup from the configuration files. */
    private DnsClient client(String host) throws UnknownHostException {
        DnsClient c = client;
        if (c == null) {
            clientLock.lock();
            try {
                c = client;
                if (c == null) {
                    c = new DnsClient(offload(host, () -> {
                        try {
                            return DnsClient.Config.load(settings, resolvConf, hostsFile);
                        } catch (IOException e) {
                            throw new UncheckedIOException(e);
                        }
                    }));
                    client = c;
                }
            } catch (UncheckedIOException e) {
                throw DnsClient.unknownHost(host, "cannot read the DNS configuration (" + resolvConf + ", " + hostsFile
                        + "): " + e.getCause(), e.getCause());
            } finally {
                clientLock.unlock();
            }
        }
        return c;
    }

    /** Runs {@code call} on the offload pool; what it throws comes back as is, a checked exception other than UnknownHostException wrapped in one. */
    private static <T> T offload(String host, Callable<T> call) throws UnknownHostException {
        try {
            Carriers carriers = Carriers.ofCaller();
            return carriers == null ? call.call() : carriers.offloadPool().call(call);
        } catch (UnknownHostException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw DnsClient.unknownHost(host, "lookup failed: " + e, e);
        }
    }
}
