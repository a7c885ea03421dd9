package dev.tandem.orchestrator.frontend;

import com.fasterxml.jackson.databind.JsonNode;

/** Typed, validated reads of request fields; a wrong type or range is a 400 naming the field. */
final class Fields {

    private Fields() {}

    static boolean present(JsonNode body, String name) {
        JsonNode n = body.get(name);
        return n != null && !n.isNull();
    }

    static Double optNumber(JsonNode body, String name, double min, double max) {
        if (!present(body, name)) {
            return null;
        }
        JsonNode n = body.get(name);
        if (!n.isNumber()) {
            throw ApiException.invalid("'" + name + "' must be a number", name);
        }
        double v = n.asDouble();
        if (!(v >= min && v <= max)) {
            throw ApiException.invalid("'" + name + "' must be between " + fmt(min) + " and " + fmt(max), name);
        }
        return v;
    }

    static Long optInteger(JsonNode body, String name, long min, long max) {
        if (!present(body, name)) {
            return null;
        }
        JsonNode n = body.get(name);
        if (!n.isIntegralNumber() && !(n.isNumber() && n.asDouble() == Math.rint(n.asDouble()))) {
            throw ApiException.invalid("'" + name + "' must be an integer", name);
        }
        if (!n.canConvertToLong()) {
            throw ApiException.invalid("'" + name + "' is out of range", name);
        }
        long v = n.asLong();
        if (v < min || v > max) {
            throw ApiException.invalid("'" + name + "' must be between " + min + " and " + max, name);
        }
        return v;
    }

    static boolean optBoolean(JsonNode body, String name, boolean dflt) {
        if (!present(body, name)) {
            return dflt;
        }
        JsonNode n = body.get(name);
        if (!n.isBoolean()) {
            throw ApiException.invalid("'" + name + "' must be a boolean", name);
        }
        return n.asBoolean();
    }

    static String optString(JsonNode body, String name) {
        if (!present(body, name)) {
            return null;
        }
        JsonNode n = body.get(name);
        if (!n.isTextual()) {
            throw ApiException.invalid("'" + name + "' must be a string", name);
        }
        return n.asText();
    }

    static String requireString(JsonNode body, String name) {
        String s = optString(body, name);
        if (s == null) {
            throw ApiException.invalid("'" + name + "' is required", name);
        }
        return s;
    }

    /** An array of integer token ids, each within [0, 2^31). */
    static int[] tokenIds(JsonNode array, String name) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode t = array.get(i);
            if (!t.isIntegralNumber() || !t.canConvertToInt() || t.asInt() < 0) {
                throw ApiException.invalid("'" + name + "' must hold non-negative integer token ids", name);
            }
            out[i] = t.asInt();
        }
        return out;
    }

    private static String fmt(double d) {
        return d == Math.rint(d) && Math.abs(d) < 1e15 ? String.valueOf((long) d) : String.valueOf(d);
    }
}
