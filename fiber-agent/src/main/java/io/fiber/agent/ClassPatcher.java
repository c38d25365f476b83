package io.fiber.agent;

import io.fiber.internal.bridge.FiberBridge;
import org.objectweb.asm.ClassReader;
import org.objectweb.asm.ClassVisitor;
import org.objectweb.asm.ClassWriter;
import org.objectweb.asm.Label;
import org.objectweb.asm.MethodVisitor;
import org.objectweb.asm.Opcodes;
import org.objectweb.asm.Type;

import java.lang.instrument.ClassFileTransformer;
import java.lang.instrument.Instrumentation;
import java.security.ProtectionDomain;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * Writes {@link Patch}es into classes: a retransforming transformer, registered once, that holds
 * every patch the agent applied. The JVM calls it whenever a patched class is retransformed (by
 * this agent adding a patch, or by another agent), and it writes all of that class's patches again,
 * so no retransformation can drop one.
 *
 * <p>The inserted code, per {@link Patch.Then}:
 * <pre>
 *   CONTINUE           FiberBridge.entry(operands);
 *   RETURN_IF_TRUE     if (FiberBridge.entry(operands)) return [skipValue];
 *   RETURN_IF_NONNULL  r = FiberBridge.entry(operands); if (r != null) return r;
 *   RETURN_UNLESS      r = FiberBridge.entry(operands); if (r != skipValue) return r;
 *   KEEP               kept = FiberBridge.entry(operands); try { body } catch (Throwable t) { FiberBridge.exit(kept); throw t; }
 * </pre>
 * (nothing, for a patch without an entry call), and with an exit call, {@code FiberBridge.exit(operands)} before every return of the body (taking
 * and giving back the returned value when its first operand is {@link Patch.Operand.Returned}).
 *
 * <p>Stack map frames are written by hand, so no class is loaded while patching ({@code
 * COMPUTE_FRAMES} would load classes to merge types, from inside a transformer of {@code java.base}).
 * The class is read with its frames expanded. A return at entry is followed by a label with the
 * method's initial frame and one spacer instruction ({@code NOP} or the {@code POP} of the bridge's
 * result), so a frame the body has at its first instruction stays at its own offset. {@code KEEP}
 * stores the result in a new local just past the method's locals (a first pass reads their count),
 * adds it as an {@code int} to every frame of the body, and appends a catch-all handler after the
 * body's own handlers, so it is searched last.
 */
final class ClassPatcher implements ClassFileTransformer {
    private static final String BRIDGE = Type.getInternalName(FiberBridge.class);

    /** Internal class name to its patches, each list replaced whole (copy on write). */
    private final Map<String, List<Patch>> patches = new ConcurrentHashMap<>();
    /** Patches written by the latest transformation of each class, and what went wrong, for {@link #apply}. */
    private final Set<Patch> written = ConcurrentHashMap.newKeySet();
    private final List<String> errors = new ArrayList<>();
    private final Instrumentation inst;

    private ClassPatcher(Instrumentation inst) {
        this.inst = inst;
    }

    /** Registers a patcher, with no patches yet, as a retransforming transformer. */
    static ClassPatcher install(Instrumentation inst) {
        ClassPatcher patcher = new ClassPatcher(inst);
        inst.addTransformer(patcher, true);
        return patcher;
    }

