package dev.tandem.api.kv;

import com.dynatrace.hash4j.hashing.Hasher64;
import com.dynatrace.hash4j.hashing.Hashing;
import java.nio.charset.StandardCharsets;

/**
 * KV block hashing, the one definition that routers and engines share (DESIGN §4).
 *
 * <p>Full blocks of {@code blockSize} tokens only: {@code local_i = XXH3_64(LE u32 tokens of block i, seed)},
 * {@code seq_0 = local_0}, {@code seq_i = XXH3_64(LE64(seq_{i-1}) ++ LE64(local_i), seed)}; {@code seed = 1337}, or
 * {@code 1337 + XXH3_64(UTF-8 salt, 0)} with a salt. Hashes are unsigned 64-bit values held in a {@code long}.
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class BlockHasher {

    /** Dynamo's seed, kept so that event streams stay interoperable. */
    public static final long DEFAULT_SEED = 1337L;

    private static final BlockHasher UNSALTED = new BlockHasher(DEFAULT_SEED);

    private final long seed;
    private final Hasher64 hasher;

    private BlockHasher(long seed) {
        this.seed = seed;
        this.hasher = Hashing.xxh3_64(seed);
    }

    /** The hasher of unsalted requests. */
    public static BlockHasher unsalted() {
        return UNSALTED;
    }

    /** The hasher for a salt (a LoRA adapter name or a request's cache salt); null or empty means unsalted. */
    public static BlockHasher forSalt(String salt) {
        if (salt == null || salt.isEmpty()) {
            return UNSALTED;
        }
        byte[] utf8 = salt.getBytes(StandardCharsets.UTF_8);
        return new BlockHasher(DEFAULT_SEED + Hashing.xxh3_64(0).hashBytesToLong(utf8));
    }

    public long seed() {
        return seed;
    }

    /** The local hash of tokens[from, from + blockSize). */
    public long localHash(int[] tokens, int from, int blockSize) {
        byte[] bytes = new byte[blockSize * 4];
        for (int i = 0; i < blockSize; i++) {
            int t = tokens[from + i];
            int o = i * 4;
            bytes[o] = (byte) t;
            bytes[o + 1] = (byte) (t >>> 8);
            bytes[o + 2] = (byte) (t >>> 16);
            bytes[o + 3] = (byte) (t >>> 24);
        }
        return hasher.hashBytesToLong(bytes);
    }

    /** The chained hash of a block whose predecessor's chained hash is {@code parent}. */
    public long chain(long parent, long local) {
        byte[] bytes = new byte[16];
        putLong(bytes, 0, parent);
        putLong(bytes, 8, local);
        return hasher.hashBytesToLong(bytes);
    }

    /** Local hashes of every full block of {@code tokens}. */
    public long[] localHashes(int[] tokens, int blockSize) {
        int blocks = tokens.length / blockSize;
        long[] out = new long[blocks];
        for (int i = 0; i < blocks; i++) {
            out[i] = localHash(tokens, i * blockSize, blockSize);
        }
        return out;
    }

    /** Chained (sequence) hashes of every full block of {@code tokens}. */
    public long[] sequenceHashes(int[] tokens, int blockSize) {
        return sequenceHashes(tokens, tokens.length, blockSize);
    }

    /** Chained hashes of the full blocks among the first {@code length} tokens. */
    public long[] sequenceHashes(int[] tokens, int length, int blockSize) {
        int blocks = length / blockSize;
        long[] out = new long[blocks];
        long parent = 0;
        for (int i = 0; i < blocks; i++) {
            long local = localHash(tokens, i * blockSize, blockSize);
            parent = i == 0 ? local : chain(parent, local);
            out[i] = parent;
        }
        return out;
    }

    private static void putLong(byte[] b, int o, long v) {
        for (int i = 0; i < 8; i++) {
            b[o + i] = (byte) (v >>> (8 * i));
        }
    }
}
