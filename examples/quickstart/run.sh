#!/usr/bin/env bash
# Builds and runs the quickstart against the installed artifacts (mvn -B install -DskipTests at the
# root first), after checking that the README shows this very program.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SRC="$HERE/src/main/java/Quickstart.java"
# the README's first java block after the "Use it from your project" heading
shown="$(awk '/^## Use it from your project/ {s = 1} s && /^```java/ {p = 1; next} p && /^```/ {exit} p' "$HERE/../../README.md")"
if [[ "$shown" != "$(cat "$SRC")" ]]; then
    echo "quickstart: README.md's example differs from $SRC" >&2
    diff <(echo "$shown") "$SRC" >&2 || true
    exit 1
fi
cd "$HERE"
mvn -B -q compile exec:java
