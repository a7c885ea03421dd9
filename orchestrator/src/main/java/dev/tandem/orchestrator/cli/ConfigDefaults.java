package dev.tandem.orchestrator.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * One configuration story: a flag given on the command line wins; else the environment variable {@code TANDEM_NAME}
 * (the flag's name in upper case, dashes as underscores: {@code TANDEM_MAX_IN_FLIGHT}); else the key {@code name}
 * (the flag without its dashes: {@code max-in-flight: 64}) of the YAML file given with {@code --config FILE}; else the
 * flag's own default. Values are scalars; repeatable flags ({@code --upstream}) are given on the command line.
 */
final class ConfigDefaults implements CommandLine.IDefaultValueProvider {

    private final Map<String, String> env;
    private final Map<String, String> file;

    ConfigDefaults(Map<String, String> env, Map<String, String> file) {
        this.env = Map.copyOf(env);
        this.file = Map.copyOf(file);
    }

    /** The settings in the YAML file {@code path}: a mapping of flag names to scalars. */
    static Map<String, String> load(Path path) {
        JsonNode root;
        try {
            root = new ObjectMapper(new YAMLFactory()).readTree(path.toFile());
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read --config " + path + ": " + e.getMessage());
        }
        Map<String, String> out = new LinkedHashMap<>();
        if (root == null || root.isNull() || root.isMissingNode()) {
            return out;
        }
        if (!root.isObject()) {
            throw new IllegalArgumentException("--config " + path + " must be a mapping of flag names to values");
        }
        for (var e : root.properties()) {
            JsonNode v = e.getValue();
            if (v.isArray()) {
                // A repeatable flag (--upstream) is given on the command line, once per value.
                throw new IllegalArgumentException("--config " + path + ": " + e.getKey()
                        + " is a list; give repeatable flags on the command line");
            }
            if (v.isValueNode()) {
                out.put(e.getKey(), v.asText());
            } else {
                throw new IllegalArgumentException("--config " + path + ": " + e.getKey() + " must be a value");
            }
        }
        return out;
    }

    /** The value of {@code --config FILE} (or {@code --config=FILE}) in {@code args}, or null. */
    static Path configFile(String[] args) {
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--config") && i + 1 < args.length) {
                return Path.of(args[i + 1]);
            }
            if (args[i].startsWith("--config=")) {
                return Path.of(args[i].substring("--config=".length()));
            }
        }
        return null;
    }

    @Override
    public String defaultValue(ArgSpec argSpec) {
        if (!(argSpec instanceof OptionSpec o) || !o.longestName().startsWith("--")) {
            return null;
        }
        String name = o.longestName().substring(2);
        if (name.equals("config") || name.equals("help") || name.equals("version")) {
            return null;
        }
        String fromEnv = env.get("TANDEM_" + name.toUpperCase(Locale.ROOT).replace('-', '_'));
        if (fromEnv != null) {
            return fromEnv;
        }
        return file.get(name);
    }

    /** Keys of the file that name no option of {@code command} (misspelt, or meant for another command). */
    Set<String> unused(CommandLine.Model.CommandSpec command) {
        Set<String> left = new TreeSet<>(file.keySet());
        for (OptionSpec o : command.options()) {
            left.remove(o.longestName().replaceFirst("^--?", ""));
        }
        return left;
    }
}
