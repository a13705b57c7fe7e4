#!/usr/bin/env bash
# check-no-cuda-build.sh - builds libdeepkern as a machine without nvcc would (DEEPKERN_CUDA=OFF)
# and checks that it loads, says why cuda is missing, and computes on the cpu.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="$(mktemp -d)"
trap 'rm -rf "$build"' EXIT
cmake -S "$here" -B "$build" -DDEEPKERN_CUDA=OFF -DCMAKE_BUILD_TYPE=Release >"$build/configure.log" 2>&1 \
    || { cat "$build/configure.log"; exit 1; }
grep -q "WITHOUT the cuda backend" "$build/configure.log" || { echo "no build message about the missing cuda backend"; exit 1; }
cmake --build "$build" --parallel 2 >"$build/build.log" 2>&1 || { cat "$build/build.log"; exit 1; }
cat >"$build/smoke.c" <<'C'
#include <stdio.h>
#include <string.h>
#include "deepkern.h"
int main(void) {
    int32_t available = 1; const char* reason = NULL;
    if (dk_backend_info(DK_DEVICE_CUDA, &available, &reason) != DK_SUCCESS || available || !strstr(reason, "not built")) {
        printf("cuda should be 'not built', got available=%d reason=%s\n", available, reason ? reason : "");
        return 1;
    }
    dk_context* ctx = NULL;
    if (dk_context_create(DK_DEVICE_CUDA, 0, &ctx) != DK_ERROR_UNAVAILABLE) { printf("cuda context created?\n"); return 1; }
    if (dk_context_create(DK_DEVICE_CPU, 0, &ctx) != DK_SUCCESS) { printf("%s\n", dk_last_error()); return 1; }
    float x[3] = {-1.f, 0.f, 1.f}, y[3];
    int64_t shape[1] = {3};
    dk_tensor tx = {x, {DK_DEVICE_CPU, 0}, 1, {DK_DTYPE_FLOAT, 32, 1}, shape, NULL, 0};
    dk_tensor ty = tx; ty.data = y;
    dk_activation gelu = {DK_ACT_GELU, 0.f, 0.f};
    if (dk_activation_forward(ctx, &gelu, &tx, NULL, &ty) != DK_SUCCESS) { printf("%s\n", dk_last_error()); return 1; }
    dk_context_destroy(ctx);
    if (y[2] < 0.8413f || y[2] > 0.8414f) { printf("gelu(1) = %f\n", y[2]); return 1; }
    printf("no-cuda build: cuda '%s'; gelu(1) = %.6f\n", reason, y[2]);
    return 0;
}
C
cc -I"$here/include" "$build/smoke.c" -L"$build" -ldeepkern -Wl,-rpath,"$build" -o "$build/smoke"
"$build/smoke"
