package io.fiber.examples;

import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.apache.catalina.Context;
import org.apache.catalina.connector.Connector;
import org.apache.catalina.startup.Tomcat;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.util.thread.VirtualThreadPool;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.Writer;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * An unmodified server that runs its requests on JDK virtual threads, started in a child JVM by
 * {@link RealServersUnderAgentTest}, with and without the agent. It references no class of the fiber
 * runtime: under the agent, nothing of the runtime has run before the server's first virtual thread
 * reads a file, the case that once killed every such thread (the detector's check recursed into class loading).
 *
 * <p>Arguments: {@code jetty|tomcat|tomcat-pool|h2|plain FILE DIR}. The HTTP servers answer every request with
 * {@code n=N on a virtual thread: } (or {@code platform thread}) followed by FILE's content, read from
 * disk for that request; N is the request's query parameter {@code n}. H2's TCP server keeps its
 * databases in DIR; Tomcat keeps its work directory there. The plain server, one virtual thread per
 * connection, sends the same answer with {@code n=echo} when a connection opens, then echoes each
 * line it reads. FILE's content ends with a line break.
 *
 * <p>When it listens, it prints {@code port N} on standard output; it stops the server when its
 * standard input ends, prints where the fiber runtime's classes come from ({@code none} without the
 * agent), then {@code stopped}, and exits with status 0.
 */
public final class VirtualThreadServer {
    private VirtualThreadServer() { }

    /** A started server: the port it listens on (loopback) and how to stop it. */
    private record Started(int port, AutoCloseable stop) { }

    public static void main(String[] args) throws Exception {
        String kind = args[0];
        Path file = Path.of(args[1]);
        Path dir = Path.of(args[2]);
        Started server = switch (kind) {
            case "jetty" -> jetty(file);
            case "tomcat" -> tomcat(file, dir, true);
            case "tomcat-pool" -> tomcat(file, dir, false);
            case "h2" -> h2(dir);
            case "plain" -> plain(file);
            default -> throw new IllegalArgumentException("unknown server " + kind);
        };
        System.out.println("port " + server.port());
        System.out.flush();
        System.in.transferTo(OutputStream.nullOutputStream());
        server.stop().close();
        // Where the fiber runtime comes from (found as a resource, nothing loaded): the agent jar, or nowhere without the agent.
        java.net.URL runtime = ClassLoader.getSystemClassLoader().getResource("io/fiber/Fibers.class");
        System.out.println("fiber runtime: " + (runtime == null ? "none" : runtime));
        System.out.println("stopped");
        System.out.flush();
        // A stuck request's thread must not keep the JVM alive; the test checks the exit status.
        System.exit(0);
    }

    /** What a request that asked for {@code n} gets: which kind of thread served it, and the file's content, read now. */
    static String answer(String n, Path file) throws IOException {
        return "n=" + n + " on a " + (Thread.currentThread().isVirtual() ? "virtual" : "platform") + " thread: "
                + Files.readString(file, StandardCharsets.UTF_8);
    }

    /**
     * Jetty 12.1 as its programming guide runs requests on virtual threads: a {@link QueuedThreadPool}
     * (selectors, acceptors) whose virtual-threads executor is a bounded {@link VirtualThreadPool}; a
     * blocking handler (the default invocation type) then runs on a virtual thread.
     */
    private static Started jetty(Path file) throws Exception {
        QueuedThreadPool threadPool = new QueuedThreadPool();
        VirtualThreadPool virtualThreads = new VirtualThreadPool();
        virtualThreads.setMaxThreads(128);
        threadPool.setVirtualThreadsExecutor(virtualThreads);
        Server server = new Server(threadPool);
        ServerConnector connector = new ServerConnector(server);
        connector.setHost("127.0.0.1");
        connector.setPort(0);
        server.addConnector(connector);
        server.setHandler(new Handler.Abstract() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) throws Exception {
                Fields query = Request.extractQueryParameters(request);
                String body = answer(query.getValue("n"), file);
                response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/plain; charset=utf-8");
                Content.Sink.write(response, true, body, callback);
                return true;
            }
        });
        server.start();
        return new Started(connector.getLocalPort(), server::stop);
    }

    /**
     * Tomcat 11 embedded, its NIO connector with {@code useVirtualThreads=true}: a servlet per request
     * on a virtual thread; or ({@code tomcat-pool}) on its default executor of platform threads,
     * Tomcat's {@code TaskThread}s, which the agent makes fibers under {@code threads=fibers}.
     */
    private static Started tomcat(Path file, Path dir, boolean virtualThreads) throws Exception {
        // Tomcat logs through java.util.logging; its INFO lines say nothing the test checks.
        Logger.getLogger("org.apache").setLevel(Level.WARNING);
        Tomcat tomcat = new Tomcat();
        tomcat.setBaseDir(dir.resolve("tomcat").toString());
        Connector connector = new Connector();
        connector.setPort(0);
        connector.setProperty("address", "127.0.0.1");
        connector.setProperty("useVirtualThreads", String.valueOf(virtualThreads));
        tomcat.setConnector(connector);
        Context context = tomcat.addContext("", null);
        Tomcat.addServlet(context, "file", new HttpServlet() {
            private static final long serialVersionUID = 1L;

            @Override
            protected void doGet(HttpServletRequest request, HttpServletResponse response) throws IOException {
                String body = answer(request.getParameter("n"), file);
                response.setContentType("text/plain");
                response.setCharacterEncoding("UTF-8");
                try (Writer out = response.getWriter()) {
                    out.write(body);
                }
            }
        });
        context.addServletMappingDecoded("/*", "file");
        tomcat.start();
        return new Started(connector.getLocalPort(), () -> {
            tomcat.stop();
            tomcat.destroy();
        });
    }

    /** H2's TCP server, a virtual thread per connection ({@code -tcpVirtualThreads true}), its databases in files under {@code dir}. */
    private static Started h2(Path dir) throws Exception {
        System.setProperty("h2.bindAddress", "127.0.0.1");
        org.h2.tools.Server server = org.h2.tools.Server.createTcpServer("-tcpPort", "0", "-tcpVirtualThreads", "true",
                "-baseDir", dir.resolve("h2").toString(), "-ifNotExists").start();
        return new Started(server.getPort(), server::stop);
    }

    /**
     * A plain accept loop: each connection on its own {@code Thread.ofVirtual()} thread, which first
     * sends the file's content (as an HTTP server's request would, {@code n=echo}), then echoes every
     * line it reads.
     */
    private static Started plain(Path file) throws IOException {
        ServerSocket listener = new ServerSocket(0, 200, InetAddress.getLoopbackAddress());
        Thread acceptor = Thread.ofPlatform().name("accept-loop").daemon().start(() -> {
            while (!listener.isClosed()) {
                Socket socket;
                try {
                    socket = listener.accept();
                } catch (IOException closed) {
                    return;
                }
                Thread.ofVirtual().start(() -> echoLines(socket, file));
            }
        });
        return new Started(listener.getLocalPort(), () -> {
            listener.close();
            acceptor.join(5_000);
        });
    }

    private static void echoLines(Socket socket, Path file) {
        try (socket;
             BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
             PrintWriter out = new PrintWriter(socket.getOutputStream(), true, StandardCharsets.UTF_8)) {
            // First the file, read from disk on the connection's virtual thread; then the echo.
            out.print(answer("echo", file));
            out.flush();
            for (String line; (line = in.readLine()) != null; ) {
                out.println(line);
            }
        } catch (IOException e) {
            System.err.println("echo connection failed: " + e);
        }
    }
}
