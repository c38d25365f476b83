package io.fiber.agent;

import io.fiber.internal.bridge.FiberBridge;

import java.lang.instrument.Instrumentation;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Patches methods the application marks as blocking ({@code BlockingCallDetector.markAsBlocking}).
 * A class not loaded yet is patched as it is defined, natives included ({@link DefinitionPatcher}).
 * A loaded class is retransformed with the detector's entry check ({@link ClassPatcher}); its method must exist, and must
 * not be native: wrapping a native adds a Java method in front of it, which the JVM refuses for a
 * loaded class (but with the deprecated {@code -XX:+AllowRedefinitionToAddDeleteMethods}). Mark it
 * before its class loads (in an integration, or first thing in {@code main}), or mark the Java
 * method that calls it.
 */
final class MethodPatcher implements FiberBridge.Patcher {
    private static final Pattern BINARY_NAME = Pattern.compile("[\\p{L}_$][\\p{L}\\p{N}_$]*(\\.[\\p{L}_$][\\p{L}\\p{N}_$]*)*");
    private static final Pattern DESCRIPTOR = Pattern.compile("\\((\\[*([BCDFIJSZ]|L[^;]+;))*\\)(V|\\[*([BCDFIJSZ]|L[^;]+;))");

    private final Instrumentation inst;
    private final ClassPatcher loaded;
    private final DefinitionPatcher definitions;

    private MethodPatcher(Instrumentation inst, ClassPatcher loaded, DefinitionPatcher definitions) {
        this.inst = inst;
        this.loaded = loaded;
        this.definitions = definitions;
    }

    /**
     * Offers a patcher to the runtime through the bridge. A method of its own, not inline in
     * {@link FiberAgent}: verifying the agent class would load the bridge's types through the
     * application class loader before the boot loader has them.
     */
    static void install(Instrumentation inst, ClassPatcher loaded, DefinitionPatcher definitions) {
        FiberBridge.setPatcher(new MethodPatcher(inst, loaded, definitions));
    }

    @Override
    public synchronized void markAsBlocking(String className, String methodName, String descriptor, int category) {
        if (className == null || !BINARY_NAME.matcher(className).matches()) {
            throw new IllegalArgumentException("'" + className + "' is not a class name; give its binary name, such as com.example.Dao");
        }
        if (methodName == null || methodName.isEmpty() || methodName.equals("<init>") || methodName.equals("<clinit>")) {
            throw new IllegalArgumentException("'" + methodName + "' cannot be marked: give a method's name (not a constructor or initialiser)");
        }
        if (descriptor == null || !DESCRIPTOR.matcher(descriptor).matches()) {
            throw new IllegalArgumentException("'" + descriptor + "' is not a JVM method descriptor, such as (Ljava/lang/String;)I");
        }
        Class<?> owner = loadedClass(className);
        if (owner == null) {
            definitions.add(className, methodName, descriptor, category);
            return;
        }
        Method m = JdkPatches.declared(owner, methodName, descriptor);
        if (m == null) {
            throw new IllegalArgumentException(className + " has no method " + methodName + descriptor);
        }
        if (Modifier.isNative(m.getModifiers())) {
            throw new IllegalStateException(className + "." + methodName + " is native and its class is loaded,"
                    + " so it cannot be patched any more; mark it before the class loads, or mark the Java method that calls it");
        }
        Patch patch = BlockingMethods.report(className, methodName, descriptor,
                BlockingMethods.displayName(className, methodName, Modifier.isStatic(m.getModifiers())), category,
                FiberBridge.Detector.ANY_THREAD);
        loaded.apply(List.of(patch), Map.of(className, owner));
    }

    private Class<?> loadedClass(String className) {
        for (Class<?> c : inst.getAllLoadedClasses()) {
            if (c.getName().equals(className)) {
                return c;
            }
        }
        return null;
    }
}
