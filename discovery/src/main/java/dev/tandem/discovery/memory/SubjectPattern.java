package dev.tandem.discovery.memory;

/** NATS subject matching: tokens split on '.', {@code *} matches one token, a final {@code >} the rest. */
final class SubjectPattern {

    private SubjectPattern() {}

    static boolean matches(String pattern, String subject) {
        String[] p = pattern.split("\\.", -1);
        String[] s = subject.split("\\.", -1);
        for (int i = 0; i < p.length; i++) {
            if (p[i].equals(">") && i == p.length - 1) {
                return s.length > i;
            }
            if (i >= s.length) {
                return false;
            }
            if (!p[i].equals("*") && !p[i].equals(s[i])) {
                return false;
            }
        }
        return p.length == s.length;
    }
}
