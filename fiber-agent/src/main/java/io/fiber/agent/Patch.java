package io.fiber.agent;

import io.fiber.internal.bridge.FiberBridge;
import org.objectweb.asm.Type;

import java.lang.invoke.MethodType;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.List;

/**
 * One patched method: {@code owner.method descriptor}, and the call to a static method of
 * {@link FiberBridge} inserted at its entry (and, for some, before each of its returns). What the
 * entry call returns decides what follows it ({@link Then}). The bridge method's descriptor follows
 * from the operands and {@code then}, and {@link #check} finds it, so a table entry cannot name a
 * bridge method that does not exist. {@link ClassPatcher} writes the bytecode.
 *
 * @param entry  the bridge method called at entry, or null for none ({@link #filterReturn})
 * @param then   what the method does with what {@code entry} returned
 * @param skipValue  for {@link Then#RETURN_IF_TRUE} on an {@code int} method, the value it then returns; for
 *                   {@link Then#RETURN_UNLESS}, the bridge's result that lets the body run
 * @param exit   the bridge method called before each return, or null; after {@link Then#KEEP} also
 *               when the method throws
 */
record Patch(String owner, String method, String descriptor, String entry, List<Operand> entryOperands, Then then,
             int skipValue, String exit, List<Operand> exitOperands) {

    /** What follows the entry call. */
    enum Then {
        /** The bridge method returns nothing; the method's own body follows. */
        CONTINUE,
        /** The bridge method returns a boolean; true returns at once (nothing, or {@code skipValue}). */
        RETURN_IF_TRUE,
        /** The bridge method returns the method's own return type; a non-null result is returned at once. */
        RETURN_IF_NONNULL,
        /** The bridge method returns the ({@code int}) method's result, which is returned at once unless it is {@code skipValue}. */
        RETURN_UNLESS,
        /** The bridge method returns a boolean, kept for {@code exit}, which then runs on every return and throw. */
        KEEP
    }

    /** A value passed to a bridge method. */
    sealed interface Operand {
        /** The patched method's argument {@code index} (0 is its first declared parameter). */
        record Arg(int index) implements Operand { }

        /** {@code this}, or null in a static method. */
        record Receiver() implements Operand { }

        /** A String or int constant. */
        record Constant(Object value) implements Operand { }

        /** A field of {@code this}, declared by the patched class. */
        record ThisField(String name, String descriptor) implements Operand { }

        /** The value being returned; only as an exit's first operand, and the exit returns it (or another) in its place. */
        record Returned() implements Operand { }

        /** What the entry call returned, with {@link Then#KEEP}. */
        record Kept() implements Operand { }

        /**
         * What a static method the patched class declares returns for its argument {@code index}:
         * the JDK's own accessor where ours would cost more (a JNI call for an fd number, say).
         */
        record OwnStatic(String name, String descriptor, int index) implements Operand { }
    }

    static Operand arg(int index) {
        return new Operand.Arg(index);
    }

    static Operand receiver() {
        return new Operand.Receiver();
    }

    static Operand constant(Object value) {
        return new Operand.Constant(value);
    }

    static Operand thisField(String name, String descriptor) {
        return new Operand.ThisField(name, descriptor);
    }

    static Operand returned() {
        return new Operand.Returned();
    }

    static Operand kept() {
        return new Operand.Kept();
    }

    static Operand ownStatic(String name, String descriptor, int index) {
        return new Operand.OwnStatic(name, descriptor, index);
    }

    Patch {
        entryOperands = List.copyOf(entryOperands);
        exitOperands = exitOperands == null ? List.of() : List.copyOf(exitOperands);
    }

    /** Calls {@code entry} at the method's entry, which returns nothing. */
    static Patch call(String owner, String method, String descriptor, String entry, Operand... operands) {
        return new Patch(owner, method, descriptor, entry, List.of(operands), Then.CONTINUE, 0, null, null);
    }

    /** Calls {@code entry}; when it returns true, the (void) method returns at once. */
    static Patch returnIfTrue(String owner, String method, String descriptor, String entry, Operand... operands) {
        return new Patch(owner, method, descriptor, entry, List.of(operands), Then.RETURN_IF_TRUE, 0, null, null);
    }

    /** Calls {@code entry}; when it returns true, the ({@code int}) method returns {@code value} at once. */
    static Patch returnIfTrue(String owner, String method, String descriptor, int value, String entry, Operand... operands) {
        return new Patch(owner, method, descriptor, entry, List.of(operands), Then.RETURN_IF_TRUE, value, null, null);
    }

    /** Calls {@code entry}; unless it returns {@code bodyValue}, the ({@code int}) method returns what it returned at once. */
    static Patch returnUnless(String owner, String method, String descriptor, int bodyValue, String entry, Operand... operands) {
        return new Patch(owner, method, descriptor, entry, List.of(operands), Then.RETURN_UNLESS, bodyValue, null, null);
    }

    /** Calls {@code entry}; when it returns non-null, the method returns that at once. */
    static Patch returnIfNonNull(String owner, String method, String descriptor, String entry, Operand... operands) {
        return new Patch(owner, method, descriptor, entry, List.of(operands), Then.RETURN_IF_NONNULL, 0, null, null);
    }

    /**
     * Calls {@code exit} before each return, with the returned value as its first operand, and
     * returns what it returns instead; nothing at entry.
     */
    static Patch filterReturn(String owner, String method, String descriptor, String exit, Operand... operands) {
        return new Patch(owner, method, descriptor, null, List.of(), Then.CONTINUE, 0, exit, List.of(operands));
    }

    /** Calls {@code entry}, keeping its boolean for an exit call that runs on every return and throw ({@link #atExit}). */
    static Patch keep(String owner, String method, String descriptor, String entry, Operand... operands) {
        return new Patch(owner, method, descriptor, entry, List.of(operands), Then.KEEP, 0, null, null);
    }

    /** This patch, with {@code exit} called before each return (and each throw, after {@link #keep}). */
    Patch atExit(String exitMethod, Operand... operands) {
        return new Patch(owner, method, descriptor, entry, entryOperands, then, skipValue, exitMethod, List.of(operands));
    }

    String internalOwner() {
        return owner.replace('.', '/');
    }

    /** The patched method's name and descriptor: unique within its class. */
    String methodKey() {
        return method + descriptor;
    }

    /** The descriptor of the bridge method called at entry. */
    String entryDescriptor() {
        String returns = switch (then) {
            case CONTINUE -> "V";
            case RETURN_IF_TRUE, KEEP -> "Z";
            case RETURN_IF_NONNULL, RETURN_UNLESS -> Type.getReturnType(descriptor).getDescriptor();
        };
        return descriptorOf(entryOperands, returns);
    }

    /** The descriptor of the bridge method called at exit: it returns the method's type when it takes the returned value. */
    String exitDescriptor() {
        boolean filters = !exitOperands.isEmpty() && exitOperands.getFirst() instanceof Operand.Returned;
        return descriptorOf(exitOperands, filters ? Type.getReturnType(descriptor).getDescriptor() : "V");
    }

    /** The type an operand passes. */
    Type typeOf(Operand operand) {
        return switch (operand) {
            case Operand.Arg a -> Type.getArgumentTypes(descriptor)[a.index()];
            case Operand.Receiver r -> Type.getType(Object.class);
            case Operand.Constant c -> c.value() instanceof String ? Type.getType(String.class) : Type.INT_TYPE;
            case Operand.ThisField f -> Type.getType(f.descriptor());
            case Operand.Returned r -> Type.getReturnType(descriptor);
            case Operand.Kept k -> Type.BOOLEAN_TYPE;
            case Operand.OwnStatic o -> Type.getReturnType(o.descriptor());
        };
    }

    private String descriptorOf(List<Operand> operands, String returns) {
        StringBuilder d = new StringBuilder("(");
        for (Operand operand : operands) {
            d.append(typeOf(operand).getDescriptor());
        }
        return d.append(')').append(returns).toString();
    }

    /**
     * Checks this patch against the loaded {@code ownerClass}: the patched method is there, the
     * operands fit, and the bridge methods exist. Throws naming what is wrong: a table mistake or a
     * JDK that changed a field must stop the agent, not write code that fails at run time.
     */
    void check(Class<?> ownerClass) {
        Method target = JdkPatches.declared(ownerClass, method, descriptor);
        if (target == null) {
            throw new IllegalStateException(ownerClass.getName() + " has no method " + method + descriptor + " to patch");
        }
        boolean isStatic = Modifier.isStatic(target.getModifiers());
        Type returnType = Type.getReturnType(descriptor);
        if (then == Then.RETURN_IF_TRUE && returnType.getSort() != Type.VOID && returnType.getSort() != Type.INT) {
            throw new IllegalStateException(this + ": a skipped method must return void or int");
        }
        if (then == Then.RETURN_UNLESS && returnType.getSort() != Type.INT) {
            throw new IllegalStateException(this + ": only a method returning an int can return the bridge's result unless it is a value");
        }
        if (then == Then.RETURN_IF_NONNULL && returnType.getSort() != Type.OBJECT) {
            throw new IllegalStateException(this + ": only a method returning an object can return the bridge's result");
        }
        if ((then == Then.KEEP) != (exit != null && exitOperands.contains(kept()))) {
            throw new IllegalStateException(this + ": a kept entry result goes to the exit call, and only it");
        }
        checkOperands(ownerClass, isStatic, entryOperands);
        checkOperands(ownerClass, isStatic, exitOperands);
        for (int i = 1; i < exitOperands.size(); i++) {
            if (exitOperands.get(i) instanceof Operand.Returned) {
                throw new IllegalStateException(this + ": the returned value can only be the exit's first operand");
            }
        }
        if (entry != null) {
            bridgeMethod(entry, entryDescriptor());
        } else if (exit == null || exitOperands.isEmpty() || !(exitOperands.getFirst() instanceof Operand.Returned)) {
            throw new IllegalStateException(this + ": a patch without an entry call filters what the method returns");
        }
        if (exit != null) {
            bridgeMethod(exit, exitDescriptor());
        }
    }

    private void checkOperands(Class<?> ownerClass, boolean isStatic, List<Operand> operands) {
        for (Operand operand : operands) {
            switch (operand) {
                case Operand.Arg a when a.index() < 0 || a.index() >= Type.getArgumentTypes(descriptor).length ->
                        throw new IllegalStateException(this + " has no argument " + a.index());
                case Operand.ThisField f -> {
                    Field field;
                    try {
                        field = ownerClass.getDeclaredField(f.name());
                    } catch (NoSuchFieldException e) {
                        throw new IllegalStateException("this JDK (" + Runtime.version() + ") has no field " + owner + "." + f.name()
                                + ", which the agent reads; this agent supports JDK 25", e);
                    }
                    if (isStatic || Modifier.isStatic(field.getModifiers()) || !Type.getDescriptor(field.getType()).equals(f.descriptor())) {
                        throw new IllegalStateException(this + ": field " + f.name() + " is not an instance field of type " + f.descriptor());
                    }
                }
                case Operand.OwnStatic o -> checkOwnStatic(ownerClass, o);
                case Operand.Returned r when returnType().getSort() == Type.VOID ->
                        throw new IllegalStateException(this + " returns nothing to pass on");
                case Operand.Constant c when !(c.value() instanceof String || c.value() instanceof Integer) ->
                        throw new IllegalStateException(this + ": constant " + c.value() + " is neither a String nor an int");
                default -> { }
            }
        }
    }

    private void checkOwnStatic(Class<?> ownerClass, Operand.OwnStatic o) {
        Type[] args = Type.getArgumentTypes(descriptor);
        if (o.index() < 0 || o.index() >= args.length) {
            throw new IllegalStateException(this + " has no argument " + o.index());
        }
        Method m = JdkPatches.declared(ownerClass, o.name(), o.descriptor());
        if (m == null || !Modifier.isStatic(m.getModifiers())) {
            throw new IllegalStateException("this JDK (" + Runtime.version() + ") has no static " + owner + "." + o.name()
                    + o.descriptor() + ", which the agent calls; this agent supports JDK 25");
        }
        Type[] params = Type.getArgumentTypes(o.descriptor());
        if (params.length != 1 || !params[0].equals(args[o.index()])) {
            throw new IllegalStateException(this + ": " + o.name() + o.descriptor() + " does not take argument " + o.index());
        }
    }

    private Type returnType() {
        return Type.getReturnType(descriptor);
    }

    private static void bridgeMethod(String name, String descriptor) {
        for (Method m : FiberBridge.class.getDeclaredMethods()) {
            if (m.getName().equals(name) && Modifier.isStatic(m.getModifiers()) && Modifier.isPublic(m.getModifiers())
                    && MethodType.methodType(m.getReturnType(), m.getParameterTypes()).toMethodDescriptorString().equals(descriptor)) {
                return;
            }
        }
        throw new IllegalStateException("the bridge has no public static " + name + descriptor
                + "; the agent jar and the bridge it defined must come from one build");
    }

    @Override
    public String toString() {
        return owner + "." + method + descriptor;
    }
}
