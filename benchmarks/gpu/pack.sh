#!/usr/bin/env bash
# pack.sh [DIR] - everything benchmarks/gpu/check.sh needs on a GPU machine that has no Maven,
# no network and maybe no Java, in one folder (default benchmarks/target/gpu-pack, < 64 MiB):
# a jlink'd Temurin runtime (needs only glibc 2.17), the CLI jar, the library's test classes with the
# JUnit console launcher, the scripts and the PyTorch-equivalence table they read. (Not the JMH jar:
# check.sh does not run it, and it would carry a second copy of the native library.)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:-$root/benchmarks/target/gpu-pack}"
# Temurin's runtime needs only glibc 2.17 on the GPU machine; another JDK works where it is newer
jdk="${DEEPKERN_JLINK_JDK:-/usr/lib/jvm/temurin-25-jdk-amd64}"
[[ -x "$jdk/bin/jlink" ]] || jdk="$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")"
junit=org.junit.platform:junit-platform-console-standalone:1.14.4

cd "$root"
mvn -B -q install -DskipTests
mvn -B -q dependency:copy -Dartifact=$junit -DoutputDirectory="$root/benchmarks/target" -Dmdep.stripVersion=true

rm -rf "$out"
mkdir -p "$out"
# java.desktop: AWT, which XChart draws roofline.png with
"$jdk/bin/jlink" --add-modules java.base,java.logging,java.management,jdk.unsupported,java.xml,jdk.management,java.desktop \
    --strip-debug --no-header-files --no-man-pages --output "$out/jre"
tar -C "$out" -czf "$out/jre.tar.gz" jre
rm -rf "$out/jre"
cp java/cli/target/deepkern-cli.jar benchmarks/target/junit-platform-console-standalone.jar "$out/"
cp -r java/library/target/test-classes "$out/test-classes"
cp benchmarks/gpu/check.sh benchmarks/gpu/torch_peer.py java/torch/src/main/resources/org/deepkern/torch/activations.tsv "$out/"
git rev-parse --short HEAD >"$out/COMMIT" 2>/dev/null || echo unknown >"$out/COMMIT"
size=$(du -sm "$out" | cut -f1)
echo "pack: $out ($size MiB)"
((size < 64)) || { echo "pack: over 64 MiB"; exit 1; }
