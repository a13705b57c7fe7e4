// emu_test.cpp - the kernel emulator through the C API: every self-test against a double
// reference in all three schedule orders (with identical results), the planted bugs caught with
// a message naming kernel, block and thread, launch limits, GELU against the cpu backend, and
// the timings (1M-element GELU, fiber switch). Exits non-zero on the first failure.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "deepkern.h"
#include "emu_checks.h"
#include "selftest_api.h"
#include "deepkern/numeric.cuh"

double emu_fiber_switch_ns();  // fiber_bench.cpp
void run_dialect_checks();  // dialect_checks.cpp, wgmma_checks.cpp, tma_checks.cpp: failures in emu_checks::failures
void run_wgmma_checks();
void run_tma_checks();

namespace {

int failures = 0;

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            std::fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            std::fprintf(stderr, __VA_ARGS__);                                 \
            std::fprintf(stderr, "\n");                                        \
            ++failures;                                                        \
        }                                                                      \
    } while (0)

void ok(dk_status s, const char* what) {
    if (s != DK_SUCCESS) {
        std::fprintf(stderr, "FATAL %s: status %d: %s\n", what, int(s), dk_last_error());
        std::exit(1);
    }
}

// A device buffer plus the dk_tensor describing it.
struct Tensor {
    dk_context* ctx;
    void* data = nullptr;
    std::vector<int64_t> shape;
    dk_tensor t{};
    Tensor(dk_context* c, std::vector<int64_t> s, dk_dtype dtype, uint64_t offset = 0) : ctx(c), shape(std::move(s)) {
        int64_t n = 1;
        for (int64_t d : shape) n *= d;
        ok(dk_malloc(ctx, n * dtype.bits / 8 + int64_t(offset), &data), "dk_malloc");
        dk_device dev;
        ok(dk_context_device(ctx, &dev), "dk_context_device");
        t = dk_tensor{data, dev, int32_t(shape.size()), dtype, shape.data(), nullptr, offset};
    }
    ~Tensor() { dk_free(ctx, data); }
    char* at() const { return static_cast<char*>(data) + t.byte_offset; }
    template <typename T> void put(const std::vector<T>& v) {
        ok(dk_copy_from_host(ctx, at(), v.data(), int64_t(v.size() * sizeof(T))), "copy in");
    }
    template <typename T> std::vector<T> get(size_t n) const {
        std::vector<T> v(n);
        ok(dk_copy_to_host(ctx, v.data(), at(), int64_t(n * sizeof(T))), "copy out");
        return v;
    }
};

const dk_dtype f32{DK_DTYPE_FLOAT, 32, 1}, f16{DK_DTYPE_FLOAT, 16, 1}, bf16{DK_DTYPE_BFLOAT, 16, 1},
    i32{DK_DTYPE_INT, 32, 1};

void set_schedule(dk_context* ctx, int schedule, uint64_t seed = 7) {
    dk_emu_options o;
    ok(dk_emu_get_options(ctx, &o), "get options");
    o.schedule = schedule;
    o.schedule_seed = seed;
    ok(dk_emu_set_options(ctx, &o), "set options");
}

std::vector<float> random_floats(size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    std::vector<float> v(n);
    for (float& x : v) x = u(rng);
    return v;
}

// |got - want| <= tol * scale for every element; returns the number of mismatches.
int compare(const char* what, const std::vector<float>& got, const std::vector<double>& want,
            const std::vector<double>& scale, double tol) {
    int bad = 0;
    for (size_t i = 0; i < want.size(); ++i)
        if (!(std::fabs(got[i] - want[i]) <= tol * scale[i])) {
            if (bad++ < 3) std::fprintf(stderr, "  %s[%zu] = %.9g, want %.9g\n", what, i, got[i], want[i]);
        }
    CHECK(bad == 0, "%s: %d mismatches", what, bad);
    return bad;
}

constexpr int64_t kN = 100003;  // not a multiple of any tile

// Runs a one-input f32 test; returns out.
std::vector<float> run_f32(dk_context* ctx, const char* name, const std::vector<float>& a, int64_t out_n,
                           uint64_t offset = 0) {
    Tensor x(ctx, {int64_t(a.size())}, f32, offset), y(ctx, {out_n}, f32);
    x.put(a);
    ok(dk_selftest(ctx, name, &x.t, nullptr, &y.t), name);
    return y.get<float>(size_t(out_n));
}

