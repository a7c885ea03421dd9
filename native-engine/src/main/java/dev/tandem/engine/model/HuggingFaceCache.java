package dev.tandem.engine.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Finds models that other tools downloaded into the Hugging Face cache: {@code org/name} →
 * {@code $HF_HOME/hub/models--org--name/snapshots/REV} (HF_HOME defaults to {@code ~/.cache/huggingface}; the
 * system property {@code tandem.hf.home} overrides both, for tests). REV is the one {@code refs/main} names, else
 * the only or newest snapshot.
 */
public final class HuggingFaceCache {

    private static final Pattern REPO = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*");

    private HuggingFaceCache() {}

    /** Whether {@code reference} has the shape of a hub repository id. */
    public static boolean isRepoId(String reference) {
        return REPO.matcher(reference).matches();
    }

    public static Path home() {
        String override = System.getProperty("tandem.hf.home");
        if (override != null && !override.isBlank()) {
            return Path.of(override);
        }
        String env = System.getenv("HF_HOME");
        if (env != null && !env.isBlank()) {
            return Path.of(env);
        }
        return Path.of(System.getProperty("user.home"), ".cache", "huggingface");
    }

    /** The snapshot directory of {@code repoId} in the local cache, if it was downloaded. */
    public static Optional<Path> resolve(String repoId) throws IOException {
        if (!isRepoId(repoId)) {
            return Optional.empty();
        }
        Path repo = home().resolve("hub").resolve("models--" + repoId.replace("/", "--"));
        Path snapshots = repo.resolve("snapshots");
        if (!Files.isDirectory(snapshots)) {
            return Optional.empty();
        }
        Path main = repo.resolve("refs").resolve("main");
        if (Files.isRegularFile(main)) {
            Path snap = snapshots.resolve(Files.readString(main).trim());
            if (Files.isDirectory(snap)) {
                return Optional.of(snap);
            }
        }
        try (Stream<Path> s = Files.list(snapshots)) {
            return s.filter(Files::isDirectory).max((a, b) -> {
                try {
                    return Files.getLastModifiedTime(a).compareTo(Files.getLastModifiedTime(b));
                } catch (IOException e) {
                    return 0;
                }
            });
        }
    }
}
