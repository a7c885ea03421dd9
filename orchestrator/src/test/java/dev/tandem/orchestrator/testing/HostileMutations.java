package dev.tandem.orchestrator.testing;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;

/**
 * Malformed requests made from valid ones by the mutations attackers and broken clients make: framing conflicts,
 * bad chunk sizes, control bytes, truncation, oversized parts, odd versions, broken JSON. Shared by the property
 * tests of the HTTP edge and of the production surface (keys, limits, metrics, status).
 */
public final class HostileMutations {

    private HostileMutations() {}

    /** One to three mutations of one of {@code base}'s requests. */
    public static Arbitrary<byte[]> of(Arbitrary<String> base) {
        Arbitrary<Mutation> mutation = Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(3, insertByte()),
                net.jqwik.api.Tuple.of(2, truncate()),
                net.jqwik.api.Tuple.of(2, header()),
                net.jqwik.api.Tuple.of(2, replaceVersion()),
                net.jqwik.api.Tuple.of(2, chunkSize()),
                net.jqwik.api.Tuple.of(2, body()),
                net.jqwik.api.Tuple.of(1, oversize()),
                net.jqwik.api.Tuple.of(1, garbage()));
        return Combinators.combine(base, mutation.list().ofMinSize(1).ofMaxSize(3))
                .as((b, ms) -> {
                    byte[] r = b.getBytes(StandardCharsets.ISO_8859_1);
                    for (Mutation m : ms) {
                        r = m.apply(r);
                    }
                    return r;
                });
    }

    private interface Mutation {
        byte[] apply(byte[] request);
    }

    private static byte[] splice(byte[] r, int at, int drop, byte[] insert) {
        at = Math.min(at, r.length);
        drop = Math.min(drop, r.length - at);
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        o.write(r, 0, at);
        o.writeBytes(insert);
        o.write(r, at + drop, r.length - at - drop);
        return o.toByteArray();
    }

    private static int headEnd(byte[] r) {
        String s = new String(r, StandardCharsets.ISO_8859_1);
        int i = s.indexOf("\r\n\r\n");
        return i < 0 ? r.length : i + 2;
    }

    private static Arbitrary<Mutation> insertByte() {
        Arbitrary<Integer> b = Arbitraries.oneOf(
                Arbitraries.of(0, 13, 10, 9, 32, 58, 0x7f, 0x80, 0xff, 0x16, 34, 123),
                Arbitraries.integers().between(0, 255));
        return Combinators.combine(
                        Arbitraries.doubles().between(0, 1),
                        b,
                        Arbitraries.integers().between(0, 2))
                .as((where, value, drop) ->
                        r -> splice(r, (int) (where * r.length), drop, new byte[] {(byte) (int) value}));
    }

    private static Arbitrary<Mutation> truncate() {
        return Arbitraries.doubles().between(0, 1).map(f -> r -> java.util.Arrays.copyOf(r, (int) (f * r.length)));
    }

    private static Arbitrary<Mutation> header() {
        Arbitrary<String> field = Arbitraries.of(
                "Content-Length: 5",
                "Content-Length: 99999999999999999999",
                "Content-Length: -1",
                "Content-Length: 0x10",
                "Content-Length: 1, 2",
                "Transfer-Encoding: chunked",
                "Transfer-Encoding: gzip",
                "Transfer-Encoding: chunked, identity",
                "Transfer-Encoding : chunked",
                "Transfer-Encoding:\tchunked",
                "Host: y",
                "Expect: 100-continue",
                "Expect: nonsense",
                "Connection: close",
                "Connection: keep-alive, Upgrade",
                "Upgrade: h2c",
                " folded",
                "NoColon",
                ": empty name",
                "X-Utf8: \u00ff\u00fe",
                "X-Long: " + "z".repeat(3000));
        return Combinators.combine(field, Arbitraries.integers().between(0, 3)).as((f, n) -> r -> {
            int at = headEnd(r);
            return splice(r, Math.max(0, at - 2 * (n % 2)), 0, (f + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
        });
    }

    private static Arbitrary<Mutation> replaceVersion() {
        return Arbitraries.of("HTTP/2.0", "HTTP/1.2", "HTTP/1", "HTTP/11", "http/1.1", "HTTP/1.1 extra", "", "HTTP/9.9")
                .map(v -> r -> {
                    String s = new String(r, StandardCharsets.ISO_8859_1);
                    return s.replaceFirst("HTTP/1\\.[01]", v).getBytes(StandardCharsets.ISO_8859_1);
                });
    }

    private static Arbitrary<Mutation> chunkSize() {
        Arbitrary<String> size = Arbitraries.oneOf(
                Arbitraries.of(
                        "zz", "-5", "ffffffffffffffff", "0x10", " 3", "3 ", "3;ext", "3;" + "e".repeat(5000), ""),
                Arbitraries.strings()
                        .withChars("0123456789abcdefABCDEF;= -x\t")
                        .ofMinLength(0)
                        .ofMaxLength(20));
        return size.map(sz -> r -> {
            String s = new String(r, StandardCharsets.ISO_8859_1);
            int at = headEnd(r) + 2;
            int eol = s.indexOf("\r\n", at);
            if (at >= s.length() || eol < 0) {
                return (s + sz + "\r\n").getBytes(StandardCharsets.ISO_8859_1);
            }
            return (s.substring(0, at) + sz + s.substring(eol)).getBytes(StandardCharsets.ISO_8859_1);
        });
    }

    private static Arbitrary<Mutation> body() {
        Arbitrary<byte[]> replacement = Arbitraries.oneOf(
                Arbitraries.of(
                                "{\"model\":\"tandem-demo\",\"prompt\":\"x\",\"max_tokens\":1000000000}",
                                "{\"model\":\"tandem-demo\",\"prompt\":\"x\"} trailing",
                                "[".repeat(3000),
                                "{\"model\":\"tandem-demo\",\"prompt\":\"x\",\"tools\":[{\"type\":\"function\"}]}",
                                "{\"model\":\"tandem-demo\",\"prompt\":\"\\ud800\"}",
                                "{\"model\":1e999}",
                                "null",
                                "")
                        .map(s -> s.getBytes(StandardCharsets.UTF_8)),
                Arbitraries.of(
                        new byte[] {'{', '"', (byte) 0xc3, (byte) 0x28, '"', '}'},
                        new byte[] {(byte) 0xff, (byte) 0xfe, 0, 0}));
        return replacement.map(b -> r -> {
            int at = headEnd(r) + 2;
            byte[] head = java.util.Arrays.copyOf(r, Math.min(at, r.length));
            String h = new String(head, StandardCharsets.ISO_8859_1)
                    .replaceFirst("Content-Length: \\d+", "Content-Length: " + b.length);
            byte[] hb = h.getBytes(StandardCharsets.ISO_8859_1);
            byte[] out = java.util.Arrays.copyOf(hb, hb.length + b.length);
            System.arraycopy(b, 0, out, hb.length, b.length);
            return out;
        });
    }

    private static Arbitrary<Mutation> oversize() {
        return Arbitraries.of("target", "headers", "body").map(kind -> r -> {
            String s = new String(r, StandardCharsets.ISO_8859_1);
            String out = switch (kind) {
                case "target" -> s.replaceFirst(" /v1/", " /v1/" + "a".repeat(4000));
                case "headers" -> s.replaceFirst("\r\n", "\r\n" + "X-A: 1\r\n".repeat(200));
                default -> s + "x".repeat(5000);
            };
            return out.getBytes(StandardCharsets.ISO_8859_1);
        });
    }

    private static Arbitrary<Mutation> garbage() {
        return Arbitraries.bytes()
                .array(byte[].class)
                .ofMinSize(1)
                .ofMaxSize(200)
                .map(g -> r -> g);
    }
}
