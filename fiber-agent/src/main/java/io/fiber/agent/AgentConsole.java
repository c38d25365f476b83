package io.fiber.agent;

import io.fiber.FiberConsole;

import java.io.IOException;
import java.net.InetSocketAddress;

/**
 * The agent option {@code console=}: starts the live console ({@link FiberConsole}) at start-up and
 * says where on standard error. A class of its own, so that without the option none of the
 * console's classes is loaded, nor the JDK's HTTP server.
 *
 * <p>A bad option value was refused before (status 1, as for every option). Failing to listen (a
 * port another program holds, an address not this machine's) only prints a line: the console is an
 * aid for looking at a program, and a second copy of a program started with the same port must
 * still run.
 */
final class AgentConsole {
    private AgentConsole() { }

    static void start(InetSocketAddress address, String token) {
        try {
            FiberConsole console = FiberConsole.start(address, token);
            System.err.println("fiber-agent: console at " + console.uri()
                    + (token == null ? " (this machine only)" : " (needs its token: open it once with ?token=TOKEN, from console.token)")
                    + ": carriers, fibers, the detector's reports, live plots");
        } catch (IOException | RuntimeException e) {
            String why = e instanceof java.net.BindException || e.getCause() instanceof java.net.BindException
                    ? e.getMessage() : e.toString();
            System.err.println("fiber-agent: console: could not listen on " + address.getAddress().getHostAddress() + ":"
                    + address.getPort() + " (" + why + "); the program runs on without the console (console=0 takes any free port)");
        }
    }
}