    /**
     * Checks patches of loaded classes ({@code classes}, by name; {@link Patch#check}), adds them and
     * retransforms those classes; throws naming each patch that is wrong or was not written. Each
     * class is transformed once, with all its patches. A patch given again is already in; another
     * patch of a patched method is refused.
     */
    synchronized void apply(List<Patch> patchesToAdd, Map<String, Class<?>> classes) {
        List<Patch> added = new ArrayList<>();
        for (Patch patch : patchesToAdd) {
            Class<?> owner = classes.get(patch.owner());
            if (!inst.isModifiableClass(owner)) {
                throw new IllegalStateException(patch.owner() + " cannot be retransformed by this JVM");
            }
            patch.check(owner);
            Patch other = Stream.concat(patches.getOrDefault(patch.internalOwner(), List.of()).stream(), added.stream())
                    .filter(p -> p.internalOwner().equals(patch.internalOwner()) && p.methodKey().equals(patch.methodKey()))
                    .findFirst().orElse(null);
            if (other == null) {
                added.add(patch);
            } else if (!other.equals(patch)) {
                throw new IllegalStateException(patch + " is patched already, with another call (" + other.entry()
                        + "); a method is patched once");
            }
        }
        if (added.isEmpty()) {
            return;
        }
        for (Patch patch : added) {
            patches.merge(patch.internalOwner(), List.of(patch), (old, more) -> {
                List<Patch> all = new ArrayList<>(old);
                all.addAll(more);
                return all;
            });
        }
        written.clear();
        synchronized (errors) {
            errors.clear();
        }
        try {
            inst.retransformClasses(classes.values().toArray(Class<?>[]::new));
        } catch (Exception | LinkageError e) {
            throw new IllegalStateException("could not patch " + classes.keySet() + " on JDK " + Runtime.version() + ": " + e, e);
        }
        List<Patch> missing = new ArrayList<>();
        for (Patch patch : added) {
            if (!written.contains(patch)) {
                missing.add(patch);
            }
        }
        if (!missing.isEmpty()) {
            String why;
            synchronized (errors) {
                why = errors.isEmpty() ? "" : ": " + errors;
            }
            throw new IllegalStateException("could not patch " + missing + " on JDK " + Runtime.version() + why);
        }
    }

    @Override
    public byte[] transform(Module module, ClassLoader loader, String className, Class<?> redefined,
                            ProtectionDomain domain, byte[] bytes) {
        List<Patch> list = className == null ? null : patches.get(className);
        if (list == null) {
            return null;
        }
        try {
            byte[] patched = write(bytes, list);
            written.addAll(list);
            return patched;
        } catch (RuntimeException e) {
            synchronized (errors) {
                errors.add(className.replace('/', '.') + ": " + e);
            }
            System.err.println("fiber-agent: could not patch " + className.replace('/', '.') + ": " + e);
            return null;
        }
    }

    /** The class file {@code bytes} with {@code list} written in; throws when a patched method is not there. */
    static byte[] write(byte[] bytes, List<Patch> list) {
        ClassReader reader = new ClassReader(bytes);
        Map<String, Integer> maxLocals = maxLocals(reader, list);
        ClassWriter writer = new ClassWriter(reader, ClassWriter.COMPUTE_MAXS);
        Map<String, Patch> byMethod = new HashMap<>();
        for (Patch patch : list) {
            byMethod.put(patch.methodKey(), patch);
        }
        Set<String> found = new HashSet<>();
        reader.accept(new ClassVisitor(Opcodes.ASM9, writer) {
            @Override
            public MethodVisitor visitMethod(int access, String name, String descriptor, String signature, String[] exceptions) {
                MethodVisitor mv = super.visitMethod(access, name, descriptor, signature, exceptions);
                Patch patch = byMethod.get(name + descriptor);
                if (patch == null || (access & (Opcodes.ACC_NATIVE | Opcodes.ACC_ABSTRACT)) != 0 || name.startsWith("<")) {
                    return mv;
                }
                found.add(name + descriptor);
                return new PatchedMethod(mv, patch, access, maxLocals.getOrDefault(name + descriptor, 0));
            }
        }, ClassReader.EXPAND_FRAMES);
        if (found.size() != byMethod.size()) {
            List<String> absent = new ArrayList<>(byMethod.keySet());
            absent.removeAll(found);
            throw new IllegalStateException("no Java method " + absent + " in " + reader.getClassName());
        }
        return writer.toByteArray();
    }

    /** The body's local count of each method patched with {@code KEEP}: the kept result goes just past them. */
    private static Map<String, Integer> maxLocals(ClassReader reader, List<Patch> list) {
        Map<String, Integer> keeping = new HashMap<>();
        for (Patch patch : list) {
            if (patch.then() == Patch.Then.KEEP) {
                keeping.put(patch.methodKey(), 0);
            }
        }
        if (keeping.isEmpty()) {
            return keeping;
        }
        reader.accept(new ClassVisitor(Opcodes.ASM9) {
            @Override
            public MethodVisitor visitMethod(int access, String name, String descriptor, String signature, String[] exceptions) {
                String key = name + descriptor;
                if (!keeping.containsKey(key)) {
                    return null;
                }
                return new MethodVisitor(Opcodes.ASM9) {
                    @Override
                    public void visitMaxs(int maxStack, int locals) {
                        keeping.put(key, locals);
                    }
                };
            }
        }, ClassReader.SKIP_DEBUG | ClassReader.SKIP_FRAMES);
        return keeping;
    }

