package dev.tandem.orchestrator.frontend;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The API keys a frontend accepts ({@code --api-keys-file}: one key per line; blank lines and lines starting with
 * {@code #} are skipped). Keys are held as SHA-256 digests and a presented key is compared with every one of them
 * in constant time, so neither the comparison's duration nor an early exit tells which key, or how much of one,
 * matched.
 *
 * @param protectStatus whether {@code /metrics} and {@code /status} need a key too ({@code --protect-status})
 */
public record ApiKeys(List<byte[]> digests, boolean protectStatus) {

    public ApiKeys {
        digests = List.copyOf(digests);
        if (digests.isEmpty()) {
            throw new IllegalArgumentException("the API keys file holds no key");
        }
    }

    /** The keys in {@code file}. */
    public static ApiKeys load(Path file, boolean protectStatus) throws IOException {
        List<byte[]> digests = new ArrayList<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            String key = line.strip();
            if (!key.isEmpty() && !key.startsWith("#")) {
                digests.add(sha256(key));
            }
        }
        return new ApiKeys(digests, protectStatus);
    }

    /**
     * The identity of an accepted key for per-key limits: the index of its digest (never the key itself), or -1 when
     * {@code authorization} carries none.
     */
    public int keyIndex(String authorization) {
        if (authorization == null
                || authorization.length() < 7
                || !authorization.substring(0, 7).toLowerCase(Locale.ROOT).equals("bearer ")) {
            return -1;
        }
        byte[] presented = sha256(authorization.substring(7).strip());
        int found = -1;
        for (int i = 0; i < digests.size(); i++) {
            if (MessageDigest.isEqual(digests.get(i), presented) && found < 0) {
                found = i; // no early exit: every key is compared
            }
        }
        return found;
    }

    /** Whether {@code authorization} (an {@code Authorization} header value, or null) carries an accepted key. */
    public boolean accepts(String authorization) {
        return keyIndex(authorization) >= 0;
    }

    /** Whether a request to {@code path} needs a key. */
    public boolean guards(String path) {
        if (path.startsWith("/v1/")) {
            return true;
        }
        return protectStatus && (path.equals("/metrics") || path.startsWith("/status"));
    }

    private static byte[] sha256(String key) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("no SHA-256", e);
        }
    }
}
