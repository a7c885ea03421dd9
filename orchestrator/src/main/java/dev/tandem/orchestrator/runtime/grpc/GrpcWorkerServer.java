package dev.tandem.orchestrator.runtime.grpc;

import dev.tandem.api.engine.Engine;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/** A worker's request-plane server: gRPC over TCP, calls handled on virtual threads. */
public final class GrpcWorkerServer implements AutoCloseable {

    /** Services whose calls never block, run on the transport's threads. */
    static final java.util.Set<String> NON_BLOCKING_SERVICES = java.util.Set.of("tandem.v1.KvTransfer");

    /** How often a frontend pings a worker's connection; the server permits twice that rate. */
    public static final long CLIENT_KEEPALIVE_SECONDS = 10;

    private final Server server;
    private final String host;

    private GrpcWorkerServer(Server server, String host) {
        this.server = server;
        this.host = host;
    }

    /** Binds {@code host:port} (0 = ephemeral) and starts serving {@code engine}. */
    public static GrpcWorkerServer start(Engine engine, String host, int port) throws IOException {
        return start(engine, host, port, java.util.List.of());
    }

    /**
     * Binds {@code host:port} and serves {@code engine}'s request plane (unless null) and {@code services} beside it
     * (a KV connector's transfer service).
     */
    public static GrpcWorkerServer start(
            Engine engine, String host, int port, java.util.List<io.grpc.BindableService> services) throws IOException {
        NettyServerBuilder b = NettyServerBuilder.forAddress(new InetSocketAddress(host, port))
                .executor(Executors.newVirtualThreadPerTaskExecutor())
                // KV transfer calls never block (they write when the transport is ready): running them on the
                // transport's event loop saves a thread hand-off per message.
                .callExecutor(new io.grpc.ServerCallExecutorSupplier() {
                    @Override
                    public <Q, R> java.util.concurrent.Executor getExecutor(
                            io.grpc.ServerCall<Q, R> call, io.grpc.Metadata metadata) {
                        return NON_BLOCKING_SERVICES.contains(
                                        call.getMethodDescriptor().getServiceName())
                                ? Runnable::run
                                : null;
                    }
                });
        if (engine != null) {
            b.addService(new GrpcWorkerService(engine));
        }
        services.forEach(b::addService);
        Server s = b.maxInboundMessageSize(64 << 20)
                // KV transfers stream megabytes: a window larger than the 1 MiB default keeps the link busy.
                .flowControlWindow(4 << 20)
                // Frontends ping every CLIENT_KEEPALIVE to keep quiet streams alive through idle-connection
                // reapers; a server that permits fewer pings (gRPC's default: one per 5 minutes) answers them with
                // GOAWAY too_many_pings and every stream on the connection dies.
                .permitKeepAliveTime(CLIENT_KEEPALIVE_SECONDS / 2, TimeUnit.SECONDS)
                .permitKeepAliveWithoutCalls(true)
                .keepAliveTime(30, TimeUnit.SECONDS)
                .keepAliveTimeout(10, TimeUnit.SECONDS)
                .build()
                .start();
        return new GrpcWorkerServer(s, host);
    }

    public int port() {
        return server.getPort();
    }

    /** The address workers register in discovery: {@code host:port}. */
    public String address() {
        return host + ":" + port();
    }

    /** Stops taking calls and waits up to {@code seconds} for those in flight to finish. */
    public void drain(long seconds) throws InterruptedException {
        server.shutdown();
        server.awaitTermination(seconds, TimeUnit.SECONDS);
    }

    @Override
    public void close() {
        server.shutdownNow();
    }
}
