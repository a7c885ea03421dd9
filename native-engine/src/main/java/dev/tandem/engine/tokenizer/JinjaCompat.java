package dev.tandem.engine.tokenizer;

import java.beans.FeatureDescriptor;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

/**
 * Where Jinjava and Jinja (Python) disagree in ways chat templates notice, and the fixes: {@code not} binding
 * looser than comparisons and tests (a source rewrite), and Python's string methods (an EL resolver).
 */
final class JinjaCompat {

    private JinjaCompat() {}

    private static final Pattern END_RAW = Pattern.compile("\\{%[-+]?\\s*endraw\\s*[-+]?%}");

    /**
     * Parenthesises the operand of every {@code not} as Python does: Jinja reads {@code not x is defined} and
     * {@code not a == b} as {@code not (x is defined)} and {@code not (a == b)}, Jinjava as {@code (not x) is defined}
     * and {@code (not a) == b}. The operand runs to the next {@code and}, {@code or}, {@code if}, {@code else},
     * comma, colon or closing bracket at its nesting depth, or to the end of the tag; {@code is not} and
     * {@code not in} are left alone. Text, comments and raw blocks are copied as they are.
     */
    static String parenthesizeNot(String template) {
        StringBuilder out = new StringBuilder(template.length() + 16);
        int i = 0;
        int n = template.length();
        while (i < n) {
            int open = template.indexOf('{', i);
            if (open < 0 || open + 1 >= n) {
                out.append(template, i, n);
                break;
            }
            char kind = template.charAt(open + 1);
            if (kind != '{' && kind != '%' && kind != '#') {
                out.append(template, i, open + 1);
                i = open + 1;
                continue;
            }
            out.append(template, i, open);
            if (kind == '#') {
                int close = template.indexOf("#}", open + 2);
                int end = close < 0 ? n : close + 2;
                out.append(template, open, end);
                i = end;
                continue;
            }
            String closer = kind == '{' ? "}}" : "%}";
            int bodyStart = open + 2;
            if (bodyStart < n && (template.charAt(bodyStart) == '-' || template.charAt(bodyStart) == '+')) {
                bodyStart++;
            }
            int close = findCloser(template, bodyStart, closer);
            if (close < 0) {
                out.append(template, open, n); // unterminated: let Jinjava report it
                break;
            }
            int bodyEnd = close;
            if (bodyEnd > bodyStart && (template.charAt(bodyEnd - 1) == '-' || template.charAt(bodyEnd - 1) == '+')) {
                bodyEnd--;
            }
            String body = template.substring(bodyStart, bodyEnd);
            out.append(template, open, bodyStart)
                    .append(rewriteExpression(body))
                    .append(template, bodyEnd, close + 2);
            i = close + 2;
            if (kind == '%' && body.strip().equals("raw")) {
                Matcher m = END_RAW.matcher(template);
                int end = m.find(i) ? m.end() : n;
                out.append(template, i, end);
                i = end;
            }
        }
        return out.toString();
    }