// Every correct self-test; returns all outputs concatenated, to compare across schedules.
std::vector<float> correct_tests(dk_context* ctx) {
    std::vector<float> all;
    auto keep = [&](const std::vector<float>& v) { all.insert(all.end(), v.begin(), v.end()); };
    const std::vector<float> a = random_floats(size_t(kN), 1);

    {  // block_reduce
        std::vector<float> got = run_f32(ctx, "block_reduce", a, (kN + 255) / 256);
        std::vector<double> want(got.size(), 0.0), scale(got.size(), 0.0);
        for (int64_t i = 0; i < kN; ++i) want[size_t(i / 256)] += a[size_t(i)], scale[size_t(i / 256)] += std::fabs(a[size_t(i)]);
        compare("block_reduce", got, want, scale, 1e-6);
        keep(got);
    }
    {  // warp_reduce
        std::vector<float> got = run_f32(ctx, "warp_reduce", a, (kN + 31) / 32);
        std::vector<double> want(got.size(), 0.0), scale(got.size(), 0.0);
        for (int64_t i = 0; i < kN; ++i) want[size_t(i / 32)] += a[size_t(i)], scale[size_t(i / 32)] += std::fabs(a[size_t(i)]);
        compare("warp_reduce", got, want, scale, 1e-6);
        keep(got);
    }
    {  // block_scan
        std::vector<float> got = run_f32(ctx, "block_scan", a, kN);
        std::vector<double> want(static_cast<size_t>(kN)), scale(static_cast<size_t>(kN));
        double s = 0, m = 0;
        for (int64_t i = 0; i < kN; ++i) {
            if (i % 256 == 0) s = m = 0;
            s += a[size_t(i)];
            m += std::fabs(a[size_t(i)]);
            want[size_t(i)] = s;
            scale[size_t(i)] = m;
        }
        compare("block_scan", got, want, scale, 1e-6);
        keep(got);
    }
    for (uint64_t offset : {0, 4}) {  // cp_async_pipeline: 16-byte copies, then 4-byte copies
        std::vector<float> got = run_f32(ctx, "cp_async_pipeline", a, kN, offset);
        std::vector<double> want(static_cast<size_t>(kN)), scale(static_cast<size_t>(kN), 0.0);
        for (int64_t i = 0; i < kN; ++i) want[size_t(i)] = 2.0f * a[size_t(i)] + 1.0f;
        compare(offset ? "cp_async_pipeline (4-byte)" : "cp_async_pipeline", got, want, scale, 0.0);
        keep(got);
    }
    {  // shared_histogram
        const int64_t bins = 1000;
        std::mt19937 rng(2);
        std::uniform_int_distribution<int32_t> u(-5, int32_t(bins) + 5);
        std::vector<int32_t> v(static_cast<size_t>(kN));
        for (auto& x : v) x = u(rng);
        Tensor x(ctx, {kN}, i32), y(ctx, {bins}, i32);
        x.put(v);
        ok(dk_selftest(ctx, "shared_histogram", &x.t, nullptr, &y.t), "shared_histogram");
        std::vector<int32_t> got = y.get<int32_t>(size_t(bins)), want(size_t(bins), 0);
        for (int32_t x : v)
            if (x >= 0 && x < bins) ++want[size_t(x)];
        CHECK(got == want, "shared_histogram differs from the reference");
        for (int32_t c : got) all.push_back(float(c));
    }
    for (dk_dtype dt : {f16, bf16}) {  // mma_gemm
        const bool is_bf16 = dt.code == DK_DTYPE_BFLOAT;
        std::vector<float> af = random_floats(64 * 64, 3), bf = random_floats(64 * 64, 4);
        std::vector<uint16_t> ab(af.size()), bb(bf.size());
        for (size_t i = 0; i < af.size(); ++i) {  // round the inputs; the reference uses the rounded values
            ab[i] = is_bf16 ? dk::float_to_bf16_bits(af[i]) : dk::float_to_half_bits(af[i]);
            bb[i] = is_bf16 ? dk::float_to_bf16_bits(bf[i]) : dk::float_to_half_bits(bf[i]);
            af[i] = is_bf16 ? dk::bf16_bits_to_float(ab[i]) : dk::half_bits_to_float(ab[i]);
            bf[i] = is_bf16 ? dk::bf16_bits_to_float(bb[i]) : dk::half_bits_to_float(bb[i]);
        }
        Tensor x(ctx, {64, 64}, dt), w(ctx, {64, 64}, dt), y(ctx, {64, 64}, f32);
        x.put(ab);
        w.put(bb);
        ok(dk_selftest(ctx, "mma_gemm", &x.t, &w.t, &y.t), "mma_gemm");
        std::vector<float> got = y.get<float>(64 * 64);
        std::vector<double> want(64 * 64, 0.0), scale(64 * 64, 0.0);
        for (int m = 0; m < 64; ++m)
            for (int n = 0; n < 64; ++n)
                for (int k = 0; k < 64; ++k) {
                    want[size_t(m * 64 + n)] += double(af[size_t(m * 64 + k)]) * bf[size_t(k * 64 + n)];
                    scale[size_t(m * 64 + n)] += std::fabs(double(af[size_t(m * 64 + k)]) * bf[size_t(k * 64 + n)]);
                }
        compare(is_bf16 ? "mma_gemm bf16" : "mma_gemm f16", got, want, scale, 1e-6);
        keep(got);
    }
    return all;
}

