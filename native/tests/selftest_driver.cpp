// selftest_driver.cpp - dk_selftest: validates a runtime self-test's arguments (kernels/selftest/selftest.cu
// lists each test's tensors) and runs it on the context's backend (cuda or emu).
#include <cstring>

#include "api.h"
#include "selftest_api.h"
#include "selftest/selftest.h"
#include "validate.h"

using namespace dk;

namespace {

SelfTest find_test(const char* name) {
    if (!name) fail(DK_ERROR_INVALID_ARGUMENT, "argument 'name': NULL");
    std::string known;
    for (size_t i = 0; i < sizeof(kSelfTestNames) / sizeof(kSelfTestNames[0]); ++i) {
        if (std::strcmp(name, kSelfTestNames[i]) == 0) return SelfTest(i);
        known += (i ? ", " : "") + std::string(kSelfTestNames[i]);
    }
    fail(DK_ERROR_INVALID_ARGUMENT, "argument 'name': expected one of " + known + ", got '" + name + "'");
}


void check_vector(const Checked& t) {
    if (t.shape.size() != 1)
        fail(DK_ERROR_INVALID_ARGUMENT, std::string("argument '") + t.name + "': expected a 1-D tensor, got shape " +
                                            shape_string(t.shape));
    if (t.numel > 0x7fffffffll)
        fail(DK_ERROR_INVALID_ARGUMENT, std::string("argument '") + t.name + "': at most 2^31-1 elements, got " +
                                            std::to_string(t.numel));
}

}  // namespace

extern "C" {

DK_API dk_status dk_selftest(dk_context* ctx, const char* name, const dk_tensor* a, const dk_tensor* b,
                             dk_tensor* out) {
    return guard_ctx("dk_selftest", ctx, [&] {
        const SelfTest test = find_test(name);
        if (ctx->device.device_type == DK_DEVICE_CPU)
            fail(DK_ERROR_NOT_SUPPORTED, "runtime self-tests run on emu and cuda contexts, not on cpu");
        Checked x = check_tensor(ctx, "a", a);
        Checked o = check_tensor(ctx, "out", out);
        check_disjoint(o, x);
        SelfTestArgs args{test, x.dtype, x.data, nullptr, o.data, x.numel, o.numel};
        if (test == SelfTest::mma_gemm) {
            if (!b) fail(DK_ERROR_INVALID_ARGUMENT, "argument 'b': mma_gemm takes two inputs, got NULL");
            Checked y = check_tensor(ctx, "b", b);
            if (x.dtype != DType::f16 && x.dtype != DType::bf16)
                fail(DK_ERROR_INVALID_ARGUMENT, std::string("argument 'a': expected dtype f16 or bf16, got ") +
                                                    dtype_name(x.dtype));
            check_same_dtype(y, x);
            check_dtype(o, DType::f32);
            check_shape(x, {64, 64});
            check_shape(y, {64, 64});
            check_shape(o, {64, 64});
            check_disjoint(o, y);
            args.b = y.data;
        } else {
            if (b)
                fail(DK_ERROR_INVALID_ARGUMENT, std::string("argument 'b': ") + name +
                                                    " takes one input, expected NULL");
            check_vector(x);
            check_vector(o);
            const int64_t n = x.numel;
            if (test == SelfTest::shared_histogram) {
                check_dtype(x, DType::i32);
                check_dtype(o, DType::i32);
                if (o.numel < 1 || o.numel > 12288)
                    fail(DK_ERROR_INVALID_ARGUMENT, "argument 'out': expected 1 to 12288 bins, got " +
                                                        std::to_string(o.numel));
            } else {
                check_dtype(x, DType::f32);
                check_dtype(o, DType::f32);
                const int64_t expect = test == SelfTest::block_reduce ? (n + 255) / 256
                                       : test == SelfTest::warp_reduce ? (n + 31) / 32
                                                                       : n;
                check_shape(o, {expect});
            }
        }
        switch (ctx->device.device_type) {
            DK_IF_CUDA(case DK_DEVICE_CUDA: dk::cuda::selftest(ctx->exec, args); break;)
            DK_IF_EMU(case DK_DEVICE_EMU: dk::emu::selftest(ctx->exec, args); break;)
            default: fail(DK_ERROR_INTERNAL, "no backend for this context");
        }
    });
}

}  // extern "C"
