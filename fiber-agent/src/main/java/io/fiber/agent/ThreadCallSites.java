package io.fiber.agent;

import io.fiber.internal.bridge.FiberBridge;
import org.objectweb.asm.ClassReader;
import org.objectweb.asm.ClassVisitor;
import org.objectweb.asm.ClassWriter;
import org.objectweb.asm.Handle;
import org.objectweb.asm.Label;
import org.objectweb.asm.MethodVisitor;
import org.objectweb.asm.Opcodes;
import org.objectweb.asm.Type;

import java.lang.instrument.ClassFileTransformer;
import java.lang.instrument.Instrumentation;
import java.nio.charset.StandardCharsets;
import java.security.ProtectionDomain;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code threads=fibers}: rewrites application classes as they are defined, so that their
 * {@code new Thread(...)} (the exact class {@code java.lang.Thread}, any of its public constructors)
 * asks the bridge for the thread, and their {@code Thread.setDaemon}/{@code isDaemon} calls ask it for
 * the flag ({@link ApplicationThreads}):
 * <pre>
 *   NEW java/lang/Thread; DUP; args...; INVOKESPECIAL java/lang/Thread.&lt;init&gt;(args)V
 *   becomes                      args...; LDC "creating.Class"; INVOKESTATIC FiberBridge.newThread(args, String)Thread
 *   INVOKEVIRTUAL java/lang/Thread.setDaemon(Z)V   becomes INVOKESTATIC FiberBridge.setDaemon(Thread, Z)V
 *   INVOKEVIRTUAL java/lang/Thread.isDaemon()Z     becomes INVOKESTATIC FiberBridge.isDaemon(Thread)Z
 *   Thread::new (a lambda's handle H_NEWINVOKESPECIAL java/lang/Thread.&lt;init&gt;) becomes
 *                                                  H_INVOKESTATIC FiberBridge.newThreadByReference(args)Thread
 * </pre>
 * A {@code NEW} is rewritten only when a {@code DUP} follows it at once and nothing between it and its
 * constructor call is a stack map frame, a jump or a switch: a frame there would name the
 * uninitialised value the rewrite removes, and without frames nothing else can refer to it, so the
 * method stays valid without recomputing frames (which would load classes from inside a
 * transformer). Other sites are left alone, and so is every {@code super(...)} of a Thread subclass
 * (it has no {@code NEW}) and every {@code new} of a subclass (its owner is not {@code java.lang.Thread}).
 *
 * <p>Left alone as well: JDK classes (boot and platform class loaders), the runtime's own classes
 * and the agent's shaded ones ({@link ApplicationThreads#isRuntimeLocation}), classes of named
 * modules (they cannot read the bridge's module), classes of loaders that do not find the bridge
 * ({@link #seesBridge}), and every class whose bytes never name
 * {@code java/lang/Thread}. A class the rewrite fails on is defined as it was, with one line on
 * standard error. Besides: the factory methods of a few {@code Thread} subclasses known to be safe as
 * fibers ({@link #SUBCLASS_FACTORIES}) hand their thread to the bridge before they return it. Registered as a transformer that does not retransform: it runs at definition only.
 */
final class ThreadCallSites implements ClassFileTransformer {
    private static final String THREAD = "java/lang/Thread";
    private static final String BRIDGE = Type.getInternalName(FiberBridge.class);
    private static final byte[] THREAD_NAME = THREAD.getBytes(StandardCharsets.UTF_8);
    /** The descriptors of java.lang.Thread's public constructors, which the bridge's newThread methods mirror. */
    static final Set<String> CONSTRUCTORS = Set.of("()V", "(Ljava/lang/Runnable;)V", "(Ljava/lang/ThreadGroup;Ljava/lang/Runnable;)V",
            "(Ljava/lang/String;)V", "(Ljava/lang/ThreadGroup;Ljava/lang/String;)V", "(Ljava/lang/Runnable;Ljava/lang/String;)V",
            "(Ljava/lang/ThreadGroup;Ljava/lang/Runnable;Ljava/lang/String;)V", "(Ljava/lang/ThreadGroup;Ljava/lang/Runnable;Ljava/lang/String;J)V",
            "(Ljava/lang/ThreadGroup;Ljava/lang/Runnable;Ljava/lang/String;JZ)V");

    /**
     * Factories of {@code Thread} subclasses known to be safe as fibers, by internal class name: the
     * factory method (name and descriptor, taking the task as its first argument) whose unstarted
     * thread the bridge may replace on return, as it may the JDK default factory's. A subclass stays
     * a platform thread anywhere else, since code may cast {@code currentThread()} to it.
     * <ul>
     *   <li>Tomcat's {@code TaskThreadFactory}, behind its default executor and its utility
     *       executor: Tomcat looks at a {@code TaskThread} only after an {@code instanceof} (to
     *       renew a pool's threads once a web application stopped, which converted threads then
     *       skip), and a {@code TaskThread} only adds its creation time and wraps its task to end
     *       quietly on that renewal's exception.</li>
     * </ul>
     */
    static final Map<String, String> SUBCLASS_FACTORIES = Map.of(
            "org/apache/tomcat/util/threads/TaskThreadFactory", "newThread(Ljava/lang/Runnable;)Ljava/lang/Thread;");

    private final ApplicationThreads policy;

    private ThreadCallSites(ApplicationThreads policy) {
        this.policy = policy;
    }

    /** Registers the rewrite for classes defined from now on. */
    static void install(Instrumentation inst, ApplicationThreads policy) {
        inst.addTransformer(new ThreadCallSites(policy), false);
    }

    @Override
    public byte[] transform(Module module, ClassLoader loader, String className, Class<?> redefined,
                            ProtectionDomain domain, byte[] bytes) {
        if (className == null || redefined != null || loader == null || loader == ClassLoader.getPlatformClassLoader()
                || (module != null && module.isNamed()) || className.startsWith("io/fiber/shaded/")
                || (className.startsWith("io/fiber/") && policy.isRuntimeLocation(domain)) || !names(bytes, THREAD_NAME)) {
            return null;
        }
        if (!seesBridge(loader)) {
            return null;
        }
        try {
            return rewrite(bytes);
        } catch (RuntimeException | LinkageError e) {
            System.err.println("fiber-agent: threads=fibers left " + className.replace('/', '.') + " as it was: " + e);
            return null;
        }
    }

    /** Class loaders by whether they find the boot loader's bridge; weak, so a dropped loader goes too. */
    private final Map<ClassLoader, Boolean> loaders = java.util.Collections.synchronizedMap(new java.util.WeakHashMap<>());

    /**
     * Whether code that {@code loader} defines can call the bridge: a loader that does not delegate
     * to the boot class path for it (an OSGi framework's, say) would make the rewritten class fail
     * with {@code NoClassDefFoundError}, so its classes are left alone. Asked once per loader; the
     * bridge is already loaded, so the answer loads nothing new.
     */
    private boolean seesBridge(ClassLoader loader) {
        Boolean sees = loaders.get(loader);
        if (sees == null) {
            try {
                sees = Class.forName(FiberBridge.class.getName(), false, loader) == FiberBridge.class;
            } catch (ClassNotFoundException | LinkageError | RuntimeException e) {
                sees = false;
            }
            loaders.put(loader, sees);
        }
        return sees;
    }

    /** The class rewritten, or null when it has nothing to rewrite. */
    static byte[] rewrite(byte[] bytes) {
        ClassReader reader = new ClassReader(bytes);
        String factoryMethod = SUBCLASS_FACTORIES.get(reader.getClassName());
        if (factoryMethod != null) {
            return rewriteFactory(reader, factoryMethod);
        }
        Map<String, Sites> sites = new HashMap<>();
        reader.accept(new ClassVisitor(Opcodes.ASM9) {
            @Override
            public MethodVisitor visitMethod(int access, String name, String descriptor, String signature, String[] exceptions) {
                Sites found = new Sites();
                sites.put(name + descriptor, found);
                return found.scanner();
            }
        }, 0);
        if (sites.values().stream().noneMatch(Sites::any)) {
            return null;
        }
        String creator = reader.getClassName().replace('/', '.');
        ClassWriter writer = new ClassWriter(reader, 0);
        reader.accept(new ClassVisitor(Opcodes.ASM9, writer) {
            @Override
            public MethodVisitor visitMethod(int access, String name, String descriptor, String signature, String[] exceptions) {
                MethodVisitor next = super.visitMethod(access, name, descriptor, signature, exceptions);
                Sites found = sites.get(name + descriptor);
                return found == null || !found.any() ? next : found.rewriter(next, creator);
            }
        }, 0);
        return writer.toByteArray();
    }

    /**
     * A known subclass factory ({@link #SUBCLASS_FACTORIES}): before each return of its factory
     * method, the bridge gets the unstarted thread, the factory and the task, and what it answers is
     * returned ({@code FiberBridge.atNewPlatformThread}, as for the JDK's default factory). Nothing
     * branches, so the method's stack map frames stay valid; the stack grows by two.
     */
    static byte[] rewriteFactory(ClassReader reader, String method) {
        ClassWriter writer = new ClassWriter(reader, 0);
        boolean[] found = {false};
        reader.accept(new ClassVisitor(Opcodes.ASM9, writer) {
            @Override
            public MethodVisitor visitMethod(int access, String name, String descriptor, String signature, String[] exceptions) {
                MethodVisitor next = super.visitMethod(access, name, descriptor, signature, exceptions);
                if (!(name + descriptor).equals(method) || (access & Opcodes.ACC_STATIC) != 0) {
                    return next;
                }
                found[0] = true;
                return new MethodVisitor(Opcodes.ASM9, next) {
                    @Override
                    public void visitInsn(int opcode) {
                        if (opcode == Opcodes.ARETURN) {
                            super.visitVarInsn(Opcodes.ALOAD, 0);
                            super.visitVarInsn(Opcodes.ALOAD, 1);
                            super.visitMethodInsn(Opcodes.INVOKESTATIC, BRIDGE, "atNewPlatformThread",
                                    "(Ljava/lang/Thread;Ljava/lang/Object;Ljava/lang/Runnable;)Ljava/lang/Thread;", false);
                        }
                        super.visitInsn(opcode);
                    }

                    @Override
                    public void visitMaxs(int maxStack, int maxLocals) {
                        super.visitMaxs(maxStack + 2, maxLocals);
                    }
                };
            }
        }, 0);
        return found[0] ? writer.toByteArray() : null;
    }

    /** Whether {@code bytes} hold {@code name} anywhere: a class that never names it has nothing to rewrite. */
    private static boolean names(byte[] bytes, byte[] name) {
        outer:
        for (int i = 0, last = bytes.length - name.length; i <= last; i++) {
            for (int j = 0; j < name.length; j++) {
                if (bytes[i + j] != name[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }

    /**
     * One method's sites, by the position of each instruction in the order ASM visits them (the same
     * in both passes): the {@code NEW}s and {@code DUP}s to drop and the constructor calls to replace,
     * and the daemon-flag calls.
     */
    private static final class Sites {
        /** What the first pass saw at each position: a kind and, for a constructor call, its owner and descriptor. */
        private final List<String> tokens = new ArrayList<>();
        private final BitSet drop = new BitSet();
        private final Map<Integer, String> constructors = new HashMap<>();
        private final BitSet daemonCalls = new BitSet();

        /** Whether an invokedynamic (a lambda's {@code Thread::new}) takes a constructor of java.lang.Thread. */
        private boolean references;

        boolean any() {
            return !constructors.isEmpty() || !daemonCalls.isEmpty() || references;
        }

        private static final String NEW_THREAD = "new-thread";
        private static final String NEW = "new";
        private static final String DUP = "dup";
        private static final String INIT = "init ";
        private static final String BRANCH = "branch";
        private static final String FRAME = "frame";
        private static final String OTHER = "-";

        MethodVisitor scanner() {
            return new Positions(null) {
                @Override
                void at(int position, int opcode, String owner, String name, String descriptor) {
                    if (opcode == Opcodes.NEW) {
                        tokens.add(THREAD.equals(owner) ? NEW_THREAD : NEW);
                    } else if (opcode == Opcodes.DUP) {
                        tokens.add(DUP);
                    } else if (opcode == Opcodes.INVOKESPECIAL && "<init>".equals(name)) {
                        tokens.add(INIT + owner + " " + descriptor);
                    } else if (opcode == Opcodes.INVOKEVIRTUAL && THREAD.equals(owner)
                            && ("setDaemon".equals(name) && "(Z)V".equals(descriptor) || "isDaemon".equals(name) && "()Z".equals(descriptor))) {
                        daemonCalls.set(position);
                        tokens.add(OTHER);
                    } else if (opcode == BRANCH_OPCODE) {
                        tokens.add(BRANCH);
                    } else {
                        tokens.add(OTHER);
                    }
                }

                @Override
                void frame() {
                    tokens.add(FRAME);
                }

                @Override
                Object[] bootstrapArguments(Object[] arguments) {
                    for (Object a : arguments) {
                        references |= reference(a) != null;
                    }
                    return arguments;
                }

                @Override
                public void visitEnd() {
                    match();
                }
            };
        }

        /** Pairs each {@code NEW java/lang/Thread; DUP} with its constructor call, where nothing in between forbids it. */
        private void match() {
            for (int i = 0; i < tokens.size(); i++) {
                if (!tokens.get(i).equals(NEW_THREAD) || i + 1 >= tokens.size() || !tokens.get(i + 1).equals(DUP)) {
                    continue;
                }
                int depth = 0;
                for (int j = i + 2; j < tokens.size(); j++) {
                    String t = tokens.get(j);
                    if (t.equals(FRAME) || t.equals(BRANCH)) {
                        break;
                    }
                    if (t.equals(NEW) || t.equals(NEW_THREAD)) {
                        depth++;
                    } else if (t.startsWith(INIT)) {
                        if (depth > 0) {
                            depth--;
                            continue;
                        }
                        String[] call = t.substring(INIT.length()).split(" ");
                        if (call[0].equals(THREAD) && CONSTRUCTORS.contains(call[1])) {
                            drop.set(i);
                            drop.set(i + 1);
                            constructors.put(frameless(j), call[1]);
                        }
                        break;
                    }
                }
            }
        }

        /** The instruction position of token {@code index} (frames are tokens, not instructions). */
        private int frameless(int index) {
            int position = 0;
            for (int k = 0; k < index; k++) {
                if (!tokens.get(k).equals(FRAME)) {
                    position++;
                }
            }
            return position;
        }

        MethodVisitor rewriter(MethodVisitor next, String creator) {
            // drop holds token indices; turn them into instruction positions once.
            BitSet dropAt = new BitSet();
            drop.stream().forEach(i -> dropAt.set(frameless(i)));
            return new Positions(next) {
                @Override
                boolean replace(int position, int opcode, String owner, String name, String descriptor) {
                    if (dropAt.get(position)) {
                        return true;
                    }
                    String constructor = constructors.get(position);
                    if (constructor != null) {
                        mv.visitLdcInsn(creator);
                        String args = constructor.substring(0, constructor.indexOf(')'));
                        mv.visitMethodInsn(Opcodes.INVOKESTATIC, BRIDGE, "newThread", args + "Ljava/lang/String;)Ljava/lang/Thread;", false);
                        return true;
                    }
                    if (daemonCalls.get(position)) {
                        if (name.equals("setDaemon")) {
                            mv.visitMethodInsn(Opcodes.INVOKESTATIC, BRIDGE, "setDaemon", "(Ljava/lang/Thread;Z)V", false);
                        } else {
                            mv.visitMethodInsn(Opcodes.INVOKESTATIC, BRIDGE, "isDaemon", "(Ljava/lang/Thread;)Z", false);
                        }
                        return true;
                    }
                    return false;
                }

                @Override
                Object[] bootstrapArguments(Object[] arguments) {
                    Object[] out = arguments.clone();
                    for (int i = 0; i < out.length; i++) {
                        Handle replaced = reference(out[i]);
                        out[i] = replaced != null ? replaced : out[i];
                    }
                    return out;
                }
            };
        }
    }

    /**
     * For a method handle constant of one of java.lang.Thread's public constructors ({@code Thread::new}
     * in a lambda's bootstrap arguments): the bridge's {@code newThreadByReference} with its parameters,
     * which returns the thread as the constructor's handle would. Null for anything else.
     */
    static Handle reference(Object constant) {
        if (constant instanceof Handle h && h.getTag() == Opcodes.H_NEWINVOKESPECIAL && h.getOwner().equals(THREAD)
                && h.getName().equals("<init>") && CONSTRUCTORS.contains(h.getDesc())) {
            String args = h.getDesc().substring(0, h.getDesc().indexOf(')'));
            return new Handle(Opcodes.H_INVOKESTATIC, BRIDGE, "newThreadByReference", args + ")Ljava/lang/Thread;", false);
        }
        return null;
    }

    /** Stands for jumps and switches in {@link Positions#at}. */
    private static final int BRANCH_OPCODE = -1;

    /**
     * Numbers a method's instructions in visiting order and hands each to {@link #at} (the scan) or
     * {@link #replace} (the rewrite: true when it wrote something in its place); frames go to {@link #frame}.
     */
    private abstract static class Positions extends MethodVisitor {
        private int position;

        Positions(MethodVisitor next) {
            super(Opcodes.ASM9, next);
        }

        void at(int position, int opcode, String owner, String name, String descriptor) { }

        boolean replace(int position, int opcode, String owner, String name, String descriptor) {
            return false;
        }

        void frame() { }

        /** True when the instruction is replaced and must not be passed on. */
        private boolean next(int opcode, String owner, String name, String descriptor) {
            int at = position++;
            at(at, opcode, owner, name, descriptor);
            return replace(at, opcode, owner, name, descriptor);
        }

        @Override
        public void visitFrame(int type, int numLocal, Object[] local, int numStack, Object[] stack) {
            frame();
            super.visitFrame(type, numLocal, local, numStack, stack);
        }

        @Override
        public void visitInsn(int opcode) {
            if (!next(opcode, null, null, null)) {
                super.visitInsn(opcode);
            }
        }

        @Override
        public void visitIntInsn(int opcode, int operand) {
            if (!next(opcode, null, null, null)) {
                super.visitIntInsn(opcode, operand);
            }
        }

        @Override
        public void visitVarInsn(int opcode, int varIndex) {
            if (!next(opcode, null, null, null)) {
                super.visitVarInsn(opcode, varIndex);
            }
        }

        @Override
        public void visitTypeInsn(int opcode, String type) {
            if (!next(opcode, type, null, null)) {
                super.visitTypeInsn(opcode, type);
            }
        }

        @Override
        public void visitFieldInsn(int opcode, String owner, String name, String descriptor) {
            if (!next(opcode, null, null, null)) {
                super.visitFieldInsn(opcode, owner, name, descriptor);
            }
        }

        @Override
        public void visitMethodInsn(int opcode, String owner, String name, String descriptor, boolean isInterface) {
            if (!next(opcode, owner, name, descriptor)) {
                super.visitMethodInsn(opcode, owner, name, descriptor, isInterface);
            }
        }

        @Override
        public void visitInvokeDynamicInsn(String name, String descriptor, Handle bootstrap, Object... arguments) {
            if (!next(Opcodes.INVOKEDYNAMIC, null, null, null)) {
                super.visitInvokeDynamicInsn(name, descriptor, bootstrap, bootstrapArguments(arguments));
            }
        }

        /** An invokedynamic's bootstrap arguments, as they are to be written. */
        Object[] bootstrapArguments(Object[] arguments) {
            return arguments;
        }

        @Override
        public void visitJumpInsn(int opcode, Label label) {
            if (!next(BRANCH_OPCODE, null, null, null)) {
                super.visitJumpInsn(opcode, label);
            }
        }

        @Override
        public void visitLdcInsn(Object value) {
            if (!next(Opcodes.LDC, null, null, null)) {
                super.visitLdcInsn(value);
            }
        }

        @Override
        public void visitIincInsn(int varIndex, int increment) {
            if (!next(Opcodes.IINC, null, null, null)) {
                super.visitIincInsn(varIndex, increment);
            }
        }

        @Override
        public void visitTableSwitchInsn(int min, int max, Label dflt, Label... labels) {
            if (!next(BRANCH_OPCODE, null, null, null)) {
                super.visitTableSwitchInsn(min, max, dflt, labels);
            }
        }

        @Override
        public void visitLookupSwitchInsn(Label dflt, int[] keys, Label[] labels) {
            if (!next(BRANCH_OPCODE, null, null, null)) {
                super.visitLookupSwitchInsn(dflt, keys, labels);
            }
        }

        @Override
        public void visitMultiANewArrayInsn(String descriptor, int numDimensions) {
            if (!next(Opcodes.MULTIANEWARRAY, null, null, null)) {
                super.visitMultiANewArrayInsn(descriptor, numDimensions);
            }
        }
    }
}