// A planted bug must fail with DK_ERROR_KERNEL and a message naming kernel, block and thread.
void expect_caught(dk_context* ctx, const char* name) {
    const std::vector<float> a = random_floats(1000, 5);
    Tensor x(ctx, {1000}, f32), y(ctx, {1000}, f32);
    x.put(a);
    const dk_status s = dk_selftest(ctx, name, &x.t, nullptr, &y.t);
    const std::string msg = dk_last_error();
    CHECK(s == DK_ERROR_KERNEL, "%s: status %d (%s)", name, int(s), msg.c_str());
    CHECK(msg.find(std::string("kernel '") + name + "'") != std::string::npos && msg.find("block (") != std::string::npos &&
              msg.find("thread (") != std::string::npos,
          "%s: message does not name kernel, block and thread: %s", name, msg.c_str());
    std::printf("  caught %s: %s\n", name, msg.c_str());
}

void test_gelu(dk_context* emu) {
    dk_context* cpu;
    ok(dk_context_create(DK_DEVICE_CPU, 0, &cpu), "cpu context");
    const int64_t n = (1 << 20) + 3;
    std::vector<float> x = random_floats(size_t(n), 6);
    for (float& v : x) v *= 6.0f;
    for (int kind : {DK_ACT_GELU, DK_ACT_GELU_TANH}) {
        const dk_activation act{kind, 0.0f, 0.0f};
        Tensor xe(emu, {n}, f32), ye(emu, {n}, f32), xc(cpu, {n}, f32), yc(cpu, {n}, f32);
        xe.put(x);
        xc.put(x);
        ok(dk_activation_forward(cpu, &act, &xc.t, nullptr, &yc.t), "gelu cpu");
        ok(dk_activation_forward(emu, &act, &xe.t, nullptr, &ye.t), "gelu emu");  // warm-up, then timed
        const auto t0 = std::chrono::steady_clock::now();
        ok(dk_activation_forward(emu, &act, &xe.t, nullptr, &ye.t), "gelu emu");
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        std::vector<float> ge = ye.get<float>(size_t(n)), gc = yc.get<float>(size_t(n));
        int bad = 0;
        for (size_t i = 0; i < ge.size(); ++i)
            if (!(std::fabs(ge[i] - gc[i]) <= 1e-6 * std::fabs(gc[i]) + 1e-30)) ++bad;
        CHECK(bad == 0, "gelu (kind %d): %d elements differ from cpu by more than 1e-6 relative", kind, bad);
        std::printf("  gelu%s on emu, %lld elements: %.1f ms\n", kind == DK_ACT_GELU_TANH ? " (tanh)" : "", (long long)n, ms);
    }
    ok(dk_context_destroy(cpu), "destroy cpu");
}

