// diffusion.cpp - the C API of the sampler step and the mixture denoiser: validate, run.
#include <cmath>

#include "api.h"
#include "diffusion/diffusion_bodies.cuh"
#include "validate.h"
#include "diffusion/diffusion.h"

using namespace dk;

namespace {

constexpr const char* kOnlyXInPlace = " (only 'out' may be 'x', for an update in place)";

void check_finite(const char* name, float v) {
    if (!std::isfinite(v))
        fail(DK_ERROR_INVALID_ARGUMENT, std::string("argument 'coefs': ") + name + " is " + std::to_string(v) +
                                            ", expected a finite number");
}

}  // namespace

extern "C" {

DK_API dk_status dk_diffusion_step(dk_context* ctx, const dk_step_coefs* coefs, const dk_tensor* x,
                                   const dk_tensor* model, const dk_tensor* uncond, const dk_tensor* extra1,
                                   const dk_tensor* extra2, dk_tensor* out, dk_tensor* out2) {
    return guard_ctx("dk_diffusion_step", ctx, [&] {
        if (!coefs) fail(DK_ERROR_INVALID_ARGUMENT, "argument 'coefs': expected step coefficients, got NULL");
        const dk_step_coefs& c = *coefs;
        const std::pair<const char*, float> named[] = {
            {"guidance", c.guidance}, {"x0_x", c.x0_x}, {"x0_m", c.x0_m}, {"clip", c.clip}, {"eps_x", c.eps_x},
            {"eps_m", c.eps_m}, {"eps_x0", c.eps_x0}, {"out_x", c.out_x}, {"out_x0", c.out_x0},
            {"out_eps", c.out_eps}, {"out_e1", c.out_e1}, {"out_e2", c.out_e2}, {"noise", c.noise},
            {"o2_x", c.o2_x}, {"o2_x0", c.o2_x0}, {"o2_eps", c.o2_eps}};
        for (const auto& [name, v] : named) check_finite(name, v);
        if (c.clip < 0) fail(DK_ERROR_INVALID_ARGUMENT, "argument 'coefs': clip must be >= 0 (0 = no clipping)");
        if (!extra1 && c.out_e1 != 0) fail(DK_ERROR_INVALID_ARGUMENT, "argument 'extra1': NULL but coefs.out_e1 is not 0");
        if (!extra2 && c.out_e2 != 0) fail(DK_ERROR_INVALID_ARGUMENT, "argument 'extra2': NULL but coefs.out_e2 is not 0");
        Checked xc = check_input(ctx, "x", x);  // out may be x itself (in place): both are then contiguous
        check_floating(xc);
        // every tensor of the step has x's dtype and shape
        auto in_like_x = [&](const char* name, const dk_tensor* t) { return check_input_like(ctx, name, t, xc); };
        auto out_like_x = [&](const char* name, const dk_tensor* t) { return check_like(ctx, name, t, xc); };
        CheckedList inputs{xc, in_like_x("model", model)};
        for (auto [name, t] : {std::pair<const char*, const dk_tensor*>{"uncond", uncond}, {"extra1", extra1}, {"extra2", extra2}})
            if (t) inputs.push_back(in_like_x(name, t));
        const Checked o = out_like_x("out", out);
        check_no_partial_overlap(o, xc);
        for (size_t k = 1; k < inputs.size(); ++k) check_disjoint(o, inputs[k], kOnlyXInPlace);
        const void* ptr[3] = {nullptr, nullptr, nullptr};  // uncond, extra1, extra2
        size_t next = 2;
        if (uncond) ptr[0] = inputs[next++].data;
        if (extra1) ptr[1] = inputs[next++].data;
        if (extra2) ptr[2] = inputs[next++].data;
        StepArgs a{c, xc.data, inputs[1].data, ptr[0], ptr[1], ptr[2], o.data, nullptr, xc.numel};
        if (out2) {
            const Checked o2 = out_like_x("out2", out2);
            for (const Checked& in : inputs) check_disjoint(o2, in, kOnlyXInPlace);
            check_disjoint(o2, o, kOnlyXInPlace);
            a.out2 = o2.data;
        }
        DK_BACKEND_CALL(ctx, diffusion_step, xc.dtype, a);
    });
}

DK_API dk_status dk_gmm_posterior_mean(dk_context* ctx, const dk_tensor* x, const dk_tensor* means,
                                       const dk_tensor* log_weights, float data_std, float a, float b,
                                       dk_tensor* out) {
    return guard_ctx("dk_gmm_posterior_mean", ctx, [&] {
        auto f32_2d = [&](const char* name, const dk_tensor* t) {
            Checked c = t == out ? check_tensor(ctx, name, t) : check_input(ctx, name, t);
            if (c.dtype != DType::f32 || c.shape.size() != 2)
                fail(DK_ERROR_INVALID_ARGUMENT, std::string("argument '") + name + "': expected a 2-D f32 tensor, got " +
                                                    dtype_name(c.dtype) + " " + shape_string(c.shape));
            return c;
        };
        Checked xc = f32_2d("x", x);
        Checked mc = f32_2d("means", means);
        Checked oc = f32_2d("out", out);
        check_same_shape(oc, xc);
        check_no_partial_overlap(oc, xc);
        const int64_t dims = xc.shape[1], comps = mc.shape[0];
        if (dims > kGmmMaxDims)
            fail(DK_ERROR_INVALID_ARGUMENT, "argument 'x': at most " + std::to_string(kGmmMaxDims) + " dims, got " +
                                                std::to_string(dims));
        if (mc.shape[1] != dims)
            fail(DK_ERROR_INVALID_ARGUMENT, "argument 'means': expected " + std::to_string(dims) + " columns (the dims of 'x'), got shape " +
                                                shape_string(mc.shape));
        if (comps < 1) fail(DK_ERROR_INVALID_ARGUMENT, "argument 'means': expected at least one component");
        Checked wc = check_input(ctx, "log_weights", log_weights);
        if (wc.dtype != DType::f32 || wc.shape != Shape{comps})
            fail(DK_ERROR_INVALID_ARGUMENT, "argument 'log_weights': expected f32 [" + std::to_string(comps) + "], got " +
                                                dtype_name(wc.dtype) + " " + shape_string(wc.shape));
        for (const auto& [name, v] : {std::pair<const char*, float>{"data_std", data_std}, {"a", a}, {"b", b}})
            if (!(v >= 0) || !std::isfinite(v))
                fail(DK_ERROR_INVALID_ARGUMENT, std::string("argument '") + name + "': expected a finite value >= 0, got " + std::to_string(v));
        if (!(a * data_std > 0 || b > 0))
            fail(DK_ERROR_INVALID_ARGUMENT, "argument 'b': the noised data needs a variance: a*data_std or b must be > 0");
        GmmArgs g{static_cast<const float*>(xc.data), static_cast<const float*>(mc.data),
                  static_cast<const float*>(wc.data), static_cast<float*>(oc.data), xc.shape[0], dims, comps,
                  data_std, a, b};
        if (oc.numel == 0) return;  // N = 0, or D = 0: no element to write, however many rows
        DK_BACKEND_CALL(ctx, gmm_posterior_mean, g);
    });
}

}  // extern "C"
