package dev.tandem.orchestrator.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The manifests in examples/kubernetes/ parse, hang together (selectors, ports, probes, volumes, the kustomization)
 * and start Tandem with arguments its CLI accepts, the ConfigMap's flag defaults included.
 */
class KubernetesManifestsTest {

    private static final Path DIR = Path.of("..", "examples", "kubernetes");
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    /** Every document of every manifest, with the file it came from. */
    private record Doc(String file, JsonNode node) {
        String kind() {
            return node.path("kind").asText();
        }

        String name() {
            return node.path("metadata").path("name").asText();
        }
    }

    private static final List<Doc> DOCS = new ArrayList<>();

    @BeforeAll
    static void parse() throws IOException {
        try (Stream<Path> files = Files.list(DIR)) {
            for (Path f :
                    files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList()) {
                try (var it = YAML.readerFor(JsonNode.class).readValues(f.toFile())) {
                    while (it.hasNext()) {
                        JsonNode n = (JsonNode) it.next();
                        if (n != null && !n.isNull() && !n.isMissingNode()) {
                            DOCS.add(new Doc(f.getFileName().toString(), n));
                        }
                    }
                }
            }
        }
        assertThat(DOCS).as("manifests in " + DIR.toAbsolutePath()).isNotEmpty();
    }

    private static List<Doc> ofKind(String... kinds) {
        Set<String> k = Set.of(kinds);
        return DOCS.stream().filter(d -> k.contains(d.kind())).toList();
    }

    private static JsonNode podSpec(Doc workload) {
        return workload.node().path("spec").path("template").path("spec");
    }

    private static List<JsonNode> containers(Doc workload) {
        List<JsonNode> out = new ArrayList<>();
        podSpec(workload).path("containers").forEach(out::add);
        return out;
    }

    private static List<String> args(JsonNode container) {
        List<String> out = new ArrayList<>();
        container.path("args").forEach(a -> out.add(a.asText()));
        return out;
    }

    private static String flag(List<String> args, String name) {
        for (String a : args) {
            if (a.startsWith(name + "=")) {
                return a.substring(name.length() + 1);
            }
        }
        return null;
    }

    @Test
    void everyDocumentIsAKubernetesObjectInTheTandemNamespace() {
        for (Doc d : DOCS) {
            assertThat(d.node().path("apiVersion").asText()).as(d.file()).isNotBlank();
            assertThat(d.kind()).as(d.file()).isNotBlank();
            if (d.kind().equals("Kustomization")) {
                continue;
            }
            assertThat(d.name()).as(d.file()).isNotBlank();
            if (!d.kind().equals("Namespace")) {
                assertThat(d.node().path("metadata").path("namespace").asText())
                        .as(d.file() + " " + d.name())
                        .isEqualTo("tandem");
            }
        }
    }

    @Test
    void theKustomizationListsEveryManifestAndNothingElse() throws IOException {
        Doc k = ofKind("Kustomization").getFirst();
        Set<String> listed = new HashSet<>();
        k.node().path("resources").forEach(r -> listed.add(r.asText()));
        Set<String> files = new HashSet<>();
        DOCS.stream().map(Doc::file).filter(f -> !f.equals(k.file())).forEach(files::add);
        assertThat(listed).isEqualTo(files);
    }

    @Test
    void servicesSelectPodsAndTargetTheirPorts() {
        List<Doc> workloads = ofKind("Deployment", "StatefulSet");
        for (Doc w : workloads) {
            JsonNode labels =
                    w.node().path("spec").path("template").path("metadata").path("labels");
            w.node()
                    .path("spec")
                    .path("selector")
                    .path("matchLabels")
                    .properties()
                    .forEach(e -> assertThat(labels.path(e.getKey()).asText())
                            .as(w.name() + " selects its own pods")
                            .isEqualTo(e.getValue().asText()));
        }
        for (Doc s : ofKind("Service")) {
            JsonNode selector = s.node().path("spec").path("selector");
            List<Doc> selected = workloads.stream()
                    .filter(w -> {
                        JsonNode labels = w.node()
                                .path("spec")
                                .path("template")
                                .path("metadata")
                                .path("labels");
                        boolean[] all = {true};
                        selector.properties()
                                .forEach(e -> all[0] &= labels.path(e.getKey())
                                        .asText()
                                        .equals(e.getValue().asText()));
                        return all[0];
                    })
                    .toList();
            assertThat(selected).as("pods behind service " + s.name()).hasSize(1);
            Set<String> ports = containerPorts(selected.getFirst());
            for (JsonNode p : s.node().path("spec").path("ports")) {
                String target = p.has("targetPort")
                        ? p.path("targetPort").asText()
                        : p.path("port").asText();
                assertThat(ports)
                        .as("service " + s.name() + " targets a declared port")
                        .contains(target);
            }
        }
    }

