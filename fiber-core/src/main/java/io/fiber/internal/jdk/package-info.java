/**
 * Every access to JDK internals, one adapter per internal, so a JDK change touches one file:
 * the virtual thread hook ({@code java.lang}), the JDK's pollers' class initialisation and fd numbers
 * ({@code sun.nio.ch}), and what the OS knows of a thread.
 */
package io.fiber.internal.jdk;