    /** The index of {@code closer} after {@code from}, outside string literals, or -1. */
    private static int findCloser(String s, int from, String closer) {
        for (int i = from; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\'' || c == '"') {
                i = stringEnd(s, i) - 1;
            } else if (s.startsWith(closer, i)) {
                return i;
            }
        }
        return -1;
    }

    /** The index just past the string literal starting at {@code start}. */
    private static int stringEnd(String s, int start) {
        char quote = s.charAt(start);
        for (int i = start + 1; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\') {
                i++;
            } else if (c == quote) {
                return i + 1;
            }
        }
        return s.length();
    }

    private static String rewriteExpression(String body) {
        List<String> tokens = tokenize(body);
        StringBuilder out = new StringBuilder(body.length() + 8);
        List<Integer> wraps = new ArrayList<>(); // depth of each open "not (", innermost last
        int depth = 0;
        for (int t = 0; t < tokens.size(); t++) {
            String tok = tokens.get(t);
            switch (tok) {
                case "not" -> {
                    String before = significant(tokens, t, -1);
                    String after = significant(tokens, t, +1);
                    if ("is".equals(before) || "in".equals(after)) {
                        out.append(tok);
                    } else {
                        out.append("not (");
                        wraps.add(depth);
                    }
                }
                case "and", "or", "if", "else", ",", ":" -> {
                    closeWraps(out, wraps, depth);
                    out.append(tok);
                }
                case "(", "[", "{" -> {
                    depth++;
                    out.append(tok);
                }
                case ")", "]", "}" -> {
                    closeWraps(out, wraps, depth);
                    depth--;
                    out.append(tok);
                }
                default -> out.append(tok);
            }
        }
        closeWraps(out, wraps, Integer.MIN_VALUE);
        return out.toString();
    }

    /** Closes the open wraps at {@code depth} (all of them for {@code MIN_VALUE}). */
    private static void closeWraps(StringBuilder out, List<Integer> wraps, int depth) {
        while (!wraps.isEmpty() && (depth == Integer.MIN_VALUE || wraps.getLast() >= depth)) {
            wraps.removeLast();
            out.append(')');
        }
    }

    /** The nearest non-whitespace token before ({@code dir} -1) or after (+1) token {@code t}, or null. */
    private static String significant(List<String> tokens, int t, int dir) {
        for (int i = t + dir; i >= 0 && i < tokens.size(); i += dir) {
            if (!tokens.get(i).isBlank()) {
                return tokens.get(i);
            }
        }
        return null;
    }

    /** Whitespace runs, string literals, names, numbers, and every other character alone. */
    private static List<String> tokenize(String s) {
        List<String> tokens = new ArrayList<>();
        int i = 0;
        while (i < s.length()) {
            char c = s.charAt(i);
            int end;
            if (Character.isWhitespace(c)) {
                end = i + 1;
                while (end < s.length() && Character.isWhitespace(s.charAt(end))) {
                    end++;
                }
            } else if (c == '\'' || c == '"') {
                end = stringEnd(s, i);
            } else if (Character.isLetterOrDigit(c) || c == '_') {
                end = i + 1;
                while (end < s.length() && (Character.isLetterOrDigit(s.charAt(end)) || s.charAt(end) == '_')) {
                    end++;
                }
            } else {
                end = i + 1;
            }
            tokens.add(s.substring(i, end));
            i = end;
        }
        return tokens;
    }

    /**
     * Python's {@code str} methods that chat templates call ({@code strip}, {@code lstrip}, {@code rstrip},
     * {@code startswith}, {@code endswith}, {@code split}, {@code upper}, {@code lower}, {@code capitalize},
     * {@code replace}, {@code find}, {@code join}), with Python's semantics; other calls fall through to Jinjava.
     */
    static final class PythonStringMethods extends ELResolver {

        private static final Object UNHANDLED = new Object();

        @Override
        public Object invoke(ELContext context, Object base, Object method, Class<?>[] types, Object[] params) {
            if (!(base instanceof String s) || !(method instanceof String name)) {
                return null;
            }
            Object[] p = params == null ? new Object[0] : params;
            Object result = call(s, name, p);
            if (result == UNHANDLED) {
                return null;
            }
            context.setPropertyResolved(true);
            return result;
        }

        private static Object call(String s, String name, Object[] p) {
            return switch (name) {
                case "strip" -> p.length <= 1 ? rstrip(lstrip(s, chars(p)), chars(p)) : UNHANDLED;
                case "lstrip" -> p.length <= 1 ? lstrip(s, chars(p)) : UNHANDLED;
                case "rstrip" -> p.length <= 1 ? rstrip(s, chars(p)) : UNHANDLED;
                case "startswith" -> p.length == 1 ? anyMatch(p[0], s::startsWith) : UNHANDLED;
                case "endswith" -> p.length == 1 ? anyMatch(p[0], s::endsWith) : UNHANDLED;
                case "split" -> p.length <= 2 ? split(s, chars(p), p.length == 2 ? toInt(p[1]) : -1) : UNHANDLED;
                case "upper" -> p.length == 0 ? s.toUpperCase(Locale.ROOT) : UNHANDLED;
                case "lower" -> p.length == 0 ? s.toLowerCase(Locale.ROOT) : UNHANDLED;
                case "capitalize" ->
                    p.length == 0
                            ? s.isEmpty()
                                    ? s
                                    : s.substring(0, 1).toUpperCase(Locale.ROOT)
                                            + s.substring(1).toLowerCase(Locale.ROOT)
                            : UNHANDLED;
                case "replace" -> p.length == 2 || p.length == 3 ? replace(s, p) : UNHANDLED;
                case "find" -> p.length == 1 ? (long) s.indexOf(String.valueOf(p[0])) : UNHANDLED;
                case "join" -> p.length == 1 && p[0] instanceof Iterable<?> items ? join(s, items) : UNHANDLED;
                default -> UNHANDLED;
            };
        }

        /** The characters argument of strip/split, or null for "whitespace". */
        private static String chars(Object[] p) {
            return p.length == 0 || p[0] == null ? null : String.valueOf(p[0]);
        }

        private static boolean isSpace(char c) {
            return Character.isWhitespace(c) || Character.isSpaceChar(c);
        }

        private static boolean strips(String chars, char c) {
            return chars == null ? isSpace(c) : chars.indexOf(c) >= 0;
        }

        private static String lstrip(String s, String chars) {
            int i = 0;
            while (i < s.length() && strips(chars, s.charAt(i))) {
                i++;
            }
            return s.substring(i);
        }

        private static String rstrip(String s, String chars) {
            int i = s.length();
            while (i > 0 && strips(chars, s.charAt(i - 1))) {
                i--;
            }
            return s.substring(0, i);
        }

        private static boolean anyMatch(Object prefixes, Predicate<String> test) {
            if (prefixes instanceof Collection<?> c) {
                return c.stream().anyMatch(x -> test.test(String.valueOf(x)));
            }
            return test.test(String.valueOf(prefixes));
        }

        private static List<String> split(String s, String sep, int maxSplit) {
            List<String> out = new ArrayList<>();
            if (sep == null) {
                int i = 0;
                while (true) {
                    while (i < s.length() && isSpace(s.charAt(i))) {
                        i++;
                    }
                    if (i >= s.length()) {
                        break;
                    }
                    if (maxSplit >= 0 && out.size() == maxSplit) {
                        out.add(rstrip(s.substring(i), null));
                        break;
                    }
                    int end = i;
                    while (end < s.length() && !isSpace(s.charAt(end))) {
                        end++;
                    }
                    out.add(s.substring(i, end));
                    i = end;
                }
                return out;
            }
            if (sep.isEmpty()) {
                throw new IllegalArgumentException("empty separator");
            }
            int i = 0;
            while (maxSplit < 0 || out.size() < maxSplit) {
                int at = s.indexOf(sep, i);
                if (at < 0) {
                    break;
                }
                out.add(s.substring(i, at));
                i = at + sep.length();
            }
            out.add(s.substring(i));
            return out;
        }

        private static String replace(String s, Object[] p) {
            String old = String.valueOf(p[0]);
            String now = String.valueOf(p[1]);
            int count = p.length == 3 ? toInt(p[2]) : -1;
            if (count < 0) {
                return s.replace(old, now);
            }
            StringBuilder out = new StringBuilder();
            int i = 0;
            for (int done = 0; done < count; done++) {
                int at = s.indexOf(old, i);
                if (at < 0) {
                    break;
                }
                out.append(s, i, at).append(now);
                i = at + old.length();
                if (old.isEmpty()) {
                    if (i >= s.length()) {
                        break;
                    }
                    out.append(s.charAt(i++));
                }
            }
            return out.append(s, Math.min(i, s.length()), s.length()).toString();
        }

        private static String join(String sep, Iterable<?> items) {
            StringBuilder out = new StringBuilder();
            boolean first = true;
            for (Object item : items) {
                if (!first) {
                    out.append(sep);
                }
                out.append(item);
                first = false;
            }
            return out.toString();
        }

        private static int toInt(Object o) {
            return o instanceof Number num ? num.intValue() : Integer.parseInt(String.valueOf(o));
        }

        @Override
        public Class<?> getCommonPropertyType(ELContext context, Object base) {
            return null;
        }

        @Override
        public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
            return null;
        }

        @Override
        public Class<?> getType(ELContext context, Object base, Object property) {
            return null;
        }

        @Override
        public Object getValue(ELContext context, Object base, Object property) {
            return null;
        }

        @Override
        public boolean isReadOnly(ELContext context, Object base, Object property) {
            return true;
        }

        @Override
        public void setValue(ELContext context, Object base, Object property, Object value) {}
    }
}
