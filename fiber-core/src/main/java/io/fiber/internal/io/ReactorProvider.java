package io.fiber.internal.io;

/**
 * Opens one {@link CarrierReactor} per carrier loop. Found with {@link java.util.ServiceLoader}
 * (fiber-io provides the epoll one) when the agent has patched the JDK. Not an application API.
 */
public interface ReactorProvider {
    /**
     * A new reactor for the carrier named {@code carrierName}, or an exception saying why this
     * platform cannot have one (the runtime then keeps the JDK's pollers and logs the reason once).
     */
    CarrierReactor open(String carrierName) throws Exception;
}