void test_validation(dk_context* emu) {
    Tensor x(emu, {300}, f32), y(emu, {300}, f32), bins(emu, {1000}, i32), vals(emu, {300}, i32);
    CHECK(dk_selftest(emu, "no_such_test", &x.t, nullptr, &y.t) == DK_ERROR_INVALID_ARGUMENT &&
              std::strstr(dk_last_error(), "'name'"),
          "unknown name: %s", dk_last_error());
    CHECK(dk_selftest(emu, "block_reduce", &x.t, nullptr, &y.t) == DK_ERROR_INVALID_ARGUMENT &&
              std::strstr(dk_last_error(), "'out'") && std::strstr(dk_last_error(), "expected shape [2]"),
          "wrong out shape: %s", dk_last_error());
    CHECK(dk_selftest(emu, "block_scan", &x.t, &x.t, &y.t) == DK_ERROR_INVALID_ARGUMENT, "second input");
    CHECK(dk_selftest(emu, "mma_gemm", &x.t, nullptr, &y.t) == DK_ERROR_INVALID_ARGUMENT, "mma without b");
    dk_context* cpu;
    ok(dk_context_create(DK_DEVICE_CPU, 0, &cpu), "cpu context");
    {
        Tensor cx(cpu, {300}, f32), cy(cpu, {300}, f32);
        CHECK(dk_selftest(cpu, "block_scan", &cx.t, nullptr, &cy.t) == DK_ERROR_NOT_SUPPORTED, "cpu self-test");
        dk_emu_options o;
        CHECK(dk_emu_get_options(cpu, &o) == DK_ERROR_INVALID_ARGUMENT, "options on cpu");
    }
    ok(dk_context_destroy(cpu), "destroy cpu");
    // the shared-memory limit: 1000 bins need 4000 bytes
    dk_emu_options o;
    ok(dk_emu_get_options(emu, &o), "get options");
    CHECK(o.shared_limit == DK_SHARED_LIMIT_SM86 && o.schedule == DK_EMU_FORWARD && o.threads == 0, "default options");
    dk_emu_options small = o;
    small.shared_limit = 1024;
    ok(dk_emu_set_options(emu, &small), "set options");
    const dk_status s = dk_selftest(emu, "shared_histogram", &vals.t, nullptr, &bins.t);
    CHECK(s == DK_ERROR_KERNEL && std::strstr(dk_last_error(), "shared_histogram") &&
              std::strstr(dk_last_error(), "limit"),
          "shared limit: %d %s", int(s), dk_last_error());
    small.schedule = 9;
    CHECK(dk_emu_set_options(emu, &small) == DK_ERROR_INVALID_ARGUMENT, "bad schedule accepted");
    ok(dk_emu_set_options(emu, &o), "restore options");
}

}  // namespace

int main() {
    dk_context* ctx;
    ok(dk_context_create(DK_DEVICE_EMU, 0, &ctx), "emu context");

    std::vector<float> results[3];
    const char* names[3] = {"forward", "reverse", "random"};
    for (int s = 0; s < 3; ++s) {
        set_schedule(ctx, s);
        results[s] = correct_tests(ctx);
        std::printf("self-tests, %s order: done\n", names[s]);
    }
    CHECK(std::memcmp(results[0].data(), results[1].data(), results[0].size() * 4) == 0, "forward != reverse");
    CHECK(std::memcmp(results[0].data(), results[2].data(), results[0].size() * 4) == 0, "forward != random");

    // planted bugs
    std::vector<float> racy[2];
    for (int s = 0; s < 2; ++s) {
        set_schedule(ctx, s);
        racy[s] = run_f32(ctx, "bug_missing_barrier", random_floats(1000, 8), 1000);
    }
    CHECK(std::memcmp(racy[0].data(), racy[1].data(), 4000) != 0, "bug_missing_barrier: same result in both orders");
    for (int s = 0; s < 3; ++s) {
        set_schedule(ctx, s);
        expect_caught(ctx, "bug_divergent_barrier");
        expect_caught(ctx, "bug_bad_shuffle_mask");
    }
    set_schedule(ctx, DK_EMU_FORWARD);
    CHECK(correct_tests(ctx) == results[0], "results changed after the caught failures");

    run_dialect_checks();
    run_wgmma_checks();
    run_tma_checks();
    failures += emu_checks::failures;
    test_validation(ctx);
    test_gelu(ctx);
    std::printf("  fiber switch (suspend + resume at a barrier): %.1f ns\n", emu_fiber_switch_ns());

    ok(dk_context_destroy(ctx), "destroy");
    if (failures) {
        std::fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    std::printf("emu_test: all checks passed\n");
    return 0;
}
