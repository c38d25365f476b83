/**
 * Carrier-local reactors: each carrier loop's own epoll instance (through
 * netty-transport-native-epoll), to which the agent reroutes fibers' socket waits. The runtime
 * finds {@link io.fiber.io.EpollReactorProvider} with {@link java.util.ServiceLoader}; nothing here
 * is called by applications.
 */
package io.fiber.io;
