package dev.tandem.orchestrator.cli;

import dev.tandem.api.discovery.Discovery;
import dev.tandem.api.events.EventPlane;
import dev.tandem.orchestrator.frontend.FrontendConfig;
import dev.tandem.orchestrator.router.Router;
import dev.tandem.orchestrator.runtime.Frontend;
import dev.tandem.orchestrator.runtime.grpc.GrpcWorkerClient;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code tandem frontend}: the OpenAI API and router over workers found in discovery. Flags are a contract. */
@Command(name = "frontend", mixinStandardHelpOptions = true, description = "Run a frontend (HTTP API + router).")
public final class FrontendCommand implements Callable<Integer> {

    @Mixin
    PlaneOptions planes;

    @Mixin
    ConfigOption config;

    @Mixin
    RouterOption router;

    @Mixin
    HttpOptions http;

    @Mixin
    DisaggOptions disagg;

    @Option(
            names = "--block-size",
            defaultValue = "16",
            description = "KV block size; workers must match (default: ${DEFAULT-VALUE}).")
    int blockSize;

    @Option(
            names = "--migration-limit",
            defaultValue = "3",
            description = "Re-dispatches of a request whose worker failed (default: ${DEFAULT-VALUE}).")
    int migrationLimit;

    @Override
    public Integer call() throws Exception {
        Discovery d = planes.openDiscovery();
        EventPlane ev = planes.openEvents();
        FrontendConfig fc = http.config(migrationLimit).withDisaggregation(disagg.settings());
        String replica = "f" + UUID.randomUUID().toString().substring(0, 8);
        Frontend f = Frontend.start(
                fc,
                planes.namespace,
                blockSize,
                new Router(router.create(0)),
                d,
                ev,
                address -> new GrpcWorkerClient(address, address),
                replica);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.err.println("tandem: frontend " + replica + " draining");
            http.drainOnShutdown(f::drain);
            f.close();
            ev.close();
            d.close();
            stopped.countDown();
        }));
        System.err.printf(
                "tandem: frontend %s on http://%s:%d/v1, router %s, discovery %s, events %s%n",
                replica, http.host, f.port(), router.name, planes.discovery, planes.events);
        stopped.await();
        return 0;
    }
}
