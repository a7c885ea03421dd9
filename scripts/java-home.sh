# Sourced by bin/tandem and scripts/test: exports JAVA_HOME as the first JDK >= 25 found
# (JAVA_HOME itself when it is one, else the JDKs under /usr/lib/jvm), or explains what is missing.
tandem_java_major() {
  "$1/bin/java" -XshowSettings:properties -version 2>&1 | awk -F' = ' '/java.specification.version/ {print $2; exit}'
}
tandem_find_jdk() {
  local candidate major
  for candidate in "${JAVA_HOME:-}" /usr/lib/jvm/*; do
    [ -n "$candidate" ] && [ -x "$candidate/bin/java" ] && [ -x "$candidate/bin/javac" ] || continue
    major=$(tandem_java_major "$candidate")
    if [ -n "$major" ] && [ "${major%%.*}" -ge 25 ] 2>/dev/null; then
      export JAVA_HOME="$candidate"
      return 0
    fi
  done
  echo "tandem: needs a JDK 25 or newer (with javac); none found in JAVA_HOME (${JAVA_HOME:-unset}) or /usr/lib/jvm." >&2
  echo "tandem: install one (e.g. Temurin 25) and set JAVA_HOME to it." >&2
  return 1
}
