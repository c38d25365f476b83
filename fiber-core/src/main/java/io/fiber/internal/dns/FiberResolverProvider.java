package io.fiber.internal.dns;

import io.fiber.internal.RuntimeLog;
import io.fiber.internal.Settings;

import java.net.spi.InetAddressResolver;
import java.net.spi.InetAddressResolverProvider;
import java.util.Iterator;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;

/**
 * Keeps name lookups made in fibers from holding their carrier: the JDK's resolver SPI, registered
 * in {@code META-INF/services/java.net.spi.InetAddressResolverProvider} of fiber-core.
 *
 * <p>How the JDK finds it (JDK 25, {@code InetAddress.resolver()}): on the first name lookup after
 * the VM has booted, under a lock, {@code ServiceLoader.load(InetAddressResolverProvider.class)}
 * with the looking-up thread's context class loader (the system class loader, for most programs;
 * the JDK's javadoc says "system class loader"), and the first provider found wins for the life of
 * the JVM. fiber-core is on the class path of every program that uses fibers, and inside the agent
 * jar, which {@code -javaagent} appends to the system class path (the agent's own self-test makes
 * the first lookup at start-up). With {@code -Djdk.net.hosts.file} the JDK loads no provider at all
 * and resolves from that file on the calling thread.
 *
 * <p>What it returns ({@link #get}), from the system properties ({@link DnsSettings}, read once here):
 * <ul>
 *   <li>the resolver underneath is the JDK's built-in one, unless the application ships a provider
 *       of its own: the JDK may have found this one first only by class path order, so that
 *       provider is looked up here and used underneath instead (a provider that finds this one in
 *       turn while it is being made gets the built-in resolver, so two such providers cannot loop);</li>
 *   <li>{@code fiber.dns=off}: that resolver itself, exactly as without this provider;</li>
 *   <li>otherwise a {@link FiberResolver}: threads not on our carriers go straight to that resolver,
 *       fibers' lookups are offloaded or resolved without blocking. {@code nonblocking} with an
 *       application provider underneath is offloaded instead, since asking DNS directly would bypass
 *       that provider; a warning says so.</li>
 * </ul>
 * A bad property value is thrown from here, so the first lookup fails with it (the JDK passes it
 * on), and the agent checks the properties at start-up with {@link #checkSystemProperties()}.
 */
public final class FiberResolverProvider extends InetAddressResolverProvider {
    private static final ThreadLocal<Boolean> MAKING = new ThreadLocal<>();

    /** Called by the JDK's {@link ServiceLoader}. */
    public FiberResolverProvider() { }

    /**
     * Checks the {@code fiber.dns*} system properties.
     *
     * @throws IllegalArgumentException naming the property, its value and the valid ones
     */
    public static void checkSystemProperties() {
        DnsSettings.fromSystemProperties();
    }

    @Override
    public InetAddressResolver get(Configuration configuration) {
        if (MAKING.get() != null) {
            return configuration.builtinResolver();
        }
        MAKING.set(Boolean.TRUE);
        try {
            DnsSettings settings = DnsSettings.fromSystemProperties();
            InetAddressResolverProvider application = applicationProvider();
            InetAddressResolver underneath = application == null ? configuration.builtinResolver() : application.get(configuration);
            if (settings.mode() == DnsSettings.Mode.OFF) {
                return underneath;
            }
            if (application != null && settings.mode() == DnsSettings.Mode.NONBLOCKING) {
                RuntimeLog.of(FiberResolverProvider.class).warn(
                        "{}=nonblocking is not used: the application's resolver provider {} ({}) resolves names, so fibers' lookups"
                                + " through it are offloaded instead", Settings.DNS.property(), application.name(), application.getClass().getName());
                settings = new DnsSettings(DnsSettings.Mode.OFFLOAD, settings.servers(), settings.timeout(), settings.attempts());
            }
            return new FiberResolver(underneath, settings, ResolvConf.SYSTEM, HostsFile.SYSTEM);
        } finally {
            MAKING.remove();
        }
    }

    @Override
    public String name() {
        return "fiber";
    }

    /** The first resolver provider on the class path that is not this one, or null; broken entries are skipped, as the JDK never saw them. */
    private static InetAddressResolverProvider applicationProvider() {
        Iterator<InetAddressResolverProvider> providers = ServiceLoader.load(InetAddressResolverProvider.class).iterator();
        while (true) {
            try {
                if (!providers.hasNext()) {
                    return null;
                }
                InetAddressResolverProvider p = providers.next();
                if (!p.getClass().getName().equals(FiberResolverProvider.class.getName())) {
                    return p;
                }
            } catch (ServiceConfigurationError e) {
                RuntimeLog.of(FiberResolverProvider.class).warn("skipped a resolver provider that cannot be loaded: {}", e.toString());
            }
        }
    }
}
