package io.fiber.io;

import io.fiber.internal.RuntimeLog;
import io.fiber.internal.io.CarrierReactor;
import io.fiber.internal.io.ReactorProvider;
import io.netty.channel.epoll.NettyEpoll;

import java.util.concurrent.atomic.AtomicBoolean;

/** Opens an {@link EpollReactor} per carrier; found by the runtime through {@link java.util.ServiceLoader}. */
public final class EpollReactorProvider implements ReactorProvider {
    private static final RuntimeLog log = RuntimeLog.of(EpollReactorProvider.class);
    private static final AtomicBoolean TOLD = new AtomicBoolean();

    @Override
    public CarrierReactor open(String carrierName) throws Exception {
        NettyEpoll.ensureAvailable();
        String because = SocketCalls.unavailableBecause();
        if (because != null && TOLD.compareAndSet(false, true)) {
            log.warn("fibers' socket reads and writes go through the JDK's own code ({}); their waits still go to the carriers' reactors",
                    because);
        }
        return new EpollReactor(carrierName);
    }
}
