package io.fiber.internal.management;

import io.fiber.internal.RuntimeLog;
import io.fiber.internal.time.DeadlineTimer;

import javax.management.InstanceNotFoundException;
import javax.management.JMException;
import javax.management.MBeanServer;
import javax.management.MBeanServerFactory;
import javax.management.MalformedObjectNameException;
import javax.management.ObjectName;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The runtime's MXBeans in the platform MBean server, registered without creating that server.
 * Creating it (the first {@link ManagementFactory#getPlatformMBeanServer()}) costs a JVM about half
 * a second and tens of megabytes, and the agent builds a scheduler in every program it runs, most of
 * which never use JMX: the JDK itself registers its virtual thread scheduler's MXBean only as part of
 * that server. So a bean offered before the server exists waits here, and a check once a
 * {@value #CHECK_MILLIS} ms, on the runtime's deadline timer and only while beans wait, registers
 * them once it exists: created by the program, by a JMX agent, or by {@code jconsole} or
 * {@code jcmd <pid> ManagementAgent.start} attaching. Until then, and a check later, the beans are
 * not visible; {@link #registerWaitingNow()} closes that gap for a caller that has just created the
 * server.
 *
 * <p>Names are {@code io.fiber:type=<type>,name=<name>}, the name quoted as JMX requires; a second
 * bean of the same type and name (two schedulers named alike) gets {@code name="<name> #2"}, and so
 * on, decided when it is offered so its name is known at once.
 */
public final class ManagementBeans {
    public static final String DOMAIN = "io.fiber";
    static final long CHECK_MILLIS = 1_000;
    private static final RuntimeLog log = RuntimeLog.of(ManagementBeans.class);
    /** Beans offered and not yet registered, by name; guarded by the class. */
    private static final Map<ObjectName, Object> waiting = new LinkedHashMap<>();
    /** Names of beans offered and not withdrawn, waiting or registered; guarded by the class. */
    private static final Set<ObjectName> taken = new HashSet<>();
    /**
     * Every bean offered and not withdrawn, waiting or registered, in the order offered; guarded by
     * the class. The live console lists the schedulers from here, so they need no registry of their own.
     */
    private static final Map<ObjectName, Object> offered = new LinkedHashMap<>();
    private static boolean checkScheduled;
    private static final ObjectName RUNTIME = objectName(ManagementFactory.RUNTIME_MXBEAN_NAME);

    private ManagementBeans() { }

    /** A bean's place: its name, and its withdrawal. */
    public static final class Registration {
        private final ObjectName name;

        private Registration(ObjectName name) {
            this.name = name;
        }

        public ObjectName name() {
            return name;
        }

        /** Withdraws the bean: unregistered, or no longer waiting. Idempotent. */
        public void withdraw() {
            MBeanServer server;
            synchronized (ManagementBeans.class) {
                offered.remove(name);
                if (!taken.remove(name) || waiting.remove(name) != null) {
                    return; // withdrawn already, or never registered
                }
                server = platformServerIfCreated();
            }
            if (server != null) {
                try {
                    server.unregisterMBean(name);
                } catch (InstanceNotFoundException alreadyGone) {
                    // unregistered by someone else: nothing left to do
                } catch (JMException e) {
                    log.warn("could not unregister MXBean {}: {}", name, e.toString());
                }
            }
        }

        @Override
        public String toString() {
            return name.toString();
        }
    }

    /** Offers {@code bean}, an MXBean, under {@code io.fiber:type=type,name=name} (or the first free {@code "name #n"}). */
    public static Registration offer(String type, String name, Object bean) {
        Registration registration;
        synchronized (ManagementBeans.class) {
            ObjectName objectName = objectName(type, name);
            for (int n = 2; taken.contains(objectName); n++) {
                objectName = objectName(type, name + " #" + n);
            }
            taken.add(objectName);
            waiting.put(objectName, bean);
            offered.put(objectName, bean);
            registration = new Registration(objectName);
        }
        registerWaitingNow();
        return registration;
    }

    /** The beans of {@code type} offered and not withdrawn, registered or still waiting, in the order offered. */
    public static List<Object> offered(String type) {
        List<Object> beans = new ArrayList<>();
        synchronized (ManagementBeans.class) {
            for (Map.Entry<ObjectName, Object> e : offered.entrySet()) {
                if (type.equals(e.getKey().getKeyProperty("type"))) {
                    beans.add(e.getValue());
                }
            }
        }
        return beans;
    }

    /**
     * Registers the waiting beans now if the platform MBean server exists, and otherwise makes sure a
     * later check will. Never creates the server.
     */
    public static void registerWaitingNow() {
        MBeanServer server = platformServerIfCreated();
        synchronized (ManagementBeans.class) {
            if (server != null) {
                for (Map.Entry<ObjectName, Object> e : waiting.entrySet()) {
                    register(server, e.getKey(), e.getValue());
                }
                waiting.clear();
            } else if (!waiting.isEmpty() && !checkScheduled) {
                checkScheduled = true;
                DeadlineTimer.schedule(ManagementBeans::check, Duration.ofMillis(CHECK_MILLIS));
            }
        }
    }

    private static void check() {
        synchronized (ManagementBeans.class) {
            checkScheduled = false;
        }
        registerWaitingNow();
    }

    private static void register(MBeanServer server, ObjectName name, Object bean) {
        try {
            server.registerMBean(bean, name);
        } catch (JMException e) {
            log.warn("could not register MXBean {}: {}", name, e.toString());
        }
    }

    /**
     * The platform MBean server if something created it, else null; never creates it. Told from a
     * server the program made itself by the platform's own beans, which only it has.
     */
    private static MBeanServer platformServerIfCreated() {
        for (MBeanServer server : MBeanServerFactory.findMBeanServer(null)) {
            if (server.isRegistered(RUNTIME)) {
                return server;
            }
        }
        return null;
    }

    private static ObjectName objectName(String type, String name) {
        return objectName(DOMAIN + ":type=" + type + ",name=" + ObjectName.quote(name));
    }

    private static ObjectName objectName(String name) {
        try {
            return new ObjectName(name);
        } catch (MalformedObjectNameException e) {
            throw new IllegalArgumentException("not a JMX name: " + name, e);
        }
    }
}
