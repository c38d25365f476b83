package io.fiber.agent;

import io.fiber.internal.bridge.FiberBridge;
import io.fiber.detector.BlockingCategory;
import org.objectweb.asm.ClassReader;
import org.objectweb.asm.ClassVisitor;
import org.objectweb.asm.ClassWriter;
import org.objectweb.asm.MethodVisitor;
import org.objectweb.asm.Opcodes;
import org.objectweb.asm.Type;

import java.lang.instrument.ClassFileTransformer;
import java.lang.instrument.Instrumentation;
import java.security.ProtectionDomain;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Patches methods of classes not loaded yet, as they are defined: library natives known to block
 * ({@link KnownBlockingNatives}) and methods the application marks as blocking before their class
 * loads. At a class's first definition the JVM lets an agent add methods, which is what wrapping a
 * native takes (later, only {@code -XX:+AllowRedefinitionToAddDeleteMethods} would allow it).
 *
 * <ul>
 *   <li>A native {@code m} becomes {@code $$fiber$$_m}, still native, and a Java method {@code m}
 *       with the original signature reports the call ({@link FiberBridge#blockingCall}) and calls
 *       it. The JVM finds the native's implementation by stripping the prefix
 *       ({@code Instrumentation.setNativeMethodPrefix}). The wrapper is not {@code synchronized}:
 *       the native keeps its own lock, so the check runs before the lock is taken.</li>
 *   <li>A Java method gets the same report call as its first instruction. The call has no branch
 *       and leaves the stack empty, so the method's stack map frames stay valid.</li>
 * </ul>
 * Registered as a transformer that does not retransform: it runs at definition only, before
 * retransforming transformers such as {@link ClassPatcher}, so its output is what they start from.
 */
final class DefinitionPatcher implements ClassFileTransformer {
    static final String NATIVE_PREFIX = "$$fiber$$_";

    /** What a patched method reports: its category (a native's report says NATIVE for MARKED). */
    private record Target(int category) { }

    /** Internal class name to (method name + descriptor to target). */
    private final Map<String, Map<String, Target>> targets = new ConcurrentHashMap<>();

    private DefinitionPatcher() { }

    /** Registers the patcher with the JVM, with the known blocking library natives. */
    static DefinitionPatcher install(Instrumentation inst) {
        DefinitionPatcher patcher = new DefinitionPatcher();
        inst.addTransformer(patcher, false);
        if (inst.isNativeMethodPrefixSupported()) {
            inst.setNativeMethodPrefix(patcher, NATIVE_PREFIX);
        }
        for (KnownBlockingNatives.Entry e : KnownBlockingNatives.TABLE) {
            patcher.add(e.className(), e.methodName(), e.descriptor(), e.category().ordinal());
        }
        return patcher;
    }

    /** Patches {@code className.methodName descriptor} when that class is defined. */
    void add(String className, String methodName, String descriptor, int category) {
        targets.computeIfAbsent(className.replace('.', '/'), k -> new ConcurrentHashMap<>())
                .put(methodName + descriptor, new Target(category));
    }

    @Override
    public byte[] transform(Module module, ClassLoader loader, String className, Class<?> redefined,
                            ProtectionDomain domain, byte[] bytes) {
        if (className == null || redefined != null) {
            return null;
        }
        Map<String, Target> methods = targets.get(className);
        if (methods == null) {
            return null;
        }
        try {
            ClassReader reader = new ClassReader(bytes);
            ClassWriter writer = new ClassWriter(reader, ClassWriter.COMPUTE_MAXS);
            reader.accept(new Patching(writer, className, methods), 0);
            return writer.toByteArray();
        } catch (RuntimeException e) {
            System.err.println("fiber-agent: could not patch " + className.replace('/', '.') + " for the blocking-call detector: " + e);
            return null;
        }
    }

    private static final class Patching extends ClassVisitor {
        private final String owner;
        private final Map<String, Target> methods;

        Patching(ClassVisitor next, String owner, Map<String, Target> methods) {
            super(Opcodes.ASM9, next);
            this.owner = owner;
            this.methods = methods;
        }

        @Override
        public MethodVisitor visitMethod(int access, String name, String descriptor, String signature, String[] exceptions) {
            Target target = methods.get(name + descriptor);
            if (target == null || name.startsWith("<")) {
                return super.visitMethod(access, name, descriptor, signature, exceptions);
            }
            boolean isStatic = (access & Opcodes.ACC_STATIC) != 0;
            if ((access & Opcodes.ACC_NATIVE) == 0) {
                MethodVisitor body = super.visitMethod(access, name, descriptor, signature, exceptions);
                return new MethodVisitor(Opcodes.ASM9, body) {
                    @Override
                    public void visitCode() {
                        super.visitCode();
                        report(mv, name, descriptor, target, isStatic);
                    }
                };
            }
            Target asNative = target.category() == BlockingCategory.MARKED.ordinal()
                    ? new Target(BlockingCategory.NATIVE.ordinal()) : target;
            MethodVisitor wrapper = super.visitMethod(access & ~(Opcodes.ACC_NATIVE | Opcodes.ACC_SYNCHRONIZED),
                    name, descriptor, signature, exceptions);
            wrapper.visitCode();
            report(wrapper, name, descriptor, asNative, isStatic);
            int slot = 0;
            if (!isStatic) {
                wrapper.visitVarInsn(Opcodes.ALOAD, 0);
                slot = 1;
            }
            for (Type arg : Type.getArgumentTypes(descriptor)) {
                wrapper.visitVarInsn(arg.getOpcode(Opcodes.ILOAD), slot);
                slot += arg.getSize();
            }
            wrapper.visitMethodInsn(isStatic ? Opcodes.INVOKESTATIC : Opcodes.INVOKESPECIAL, owner, NATIVE_PREFIX + name, descriptor, false);
            wrapper.visitInsn(Type.getReturnType(descriptor).getOpcode(Opcodes.IRETURN));
            wrapper.visitMaxs(0, 0);
            wrapper.visitEnd();
            return super.visitMethod(access, NATIVE_PREFIX + name, descriptor, signature, exceptions);
        }

        /** Emits {@code FiberBridge.blockingCall} for this method, as the detector's table entries do. */
        private void report(MethodVisitor mv, String method, String descriptor, Target target, boolean isStatic) {
            String className = owner.replace('/', '.');
            ClassPatcher.emitEntryCall(mv, BlockingMethods.report(className, method, descriptor,
                    BlockingMethods.displayName(className, method, isStatic), target.category(), FiberBridge.Detector.ANY_THREAD), isStatic);
        }
    }
}
