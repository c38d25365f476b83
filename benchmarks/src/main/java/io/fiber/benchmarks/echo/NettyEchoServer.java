package io.fiber.benchmarks.echo;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.util.concurrent.Future;

import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * Mode {@code netty} of {@link EchoBenchmarkServer}: the event-loop baseline. Netty 4.2 with native epoll, one
 * boss loop that accepts and one worker loop per available processor, and the classic echo handler
 * that writes back whatever it reads and flushes once per read batch. It does not frame messages:
 * an echo server needs no framing, and this is the cheapest correct echo Netty can do.
 */
final class NettyEchoServer {
    /** Stopping needs no quiet period: the benchmark stops the server once its load is gone. */
    private static final long STOP_TIMEOUT_SECONDS = 5;

    private NettyEchoServer() { }

    static EchoBenchmarkServer start(int port) throws InterruptedException {
        Epoll.ensureAvailability();
        int workers = Runtime.getRuntime().availableProcessors();
        IoHandlerFactory epoll = EpollIoHandler.newFactory();
        EventLoopGroup boss = new MultiThreadIoEventLoopGroup(1, epoll);
        EventLoopGroup workerGroup = new MultiThreadIoEventLoopGroup(workers, epoll);
        try {
            Channel listener = new ServerBootstrap()
                    .group(boss, workerGroup)
                    .channel(EpollServerSocketChannel.class)
                    .option(ChannelOption.SO_BACKLOG, EchoBenchmarkServer.ACCEPT_BACKLOG)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childHandler(new EchoHandler())
                    .bind(port).sync().channel();
            EchoBenchmarkServer.Stopper stop = () -> {
                listener.close().syncUninterruptibly();
                Future<?> bossDone = boss.shutdownGracefully(0, STOP_TIMEOUT_SECONDS, TimeUnit.SECONDS);
                workerGroup.shutdownGracefully(0, STOP_TIMEOUT_SECONDS, TimeUnit.SECONDS).syncUninterruptibly();
                bossDone.syncUninterruptibly();
            };
            int boundPort = ((InetSocketAddress) listener.localAddress()).getPort();
            return new EchoBenchmarkServer(boundPort, "Netty native epoll, 1 boss + " + workers + " worker event loop(s)", stop);
        } catch (RuntimeException | InterruptedException e) {
            boss.shutdownGracefully();
            workerGroup.shutdownGracefully();
            throw e;
        }
    }

    /** Writes back every buffer it reads; one flush per batch of reads. Stateless, so one instance serves all. */
    @ChannelHandler.Sharable
    static final class EchoHandler extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ctx.write(msg);
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();   // the peer reset the connection (the load driver closes with SO_LINGER 0)
        }
    }
}
