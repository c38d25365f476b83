package io.fiber.agent.io;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * TLS on loopback from the body: an {@link SSLSocket} client handshakes (TLSv1.3, with host name
 * verification) with an {@code SSLServerSocket} echo server and echoes 16 KB both ways. The key is
 * a self-signed one made by {@code keytool} when the class starts, and trusted by both sides.
 */
class TlsIT {
    private static final String PASSWORD = "changeit";
    private static final byte[] DATA = randomBytes(16 * 1024);
    private static SSLContext context;

    private record Echo(String protocol, byte[] received) { }

    @BeforeAll
    static void selfSignedContext(@TempDir Path dir) throws Exception {
        Path store = dir.resolve("loopback.p12");
        Process keytool = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                "-genkeypair", "-alias", "loopback", "-keyalg", "EC", "-groupname", "secp256r1",
                "-dname", "CN=localhost", "-ext", "SAN=dns:localhost,ip:127.0.0.1", "-validity", "2",
                "-storetype", "PKCS12", "-keystore", store.toString(), "-storepass", PASSWORD, "-keypass", PASSWORD)
                .redirectErrorStream(true)
                .start();
        String output = new String(keytool.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(keytool.waitFor(30, TimeUnit.SECONDS), "keytool did not finish: " + output);
        assertEquals(0, keytool.exitValue(), "keytool failed: " + output);

        KeyStore keys = KeyStore.getInstance(store.toFile(), PASSWORD.toCharArray());
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keys, PASSWORD.toCharArray());
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(keys);
        context = SSLContext.getInstance("TLS");
        context.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
    }

    @OnEachKind
    void handshakeAndEchoFromTheBody(Kind kind) throws Exception {
        try (PlatformEchoServer echo = new PlatformEchoServer(context.getServerSocketFactory().createServerSocket(0, 16, Loopback.ADDRESS))) {
            Echo result = Body.run(kind, () -> {
                try (SSLSocket s = (SSLSocket) context.getSocketFactory().createSocket("127.0.0.1", echo.port())) {
                    SSLParameters parameters = s.getSSLParameters();
                    parameters.setEndpointIdentificationAlgorithm("HTTPS");
                    s.setSSLParameters(parameters);
                    s.startHandshake();
                    s.getOutputStream().write(DATA);
                    return new Echo(s.getSession().getProtocol(), s.getInputStream().readNBytes(DATA.length));
                }
            }).value();
            assertEquals("TLSv1.3", result.protocol());
            assertArrayEquals(DATA, result.received());
        }
    }

    private static byte[] randomBytes(int n) {
        byte[] b = new byte[n];
        new Random(7).nextBytes(b);
        return b;
    }
}
