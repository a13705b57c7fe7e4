#!/usr/bin/env bash
# check.sh [--dry-run] RESULT_DIR - the GPU check, run from the folder pack.sh made, offline, in
# about 10 minutes on one H100/H200: nvidia-smi; the whole JUnit suite with cuda as its device
# (-Ddeepkern.test.devices=cuda, the gpu-tagged tests included; at most 5 minutes); compute-sanitizer
# (memcheck, racecheck, synccheck) over the correctness gate of every op on a small case;
# `deepkern bench --device cuda` with PyTorch's times (torch_peer.py) merged in. Logs,
# results.json, table.md and roofline.png go to RESULT_DIR. --dry-run does the same steps on a
# machine without a GPU (the cpu device, the gpu tests only, sanitizer and PyTorch-on-cuda
# skipped with a message), so CI tests the script itself.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dry=0
[[ "${1:-}" == "--dry-run" ]] && { dry=1; shift; }
[[ $# -eq 1 ]] || { echo "usage: check.sh [--dry-run] RESULT_DIR"; exit 2; }
mkdir -p "$1"
res="$(cd "$1" && pwd)"
device=cuda
quick=()
((dry)) && { device=cpu; quick=(--quick); }
export DEEPKERN_COMMIT="$(cat "$here/COMMIT")"
failed=0
step() { echo; echo "== $*"; }

# Java: the packed runtime, unpacked once beside the scripts (the machine may have none)
[[ -x "$here/jre/bin/java" ]] || tar -C "$here" -xzf "$here/jre.tar.gz"
cache="$(mktemp -d)"
trap 'rm -rf "$cache"' EXIT
java=("$here/jre/bin/java" --enable-native-access=ALL-UNNAMED -Dorg.bytedeco.javacpp.cachedir="$cache" -Xss4m)
dk=("${java[@]}" -jar "$here/deepkern-cli.jar")

step "nvidia-smi"
if ((dry)); then echo "dry run: no GPU, skipped"; else nvidia-smi 2>&1 | tee "$res/nvidia-smi.log"; fi
"${dk[@]}" info 2>&1 | tee "$res/info.log"

step "the test suite on $device"
suite=(--include-tag gpu)
((dry)) || suite=(--exclude-tag none)
timeout 300 "${java[@]}" -Ddeepkern.test.devices="$device" -jar "$here/junit-platform-console-standalone.jar" execute \
    --disable-banner --class-path "$here/test-classes:$here/deepkern-cli.jar" --scan-class-path "$here/test-classes" \
    "${suite[@]}" --reports-dir "$res/junit" >"$res/tests.log" 2>&1 || failed=1
tail -40 "$res/tests.log"

step "compute-sanitizer over every op's correctness gate"
if ((dry)); then
    echo "dry run: compute-sanitizer skipped (no GPU); running the gate alone"
    "${dk[@]}" bench --device "$device" --quick --check-only 2>&1 | tee "$res/sanitizer.log" || failed=1
else
    for tool in memcheck racecheck synccheck; do
        compute-sanitizer --tool "$tool" --error-exitcode 99 "${dk[@]}" bench --device cuda --quick --check-only \
            2>&1 | tee "$res/sanitizer-$tool.log" || failed=1
    done
fi

step "bench on $device with the peer"
"${dk[@]}" bench --device "$device" "${quick[@]}" --plan >"$res/plan.tsv"
peer=()
if ((dry)); then
    echo "dry run: PyTorch on cuda skipped; the peer column stays n/a"
elif python3 "$here/torch_peer.py" "$res/plan.tsv" "$res/peers.tsv" 2>&1 | tee "$res/torch_peer.log"; then
    peer=(--peer-times "$res/peers.tsv")
else
    failed=1
fi
"${dk[@]}" bench --device "$device" "${quick[@]}" "${peer[@]}" --out "$res" 2>"$res/bench-progress.log" \
    | tee "$res/bench.log" || failed=1

step "done: $( ((failed)) && echo FAILED || echo passed ), results in $res"
exit $failed
