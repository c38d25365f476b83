package io.fiber.agent;

import io.fiber.FiberScheduler;
import io.fiber.Fibers;
import io.fiber.detector.BlockingCallDetector;
import io.fiber.detector.BlockingCategory;

/** Run in a child JVM by {@link FiberAgentIT}: reports how fibers and plain virtual threads run there. */
public final class AgentProbe {
    private AgentProbe() { }

    /**
     * Attaches the agent jar to this JVM, twice ({@code agentmain}), then reads a socket in a fiber
     * and prints whether the wait went to the carrier's reactor, and how often one file read was
     * reported. With {@code late}, a fiber runs before the attach, and the probe ends after it.
     */
    private static void attachThenServe(String agentJar, boolean late) throws Exception {
        if (late) {
            Fibers.spawn(() -> null).get();
        }
        com.sun.tools.attach.VirtualMachine vm = com.sun.tools.attach.VirtualMachine.attach(Long.toString(ProcessHandle.current().pid()));
        try {
            vm.loadAgent(agentJar, "detector=report");
            vm.loadAgent(agentJar, "detector=report");
        } finally {
            vm.detach();
        }
        if (late) {
            return;
        }
        FiberScheduler scheduler = Fibers.defaultScheduler();
        System.out.println("ownCarriers=" + scheduler.usesOwnCarriers());
        java.util.List<String> reported = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (AutoCloseable listener = BlockingCallDetector.get().addListener(call -> reported.add(call.method()));
             java.net.ServerSocket server = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            long waitsBefore = scheduler.stats().ioWaits();
            Fibers.spawn(() -> {
                try (java.net.Socket client = new java.net.Socket(server.getInetAddress(), server.getLocalPort());
                     java.net.Socket accepted = server.accept()) {
                    Fibers.spawn(() -> {
                        Thread.sleep(50);
                        accepted.getOutputStream().write(7);
                        return null;
                    });
                    return client.getInputStream().read(); // waits for the byte
                }
            }).get();
            System.out.println("reactorWaits=" + (scheduler.stats().ioWaits() - waitsBefore));
            Fibers.spawn(() -> {
                try (java.io.FileInputStream in = new java.io.FileInputStream("/dev/null")) {
                    return in.read();
                }
            }).get();
            System.out.println("fileReadReports=" + reported.stream().filter(m -> m.equals("java.io.FileInputStream#read")).count());
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("no-fibers")) {
            // An application that never uses fibers: platform and JDK virtual threads as usual.
            String[] seen = new String[2];
            Thread platform = Thread.ofPlatform().start(() -> seen[0] = String.valueOf(Thread.currentThread().isVirtual()));
            Thread virtual = Thread.startVirtualThread(() -> seen[1] = Thread.currentThread().toString());
            platform.join();
            virtual.join();
            System.out.println("platformVirtual=" + seen[0]);
            System.out.println("jdkVirtualThread=" + seen[1]);
            return;
        }
        if (args.length > 0 && args[0].equals("console-and-stdin")) {
            // Standard streams are real here (the test harness replaces them in its own JVM).
            BlockingCallDetector.get().disallowCategory(BlockingCategory.CONSOLE);
            Fibers.spawn(() -> {
                System.out.println("printed by a fiber");
                return System.in.read();
            }).get();
            return;
        }
        if (args.length > 1 && args[0].equals("attach")) {
            attachThenServe(args[1], args.length > 2 && args[2].equals("late"));
            return;
        }
        FiberScheduler scheduler = Fibers.defaultScheduler();
        System.out.println("ownCarriers=" + scheduler.usesOwnCarriers());
        System.out.println("carriers=" + scheduler.carrierCount());
        System.out.println("handoffProperty=" + System.getProperty("fiber.handoff"));
        System.out.println("fiber=" + Fibers.spawn(() -> Thread.currentThread().toString()).get());
        System.out.println("javaLangOpenToAll=" + Object.class.getModule().isOpen("java.lang"));
    }
}
