package io.fiber.agent;

import java.io.IOException;
import java.io.InputStream;
import java.lang.instrument.Instrumentation;
import java.net.URI;
import java.net.URL;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.security.ProtectionDomain;
import java.util.Map;
import java.util.Set;

/**
 * Defines the runtime's bridge classes ({@code io.fiber.internal.bridge}) in the boot class loader, where
 * code patched into {@code java.base} can see them. The application class loader asks the boot
 * loader first, so the runtime then links against these very classes.
 *
 * <p>Why not {@code Instrumentation.appendToBootstrapClassLoaderSearch} (BlockHound's way): with
 * class data sharing on, the default since JDK 12, appending makes HotSpot print "Sharing is only
 * supported for boot loader classes because bootstrap classpath has been appended" on standard
 * output of every program launched with the agent, and turns sharing off for application classes.
 * Defining the two classes with the JDK's internal {@code Unsafe.defineClass} and a null loader
 * does neither. That needs {@code jdk.internal.misc} exported to the agent, for this call only.
 */
final class BootBridge {
    static final String BRIDGE_CLASS = "io.fiber.internal.bridge.FiberBridge";
    /** Defining order matters: the interface before the class that names it in a field. */
    private static final String[] CLASSES = {"io.fiber.internal.bridge.FiberBridge$Hooks", "io.fiber.internal.bridge.FiberBridge$Reactor",
            "io.fiber.internal.bridge.FiberBridge$Detector", "io.fiber.internal.bridge.FiberBridge$Patcher",
            "io.fiber.internal.bridge.FiberBridge$Threads", BRIDGE_CLASS};

    private BootBridge() { }

    /** Defines the bridge once per JVM and returns its module (the boot loader's unnamed module). */
    static Module install(Instrumentation inst) throws IOException {
        Class<?> bridge = bootClass();
        if (bridge != null) {
            return bridge.getModule();
        }
        Module agent = BootBridge.class.getModule();
        inst.redefineModule(Object.class.getModule(), Set.of(), Map.of("jdk.internal.misc", Set.of(agent)),
                Map.of(), Set.of(), Map.of());
        MethodHandle define;
        Object unsafe;
        try {
            Class<?> unsafeClass = Class.forName("jdk.internal.misc.Unsafe");
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            unsafe = lookup.findStatic(unsafeClass, "getUnsafe", MethodType.methodType(unsafeClass)).invoke();
            define = lookup.findVirtual(unsafeClass, "defineClass", MethodType.methodType(Class.class,
                    String.class, byte[].class, int.class, int.class, ClassLoader.class, ProtectionDomain.class));
        } catch (Throwable e) {
            throw new IllegalStateException("cannot reach the JDK's class definer on " + Runtime.version() + ": " + e, e);
        }
        for (String name : CLASSES) {
            byte[] bytes = classFile(name);
            try {
                define.invoke(unsafe, name, bytes, 0, bytes.length, (ClassLoader) null, (ProtectionDomain) null);
            } catch (Throwable e) {
                throw new IllegalStateException("cannot define " + name + " in the boot class loader: " + e, e);
            }
        }
        bridge = bootClass();
        if (bridge == null) {
            throw new IllegalStateException("the boot class loader does not see " + BRIDGE_CLASS + " after defining it");
        }
        return bridge.getModule();
    }

    /**
     * The class file from the agent's own jar, not whichever copy the class path finds first: an
     * application jar that bundles another build of fiber-core must not decide what the JDK calls.
     */
    private static byte[] classFile(String name) throws IOException {
        String path = name.replace('.', '/') + ".class";
        String self = BootBridge.class.getName().replace('.', '/') + ".class";
        URL own = BootBridge.class.getClassLoader().getResource(self);
        if (own == null) {
            throw new IllegalStateException("the agent cannot find its own " + self);
        }
        String base = own.toString().substring(0, own.toString().length() - self.length());
        try (InputStream in = URI.create(base + path).toURL().openStream()) {
            return in.readAllBytes();
        } catch (java.io.FileNotFoundException e) {
            throw new IllegalStateException("the agent jar lacks " + path + "; rebuild it with ./run test", e);
        }
    }

    /** Whether an agent already defined the bridge in this JVM. */
    static boolean isInstalled() {
        return bootClass() != null;
    }

    private static Class<?> bootClass() {
        try {
            return Class.forName(BRIDGE_CLASS, false, null);
        } catch (ClassNotFoundException e) {
            return null;
        }
    }
}
