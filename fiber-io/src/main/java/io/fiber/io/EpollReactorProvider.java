package io.fiber.io;

import io.fiber.internal.io.CarrierReactor;
import io.fiber.internal.io.ReactorProvider;
import io.netty.channel.epoll.NettyEpoll;

/** Opens an {@link EpollReactor} per carrier; found by the runtime through {@link java.util.ServiceLoader}. */
public final class EpollReactorProvider implements ReactorProvider {
    @Override
    public CarrierReactor open(String carrierName) throws Exception {
        NettyEpoll.ensureAvailable();
        return new EpollReactor(carrierName);
    }
}
