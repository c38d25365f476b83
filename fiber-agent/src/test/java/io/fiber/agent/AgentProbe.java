package io.fiber.agent;

import io.fiber.FiberScheduler;
import io.fiber.Fibers;
import io.fiber.detector.BlockingCallDetector;
import io.fiber.detector.BlockingCategory;

/** Run in a child JVM by {@link FiberAgentIT}: reports how fibers and plain virtual threads run there. */
public final class AgentProbe {
    private AgentProbe() { }

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
        FiberScheduler scheduler = Fibers.defaultScheduler();
        System.out.println("ownCarriers=" + scheduler.usesOwnCarriers());
        System.out.println("carriers=" + scheduler.carrierCount());
        System.out.println("handoffProperty=" + System.getProperty("fiber.handoff"));
        System.out.println("fiber=" + Fibers.spawn(() -> Thread.currentThread().toString()).get());
        System.out.println("javaLangOpenToAll=" + Object.class.getModule().isOpen("java.lang"));
    }
}