    /** Emits the entry call of a {@code CONTINUE} patch: all it inserts. */
    static void emitEntryCall(MethodVisitor mv, Patch patch, boolean isStatic) {
        if (patch.then() != Patch.Then.CONTINUE || patch.exit() != null) {
            throw new IllegalArgumentException(patch + " inserts more than an entry call");
        }
        emitCall(mv, patch, isStatic, patch.entry(), patch.entryDescriptor(), patch.entryOperands(), -1);
    }

    /** Emits the loads of {@code operands} and the call to the bridge's {@code name descriptor}. */
    private static void emitCall(MethodVisitor mv, Patch patch, boolean isStatic, String name, String descriptor,
                         List<Patch.Operand> operands, int keptSlot) {
        Type[] args = Type.getArgumentTypes(patch.descriptor());
        for (Patch.Operand operand : operands) {
            switch (operand) {
                case Patch.Operand.Arg a -> loadArg(mv, args, isStatic, a.index());
                case Patch.Operand.OwnStatic o -> {
                    loadArg(mv, args, isStatic, o.index());
                    mv.visitMethodInsn(Opcodes.INVOKESTATIC, patch.internalOwner(), o.name(), o.descriptor(), false);
                }
                case Patch.Operand.Receiver r -> {
                    if (isStatic) {
                        mv.visitInsn(Opcodes.ACONST_NULL);
                    } else {
                        mv.visitVarInsn(Opcodes.ALOAD, 0);
                    }
                }
                case Patch.Operand.Constant c -> mv.visitLdcInsn(c.value());
                case Patch.Operand.ThisField f -> {
                    mv.visitVarInsn(Opcodes.ALOAD, 0);
                    mv.visitFieldInsn(Opcodes.GETFIELD, patch.internalOwner(), f.name(), f.descriptor());
                }
                case Patch.Operand.Returned r -> { } // already on the stack
                case Patch.Operand.Kept k -> mv.visitVarInsn(Opcodes.ILOAD, keptSlot);
            }
        }
        mv.visitMethodInsn(Opcodes.INVOKESTATIC, BRIDGE, name, descriptor, false);
    }

    private static void loadArg(MethodVisitor mv, Type[] args, boolean isStatic, int index) {
        int slot = isStatic ? 0 : 1;
        for (int i = 0; i < index; i++) {
            slot += args[i].getSize();
        }
        mv.visitVarInsn(args[index].getOpcode(Opcodes.ILOAD), slot);
    }

    /** One patched method: entry code at {@code visitCode}, exit calls before returns, the KEEP handler at the end. */
    private static final class PatchedMethod extends MethodVisitor {
        private final Patch patch;
        private final boolean isStatic;
        private final int keptSlot;
        private final Label tryStart = new Label();

        PatchedMethod(MethodVisitor next, Patch patch, int access, int maxLocals) {
            super(Opcodes.ASM9, next);
            this.patch = patch;
            this.isStatic = (access & Opcodes.ACC_STATIC) != 0;
            this.keptSlot = maxLocals;
        }

