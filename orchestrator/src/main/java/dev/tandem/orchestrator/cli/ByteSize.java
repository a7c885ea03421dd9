package dev.tandem.orchestrator.cli;

import java.util.Locale;

/** Sizes as users write them: {@code 4096}, {@code 64MiB}, {@code 8GiB}, {@code 1.5GB}, {@code 512k}. */
final class ByteSize {

    private ByteSize() {}

    static long parse(String text) {
        String t = text.trim();
        String lower = t.toLowerCase(Locale.ROOT);
        long unit = 1;
        String[][] units = {
            {"kib", "1024"}, {"mib", "1048576"}, {"gib", "1073741824"}, {"tib", "1099511627776"},
            {"kb", "1000"}, {"mb", "1000000"}, {"gb", "1000000000"}, {"tb", "1000000000000"},
            {"k", "1024"}, {"m", "1048576"}, {"g", "1073741824"}, {"b", "1"}
        };
        for (String[] u : units) {
            if (lower.endsWith(u[0])) {
                unit = Long.parseLong(u[1]);
                t = t.substring(0, t.length() - u[0].length()).trim();
                break;
            }
        }
        double v;
        try {
            v = Double.parseDouble(t);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a size: '" + text + "' (e.g. 4096, 64MiB, 8GiB)");
        }
        if (!(v >= 0) || v * unit > Long.MAX_VALUE) {
            throw new IllegalArgumentException("not a size: '" + text + "'");
        }
        return (long) (v * unit);
    }
}
