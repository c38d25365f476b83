package io.fiber.examples;

import com.sun.net.httpserver.HttpServer;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.apache.catalina.Context;
import org.apache.catalina.connector.Connector;
import org.apache.catalina.startup.Tomcat;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.util.thread.ThreadPool;
import org.eclipse.jetty.util.thread.VirtualThreadPool;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.concurrent.ExecutorService;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.concurrent.Executors;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * An unmodified server, in its virtual-thread mode or on platform threads (which the agent's
 * {@code threads=fibers} makes fibers), whose every request waits on a downstream service,
 * started in a child JVM by {@link VirtualThreadServersAtScaleTest}, with and without the agent. It is
 * written as its users write it and references no class of the fiber runtime.
 *
 * <p>Arguments: {@code plain|jetty|tomcat|jdk|classic|jetty-pool|jdk-pool|h2 DELAY_PORT CONNECTIONS DIR}, DIR being Tomcat's
 * (and H2's) base directory. Each request {@code GET /?n=N} (for H2, the query {@code SELECT DOWNSTREAM(N)}
 * on a JDBC connection) opens a socket to the {@link DelayServer} at DELAY_PORT on
 * loopback, sends N, waits for its answer (100 ms later), and answers
 * {@code n=N downstream=ANSWER thread=THREAD}, THREAD being the request's
 * {@code Thread.currentThread()} (a virtual thread's string names its carrier after '@'). CONNECTIONS is the
 * number of connections the test opens at once; each server's limits are raised to it, as its users
 * would for such a load. When it listens it prints {@code port N}; when its standard input ends it
 * stops the server, prints {@code stopped} and exits with status 0.
 */
public final class AtScaleServer {
    private AtScaleServer() { }

    private record Started(int port, AutoCloseable stop) { }

    /**
     * Tomcat logs through java.util.logging; its INFO lines say nothing the test checks. Held here, as
     * a logger's level lasts only as long as the logger.
     */
    private static final Logger TOMCAT_LOG = Logger.getLogger("org.apache");
    /**
     * At stop, Tomcat warns that its ThreadLocal and RMI leak detection need {@code --add-opens}
     * options: a web application's leaks, and this server has no web application to leak.
     */
    private static final Logger LEAK_CHECK_LOG = Logger.getLogger("org.apache.catalina.loader.WebappClassLoaderBase");

    public static void main(String[] args) throws Exception {
        String kind = args[0];
        int delayPort = Integer.parseInt(args[1]);
        int connections = Integer.parseInt(args[2]);
        Started server = switch (kind) {
            case "plain" -> plain(delayPort, connections);
            case "jetty" -> jetty(delayPort, connections);
            case "tomcat" -> tomcat(delayPort, connections, java.nio.file.Path.of(args[3]), true);
            case "tomcat-pool" -> tomcat(delayPort, connections, java.nio.file.Path.of(args[3]), false);
            case "jdk" -> jdk(delayPort, connections);
            case "classic" -> classic(delayPort, connections);
            case "jetty-pool" -> jettyPool(delayPort, connections);
            case "jdk-pool" -> jdkPool(delayPort, connections);
            case "h2" -> h2(delayPort, connections, java.nio.file.Path.of(args[3]));
            default -> throw new IllegalArgumentException("unknown server " + kind);
        };
        System.out.println("port " + server.port());
        System.out.flush();
        System.in.transferTo(OutputStream.nullOutputStream());
        server.stop().close();
        System.out.println("stopped");
        System.out.flush();
        System.exit(0);
    }

    /** The request's work: a call to the downstream service, then the answer naming the thread that ran it. */
    static byte[] answer(String n, int delayPort) throws IOException {
        String downstream;
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), delayPort)) {
            socket.getOutputStream().write((n + "\n").getBytes(StandardCharsets.US_ASCII));
            downstream = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII)).readLine();
        }
        return ("n=" + n + " downstream=" + downstream + " thread=" + Thread.currentThread() + "\n").getBytes(StandardCharsets.UTF_8);
    }

    /** A classic accept loop on a platform thread, a {@code Thread.ofVirtual()} thread per connection speaking just enough HTTP/1.1. */
    private static Started plain(int delayPort, int connections) throws IOException {
        return acceptLoop(connections, loop -> Thread.ofPlatform().name("accept-loop").daemon().unstarted(loop),
                socket -> Thread.ofVirtual().start(() -> serve(socket, delayPort)));
    }

    /**
     * The thread-per-connection server as it was written before virtual threads: an accept loop on a
     * {@code new Thread}, and a {@code new Thread} per connection. Platform threads without the agent;
     * fibers under it with {@code threads=fibers}.
     */
    private static Started classic(int delayPort, int connections) throws IOException {
        return acceptLoop(connections, loop -> {
            Thread acceptor = new Thread(loop, "accept-loop");
            acceptor.setDaemon(true);
            return acceptor;
        }, socket -> new Thread(() -> serve(socket, delayPort)).start());
    }

    /**
     * A listener with a backlog of {@code connections} and an accept loop on the thread {@code acceptorThread}
     * makes for it, which hands each connection to {@code handOff} (which starts the connection's thread).
     */
    private static Started acceptLoop(int connections, Function<Runnable, Thread> acceptorThread, Consumer<Socket> handOff)
            throws IOException {
        ServerSocket listener = new ServerSocket(0, connections, InetAddress.getLoopbackAddress());
        Thread acceptor = acceptorThread.apply(() -> {
            while (true) {
                Socket socket;
                try {
                    socket = listener.accept();
                } catch (IOException closed) {
                    return;
                }
                handOff.accept(socket);
            }
        });
        acceptor.start();
        return new Started(listener.getLocalPort(), () -> {
            listener.close();
            acceptor.join(5_000);
        });
    }

    /**
     * The connection's requests, one after another, as a thread-per-connection server serves them:
     * until the client closes or asks to ({@code Connection: close}), the thread waits for its
     * next request (a kept-alive connection holds its thread while idle).
     */
    private static void serve(Socket socket, int delayPort) {
        try (socket) {
            BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII));
            OutputStream out = socket.getOutputStream();
            for (String requestLine = in.readLine(); requestLine != null; requestLine = in.readLine()) { // GET /?n=N HTTP/1.1
                boolean close = false;
                for (String header = in.readLine(); header != null && !header.isEmpty(); header = in.readLine()) {
                    close |= header.regionMatches(true, 0, "Connection:", 0, 11) && header.substring(11).trim().equalsIgnoreCase("close");
                }
                String target = requestLine.split(" ")[1];
                byte[] body = answer(target.substring(target.indexOf("n=") + 2), delayPort);
                out.write(("HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " + body.length
                        + (close ? "\r\nConnection: close" : "") + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                out.write(body);
                out.flush();
                if (close) {
                    return;
                }
            }
        } catch (IOException e) {
            System.err.println("connection failed: " + e);
        }
    }

    /**
     * Jetty 12 with a {@link VirtualThreadPool} as the server's thread pool: its acceptor, selectors
     * and blocking handlers all run on virtual threads. Its 200 virtual threads at most (a thread per
     * request waiting downstream, plus the acceptor and selectors) and the connector's accept queue
     * are raised to the connections.
     */
    private static Started jetty(int delayPort, int connections) throws Exception {
        VirtualThreadPool threadPool = new VirtualThreadPool();
        threadPool.setMaxThreads(connections + 100);
        return jetty(threadPool, delayPort, connections);
    }

    private static Started jetty(ThreadPool threadPool, int delayPort, int connections) throws Exception {
        Server server = new Server(threadPool);
        ServerConnector connector = new ServerConnector(server);
        connector.setHost("127.0.0.1");
        connector.setPort(0);
        connector.setAcceptQueueSize(connections);
        server.addConnector(connector);
        server.setHandler(new Handler.Abstract() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) throws Exception {
                byte[] body = answer(Request.extractQueryParameters(request).getValue("n"), delayPort);
                response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/plain; charset=utf-8");
                response.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.length);
                response.write(true, java.nio.ByteBuffer.wrap(body), callback);
                return true;
            }
        });
        server.start();
        return new Started(connector.getLocalPort(), server::stop);
    }

    /**
     * Jetty 12 with its default {@link QueuedThreadPool}, whose maximum (200) is raised to the
     * connections, as its users raise it for such a load: platform threads without the agent, fibers
     * under it with {@code threads=fibers} (the pool makes them with {@code new Thread}).
     */
    private static Started jettyPool(int delayPort, int connections) throws Exception {
        QueuedThreadPool threadPool = new QueuedThreadPool(connections + 100);
        return jetty(threadPool, delayPort, connections);
    }

    /**
     * Tomcat 11 embedded, its NIO connector with {@code useVirtualThreads=true}, or (not
     * {@code virtualThreads}) on its default executor, whose {@code maxThreads} (200) is raised to the
     * connections as its users raise it: platform threads without the agent ({@code TaskThread}s of
     * its {@code TaskThreadFactory}), fibers under it with {@code threads=fibers}. maxConnections
     * (8192) and acceptCount (100) raised.
     */
    private static Started tomcat(int delayPort, int connections, java.nio.file.Path dir, boolean virtualThreads) throws Exception {
        TOMCAT_LOG.setLevel(Level.WARNING);
        LEAK_CHECK_LOG.setLevel(Level.SEVERE);
        Tomcat tomcat = new Tomcat();
        tomcat.setBaseDir(dir.toString());
        Connector connector = new Connector();
        connector.setPort(0);
        connector.setProperty("address", "127.0.0.1");
        if (virtualThreads) {
            connector.setProperty("useVirtualThreads", "true");
        } else {
            connector.setProperty("maxThreads", String.valueOf(connections + 100));
        }
        connector.setProperty("maxConnections", String.valueOf(connections));
        connector.setProperty("acceptCount", String.valueOf(connections));
        tomcat.setConnector(connector);
        Context context = tomcat.addContext("", null);
        Tomcat.addServlet(context, "downstream", new HttpServlet() {
            private static final long serialVersionUID = 1L;

            @Override
            protected void doGet(HttpServletRequest request, HttpServletResponse response) throws IOException {
                byte[] body = answer(request.getParameter("n"), delayPort);
                response.setContentType("text/plain; charset=utf-8");
                response.setContentLength(body.length);
                try (OutputStream out = response.getOutputStream()) {
                    out.write(body);
                }
            }
        });
        context.addServletMappingDecoded("/*", "downstream");
        tomcat.start();
        return new Started(connector.getLocalPort(), () -> {
            tomcat.stop();
            tomcat.destroy();
        });
    }

    /** The JDK's {@code com.sun.net.httpserver.HttpServer}, its exchanges on {@code Executors.newVirtualThreadPerTaskExecutor()}, its backlog raised. */
    private static Started jdk(int delayPort, int connections) throws IOException {
        return jdk(Executors.newVirtualThreadPerTaskExecutor(), delayPort, connections);
    }

    /**
     * The JDK's {@code HttpServer} on {@code Executors.newCachedThreadPool()}, the pool its users
     * reached for before virtual threads: platform threads without the agent, fibers under it with
     * {@code threads=fibers} (the pool's default thread factory makes them).
     */
    private static Started jdkPool(int delayPort, int connections) throws IOException {
        return jdk(Executors.newCachedThreadPool(), delayPort, connections);
    }

    private static Started jdk(ExecutorService executor, int delayPort, int connections) throws IOException {
        // Kept-alive connections past 200 idle ones would be closed (the benchmark holds thousands).
        System.setProperty("sun.net.httpserver.maxIdleConnections", String.valueOf(connections));
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), connections);
        server.setExecutor(executor);
        server.createContext("/", exchange -> {
            String query = exchange.getRequestURI().getQuery();
            byte[] body = answer(query.substring(query.indexOf("n=") + 2), delayPort);
            exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
        return new Started(server.getAddress().getPort(), () -> {
            server.stop(0);
            executor.close();
        });
    }

    /** The delay server's port, for {@link #downstream}, which H2 calls with the query's argument only. */
    private static volatile int downstreamPort;

    /**
     * H2's TCP server as its users start it before virtual threads: {@code Server.createTcpServer},
     * whose listener is a {@code new Thread} (H2's {@code Server.start}) and which starts a {@code new
     * Thread} per connection (its {@code -tcpVirtualThreads} left off). Platform threads without the
     * agent; fibers under it with {@code threads=fibers}. Its one database is in memory,
     * {@code mem:atscale}, made here by a first connection, which registers {@link #downstream} as the
     * SQL function {@code DOWNSTREAM}, as users register a Java function. It listens on loopback only
     * ({@code h2.bindAddress}). Its limit on transactions open at once, {@code h2.maxOpenTransactions}
     * (255 in H2 2.5.252; each query in progress holds one), is raised to the connections; its listen
     * backlog stays the JDK's default (50), which H2 has no option to raise. DIR is its base
     * directory, where an in-memory database writes nothing.
     */
    private static Started h2(int delayPort, int connections, java.nio.file.Path dir) throws Exception {
        downstreamPort = delayPort;
        System.setProperty("h2.bindAddress", "127.0.0.1");
        System.setProperty("h2.maxOpenTransactions", String.valueOf(connections + 100));
        org.h2.tools.Server server = org.h2.tools.Server.createTcpServer("-tcpPort", "0", "-ifNotExists",
                "-baseDir", dir.toString()).start();
        try (Connection c = DriverManager.getConnection("jdbc:h2:tcp://127.0.0.1:" + server.getPort()
                + "/mem:atscale;DB_CLOSE_DELAY=-1", "sa", ""); Statement s = c.createStatement()) {
            s.execute("CREATE ALIAS DOWNSTREAM FOR 'io.fiber.examples.AtScaleServer.downstream'");
        }
        return new Started(server.getPort(), server::stop);
    }

    /**
     * The SQL function {@code DOWNSTREAM(N)} of the {@code h2} server: the request's work, run by
     * H2 on the connection's thread, its answer {@code n=N downstream=ANSWER thread=THREAD} as a string.
     */
    public static String downstream(String n) throws IOException {
        return new String(answer(n, downstreamPort), StandardCharsets.UTF_8).stripTrailing();
    }
}