        @Override
        public void visitCode() {
            super.visitCode();
            if (patch.entry() == null) {
                return; // a filter of the returned value: exit calls only
            }
            emitCall(mv, patch, isStatic, patch.entry(), patch.entryDescriptor(), patch.entryOperands(), keptSlot);
            Type returnType = Type.getReturnType(patch.descriptor());
            switch (patch.then()) {
                case CONTINUE -> { }
                case RETURN_IF_TRUE -> {
                    Label body = new Label();
                    mv.visitJumpInsn(Opcodes.IFEQ, body);
                    if (returnType.getSort() == Type.INT) {
                        mv.visitLdcInsn(patch.skipValue());
                    }
                    mv.visitInsn(returnType.getOpcode(Opcodes.IRETURN));
                    mv.visitLabel(body);
                    Object[] locals = initialLocals();
                    mv.visitFrame(Opcodes.F_NEW, locals.length, locals, 0, null);
                    mv.visitInsn(Opcodes.NOP);
                }
                case RETURN_IF_NONNULL -> {
                    Label body = new Label();
                    mv.visitInsn(Opcodes.DUP);
                    mv.visitJumpInsn(Opcodes.IFNULL, body);
                    mv.visitInsn(Opcodes.ARETURN);
                    mv.visitLabel(body);
                    Object[] locals = initialLocals();
                    mv.visitFrame(Opcodes.F_NEW, locals.length, locals, 1, new Object[] {returnType.getInternalName()});
                    mv.visitInsn(Opcodes.POP);
                }
                case RETURN_UNLESS -> {
                    Label body = new Label();
                    mv.visitInsn(Opcodes.DUP);
                    mv.visitLdcInsn(patch.skipValue());
                    mv.visitJumpInsn(Opcodes.IF_ICMPEQ, body);
                    mv.visitInsn(Opcodes.IRETURN);
                    mv.visitLabel(body);
                    Object[] locals = initialLocals();
                    mv.visitFrame(Opcodes.F_NEW, locals.length, locals, 1, new Object[] {Opcodes.INTEGER});
                    mv.visitInsn(Opcodes.POP);
                }
                case KEEP -> {
                    mv.visitVarInsn(Opcodes.ISTORE, keptSlot);
                    mv.visitLabel(tryStart);
                }
            }
        }

        @Override
        public void visitInsn(int opcode) {
            if (patch.exit() != null && opcode >= Opcodes.IRETURN && opcode <= Opcodes.RETURN) {
                emitCall(mv, patch, isStatic, patch.exit(), patch.exitDescriptor(), patch.exitOperands(), keptSlot);
            }
            super.visitInsn(opcode);
        }

        @Override
        public void visitFrame(int type, int numLocal, Object[] local, int numStack, Object[] stack) {
            if (patch.then() != Patch.Then.KEEP) {
                super.visitFrame(type, numLocal, local, numStack, stack);
                return;
            }
            Object[] withKept = padded(local, numLocal);
            super.visitFrame(type, withKept.length, withKept, numStack, stack);
        }

        @Override
        public void visitMaxs(int maxStack, int maxLocals) {
            if (patch.then() == Patch.Then.KEEP) {
                Label tryEnd = new Label();
                Label handler = new Label();
                mv.visitLabel(tryEnd);
                mv.visitLabel(handler);
                Object[] locals = padded(new Object[0], 0);
                mv.visitFrame(Opcodes.F_NEW, locals.length, locals, 1, new Object[] {"java/lang/Throwable"});
                emitCall(mv, patch, isStatic, patch.exit(), patch.exitDescriptor(), patch.exitOperands(), keptSlot);
                mv.visitInsn(Opcodes.ATHROW);
                mv.visitTryCatchBlock(tryStart, tryEnd, handler, null);
            }
            super.visitMaxs(maxStack, maxLocals);
        }

        /** A frame's locals, filled with TOP up to the kept slot, then the kept int. */
        private Object[] padded(Object[] local, int numLocal) {
            List<Object> out = new ArrayList<>(keptSlot + 1);
            int slots = 0;
            for (int i = 0; i < numLocal; i++) {
                out.add(local[i]);
                slots += local[i] == Opcodes.LONG || local[i] == Opcodes.DOUBLE ? 2 : 1;
            }
            for (; slots < keptSlot; slots++) {
                out.add(Opcodes.TOP);
            }
            out.add(Opcodes.INTEGER);
            return out.toArray();
        }

        /** The frame at the method's entry: its receiver and parameters. */
        private Object[] initialLocals() {
            List<Object> locals = new ArrayList<>();
            if (!isStatic) {
                locals.add(patch.internalOwner());
            }
            for (Type t : Type.getArgumentTypes(patch.descriptor())) {
                locals.add(switch (t.getSort()) {
                    case Type.BOOLEAN, Type.BYTE, Type.CHAR, Type.SHORT, Type.INT -> Opcodes.INTEGER;
                    case Type.FLOAT -> Opcodes.FLOAT;
                    case Type.LONG -> Opcodes.LONG;
                    case Type.DOUBLE -> Opcodes.DOUBLE;
                    default -> t.getInternalName();
                });
            }
            return locals.toArray();
        }
    }
}
