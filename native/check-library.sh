#!/usr/bin/env bash
# check-library.sh LIB - what the packaged libdeepkern.so must be: only dk_ symbols exported,
# no dynamic CUDA runtime (it is linked statically), only libc/libm beyond the loader, and, when
# the cuda backend is built in, kernels for sm_80 and sm_90a plus PTX.
set -euo pipefail
lib="$1"
fail() { echo "check-library: $*" >&2; exit 1; }

needed=$(readelf -d "$lib" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
echo "check-library: NEEDED: $(echo $needed)"
grep -qi cudart <<<"$needed" && fail "depends on the CUDA runtime dynamically"
for dep in $needed; do
    case "$dep" in libc.so.*|libm.so.*|ld-linux-x86-64.so.*|libpthread.so.*|libdl.so.*|librt.so.*) ;;
        *) fail "unexpected dependency $dep" ;;
    esac
done

exported=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -v '^dk_' || true)
[[ -z "$exported" ]] || fail "exports symbols other than dk_*: $(echo $exported | head -c 300)"

if readelf -S "$lib" | grep -q '\.nv_fatbin'; then
    arches=$(strings -a "$lib" | grep -o -- '-arch sm_[0-9a-z]*' | sort -u)
    grep -qx -- '-arch sm_90a' <<<"$arches" || fail "cuda backend built but no sm_90a code"
    grep -qx -- '-arch sm_80' <<<"$arches" || fail "cuda backend built but no sm_80 code"
    echo "check-library: cuda kernels present for sm_80 and sm_90a"
else
    echo "check-library: built without the cuda backend"
fi
echo "check-library: ok"