    /** A workload's container ports, by name and by number. */
    private static Set<String> containerPorts(Doc workload) {
        Set<String> ports = new HashSet<>();
        for (JsonNode c : containers(workload)) {
            for (JsonNode p : c.path("ports")) {
                ports.add(p.path("containerPort").asText());
                if (p.has("name")) {
                    ports.add(p.path("name").asText());
                }
            }
        }
        return ports;
    }

    @Test
    void probesUseDeclaredPortsAndMountsUseDeclaredVolumesOfExistingObjects() {
        Set<String> configMaps = new HashSet<>();
        ofKind("ConfigMap").forEach(d -> configMaps.add(d.name()));
        Set<String> secrets = new HashSet<>();
        ofKind("Secret").forEach(d -> secrets.add(d.name()));
        Set<String> claims = new HashSet<>();
        ofKind("PersistentVolumeClaim").forEach(d -> claims.add(d.name()));
        for (Doc w : ofKind("Deployment", "StatefulSet")) {
            Set<String> ports = containerPorts(w);
            Set<String> volumes = new HashSet<>();
            for (JsonNode v : podSpec(w).path("volumes")) {
                volumes.add(v.path("name").asText());
                if (v.has("configMap")) {
                    assertThat(configMaps)
                            .contains(v.path("configMap").path("name").asText());
                }
                if (v.has("secret")) {
                    assertThat(secrets)
                            .contains(v.path("secret").path("secretName").asText());
                }
                if (v.has("persistentVolumeClaim")) {
                    assertThat(claims)
                            .contains(v.path("persistentVolumeClaim")
                                    .path("claimName")
                                    .asText());
                }
            }
            w.node()
                    .path("spec")
                    .path("volumeClaimTemplates")
                    .forEach(t -> volumes.add(t.path("metadata").path("name").asText()));
            for (JsonNode c : containers(w)) {
                assertThat(c.path("livenessProbe").isObject())
                        .as(w.name() + " has a liveness probe")
                        .isTrue();
                assertThat(c.path("readinessProbe").isObject())
                        .as(w.name() + " has a readiness probe")
                        .isTrue();
                for (String probe : List.of("livenessProbe", "readinessProbe", "startupProbe")) {
                    JsonNode p = c.path(probe);
                    if (p.isObject()) {
                        JsonNode how = p.has("httpGet") ? p.path("httpGet") : p.path("tcpSocket");
                        assertThat(ports)
                                .as(w.name() + " " + probe + " port")
                                .contains(how.path("port").asText());
                    }
                }
                for (JsonNode m : c.path("volumeMounts")) {
                    assertThat(volumes)
                            .as(w.name() + " mounts")
                            .contains(m.path("name").asText());
                }
            }
        }
    }

    @Test
    void tandemContainersStartWithArgumentsTheCliAcceptsAndProbeItsEndpoints(@TempDir Path tmp) throws Exception {
        Doc config = ofKind("ConfigMap").stream()
                .filter(d -> d.name().equals("tandem-config"))
                .findFirst()
                .orElseThrow();
        Path yaml = tmp.resolve("tandem.yaml");
        Files.writeString(yaml, config.node().path("data").path("tandem.yaml").asText());
        Map<String, Integer> roles = new HashMap<>();
        for (Doc w : ofKind("Deployment", "StatefulSet")) {
            for (JsonNode c : containers(w)) {
                if (!c.path("image").asText().startsWith("tandem:")) {
                    continue;
                }
                List<String> args = args(c);
                String role = args.getFirst();
                roles.merge(role, 1, Integer::sum);
                assertThat(ConfigDefaults.configFile(args.toArray(String[]::new)))
                        .as(w.name() + " reads the ConfigMap")
                        .isEqualTo(Path.of("/etc/tandem/tandem.yaml"));
                List<String> local = args.stream()
                        .map(a -> a.startsWith("--config=") ? "--config=" + yaml : a)
                        .toList();
                ConfigDefaults defaults = new ConfigDefaults(Map.of(), ConfigDefaults.load(yaml));
                CommandLine cli = new CommandLine(new TandemCli());
                cli.setDefaultValueProvider(defaults);
                CommandLine.ParseResult parsed = cli.parseArgs(local.toArray(String[]::new));
                var command = parsed.asCommandLineList().getLast().getCommandSpec();
                assertThat(command.name()).isEqualTo(role);
                assertThat(defaults.unused(command))
                        .as("ConfigMap keys that " + role + " has no flag for")
                        .isEmpty();
                int grace = podSpec(w).path("terminationGracePeriodSeconds").asInt(30);
                String drain = flag(args, "--drain-seconds");
                assertThat(grace)
                        .as(w.name() + ": the grace period outlasts the drain")
                        .isGreaterThan(drain == null ? 30 : Integer.parseInt(drain));
                Set<String> ports = containerPorts(w);
                if (role.equals("frontend")) {
                    assertThat(c.path("livenessProbe")
                                    .path("httpGet")
                                    .path("path")
                                    .asText())
                            .isEqualTo("/live");
                    assertThat(c.path("readinessProbe")
                                    .path("httpGet")
                                    .path("path")
                                    .asText())
                            .isEqualTo("/ready");
                    assertThat(flag(args, "--host")).isEqualTo("0.0.0.0");
                    assertThat(ports).contains(flag(args, "--port"));
                    String keys = flag(args, "--api-keys-file");
                    assertThat(keys).isNotNull();
                    assertThat(c.path("volumeMounts").findValuesAsText("mountPath"))
                            .anyMatch(m -> keys.startsWith(m + "/"));
                } else {
                    assertThat(role).isEqualTo("worker");
                    // the pod IP is what the worker binds and registers: frontends dial it directly
                    assertThat(flag(args, "--host")).isEqualTo("$(POD_IP)");
                    assertThat(c.path("env").findValuesAsText("name")).contains("POD_IP");
                    assertThat(ports).contains(flag(args, "--port"), flag(args, "--metrics-port"));
                    assertThat(c.path("livenessProbe")
                                    .path("httpGet")
                                    .path("path")
                                    .asText())
                            .isEqualTo("/live");
                    String live =
                            c.path("livenessProbe").path("httpGet").path("port").asText();
                    assertThat(portNumber(c, live))
                            .as("the liveness probe is on --metrics-port")
                            .isEqualTo(flag(args, "--metrics-port"));
                }
            }
        }
        assertThat(roles).containsOnlyKeys("frontend", "worker");
    }

    private static String portNumber(JsonNode container, String nameOrNumber) {
        for (JsonNode p : container.path("ports")) {
            if (p.path("name").asText().equals(nameOrNumber)
                    || p.path("containerPort").asText().equals(nameOrNumber)) {
                return p.path("containerPort").asText();
            }
        }
        return null;
    }

    @Test
    void theDockerfileBuildsTheLauncherTheManifestsRun() throws IOException {
        String dockerfile = Files.readString(DIR.resolve("Dockerfile"));
        assertThat(dockerfile).contains("ENTRYPOINT [\"/opt/tandem/bin/tandem\"]");
        assertThat(dockerfile).contains(".tandem-build-stamp"); // the launcher must not try to rebuild in the image
        assertThat(Files.readString(DIR.resolve("README.md")))
                .contains("docker build -f examples/kubernetes/Dockerfile");
    }
}
