// optim.cpp - the C API of the multi-tensor optimizer steps and the gradient norm / clipping:
// validate every tensor of the call, build the per-tensor table, run one launch.
#include <cmath>
#include <deque>
#include <string>
#include <vector>

#include "api.h"
#include "optim/optim_bodies.cuh"
#include "validate.h"
#include "deepkern/packs.cuh"
#include "optim/optim.h"

using namespace dk;

namespace {

// Names of the tensors of one call ("params[3]"), kept alive while the call validates.
class Names {
public:
    const char* operator()(const char* list, int32_t i) {
        names_.push_back(std::string(list) + "[" + std::to_string(i) + "]");
        return names_.back().c_str();
    }

private:
    std::deque<std::string> names_;
};

void check_count(int32_t count) {
    if (count < 0) fail(DK_ERROR_INVALID_ARGUMENT, "argument 'count': expected >= 0, got " + std::to_string(count));
}

void check_list(const char* name, const void* list, int32_t count) {
    if (count > 0 && !list) fail(DK_ERROR_INVALID_ARGUMENT, arg(name) + "expected " + std::to_string(count) + " tensors, got NULL");
}

void check_option(const char* name, float v, bool ok, const char* expected) {
    if (!std::isfinite(v) || !ok)
        fail(DK_ERROR_INVALID_ARGUMENT, std::string("argument 'options': ") + name + " is " + std::to_string(v) +
                                            ", expected " + expected);
}

// An f32 state tensor of params[i]'s shape, written in place, sharing no byte with what the
// element's update reads.
Checked check_state(dk_context* ctx, const char* name, const dk_tensor* t, const Checked& param) {
    Checked s = check_tensor(ctx, name, t);
    check_dtype(s, DType::f32);
    check_same_shape(s, param);
    return s;
}

// The tensors of parameter i of a step: param, grad, up to two states, an optional master.
OptimEntry check_entry(dk_context* ctx, Names& names, int32_t i, dk_tensor* const* params,
                       const dk_tensor* const* grads, const char* s1_name, dk_tensor* const* s1,
                       const char* s2_name, dk_tensor* const* s2, dk_tensor* const* masters, const int64_t* steps) {
    Checked p = check_tensor(ctx, names("params", i), params[i]);
    check_floating(p);
    Checked g = check_tensor(ctx, names("grads", i), grads[i]);
    check_same_dtype(g, p);
    check_same_shape(g, p);
    check_disjoint(p, g);
    std::vector<Checked> written{p};
    OptimEntry e{};
    e.param = p.data;
    e.grad = g.data;
    e.n = p.numel;
    e.dtype = int32_t(p.dtype);
    if (steps[i] < 1)
        fail(DK_ERROR_INVALID_ARGUMENT, "argument 'steps': steps[" + std::to_string(i) + "] is " +
                                            std::to_string(steps[i]) + ", expected >= 1");
    auto state = [&](const char* list, dk_tensor* const* arr) -> float* {
        if (!arr) return nullptr;
        Checked s = check_state(ctx, names(list, i), arr[i], p);
        check_disjoint(s, g);
        for (const Checked& w : written) check_disjoint(s, w);
        written.push_back(s);
        return static_cast<float*>(s.data);
    };
    e.state1 = state(s1_name, s1);
    e.state2 = state(s2_name, s2);
    if (masters && masters[i]) {
        if (p.dtype == DType::f32)
            fail(DK_ERROR_INVALID_ARGUMENT, arg(names("masters", i)) +
                                                "expected NULL: master weights are for f16 / bf16 parameters, 'params[" +
                                                std::to_string(i) + "]' is f32");
        e.master = state("masters", masters);
    }
    e.packed = aligned16({e.param, e.grad, e.state1, e.state2, e.master});
    return e;
}

const float* check_grad_scale(dk_context* ctx, const dk_tensor* grad_scale) {
    if (!grad_scale) return nullptr;
    Checked s = check_view(ctx, "grad_scale", grad_scale);
    check_dtype(s, DType::f32);
    if (s.numel != 1)
        fail(DK_ERROR_INVALID_ARGUMENT, "argument 'grad_scale': expected one element, got shape " + shape_string(s.shape));
    return static_cast<const float*>(s.data);
}

// A one-element f32 output.
float* check_scalar_out(dk_context* ctx, const char* name, dk_tensor* t) {
    Checked s = check_tensor(ctx, name, t);
    check_dtype(s, DType::f32);
    if (s.numel != 1)
        fail(DK_ERROR_INVALID_ARGUMENT, arg(name) + "expected one element, got shape " + shape_string(s.shape));
    return static_cast<float*>(s.data);
}

void run_step(dk_context* ctx, OptimStepArgs& a, const std::vector<OptimEntry>& entries) {
    a.entries = entries.data();
    a.count = int32_t(entries.size());
    if (entries.empty()) return;
    DK_BACKEND_CALL_WITH_WORKSPACE(ctx, optim_step, DType::f32, a, workspace);
}

void run_norm(dk_context* ctx, int32_t count, const dk_tensor* const* grads, float max_norm, dk_tensor* total_norm,
              dk_tensor* clip_scale, bool clip) {
    check_count(count);
    check_list("grads", grads, count);
    if (!(max_norm > 0) || !std::isfinite(max_norm))
        fail(DK_ERROR_INVALID_ARGUMENT, "argument 'max_norm': expected a finite value > 0, got " + std::to_string(max_norm));
    Names names;
    std::vector<OptimEntry> entries;
    entries.reserve(size_t(count));
    for (int32_t i = 0; i < count; ++i) {
        Checked g = check_tensor(ctx, names("grads", i), grads[i]);
        check_floating(g);
        OptimEntry e{};
        e.param = g.data;
        e.n = g.numel;
        e.dtype = int32_t(g.dtype);
        entries.push_back(e);
    }
    GradNormArgs a{};
    a.entries = entries.data();
    a.count = count;
    a.max_norm = max_norm;
    a.total_norm = check_scalar_out(ctx, "total_norm", total_norm);
    a.clip_scale = clip_scale ? check_scalar_out(ctx, "clip_scale", clip_scale) : nullptr;
    if (clip_scale && clip_scale == total_norm)
        fail(DK_ERROR_INVALID_ARGUMENT, "argument 'clip_scale': is 'total_norm'; expected a tensor of its own");
    a.clip = clip;
    DK_BACKEND_CALL_WITH_WORKSPACE(ctx, grad_norm, DType::f32, a, workspace);
}

}  // namespace

extern "C" {

DK_API dk_status dk_adamw_step(dk_context* ctx, const dk_adamw_options* options, int32_t count,
                               dk_tensor* const* params, const dk_tensor* const* grads, dk_tensor* const* exp_avgs,
                               dk_tensor* const* exp_avg_sqs, dk_tensor* const* masters, const int64_t* steps,
                               const dk_tensor* grad_scale) {
    return guard_ctx("dk_adamw_step", ctx, [&] {
        if (!options) fail(DK_ERROR_INVALID_ARGUMENT, "argument 'options': expected AdamW options, got NULL");
        const dk_adamw_options& o = *options;
        check_option("lr", o.lr, o.lr >= 0, "a finite value >= 0");
        check_option("beta1", o.beta1, o.beta1 >= 0 && o.beta1 < 1, "a value in [0, 1)");
        check_option("beta2", o.beta2, o.beta2 >= 0 && o.beta2 < 1, "a value in [0, 1)");
        check_option("eps", o.eps, o.eps >= 0, "a finite value >= 0");
        check_option("weight_decay", o.weight_decay, o.weight_decay >= 0, "a finite value >= 0");
        check_count(count);
        check_list("params", params, count);
        check_list("grads", grads, count);
        check_list("exp_avgs", exp_avgs, count);
        check_list("exp_avg_sqs", exp_avg_sqs, count);
        if (count > 0 && !steps) fail(DK_ERROR_INVALID_ARGUMENT, "argument 'steps': expected " + std::to_string(count) + " step counts, got NULL");
        OptimStepArgs a{};
        a.rule = OptimRule::adamw;
        a.adamw.decay = float(1.0 - double(o.lr) * double(o.weight_decay));
        a.adamw.beta1 = o.beta1;
        a.adamw.beta2 = o.beta2;
        a.adamw.one_minus_beta1 = float(1.0 - double(o.beta1));
        a.adamw.one_minus_beta2 = float(1.0 - double(o.beta2));
        a.adamw.eps = o.eps;
        Names names;
        std::vector<OptimEntry> entries;
        entries.reserve(size_t(count));
        for (int32_t i = 0; i < count; ++i) {
            OptimEntry e = check_entry(ctx, names, i, params, grads, "exp_avgs", exp_avgs, "exp_avg_sqs", exp_avg_sqs,
                                       masters, steps);
            // torch's host-side bias corrections, in double, then f32
            const double t = double(steps[i]);
            e.step_size = float(double(o.lr) / (1.0 - std::pow(double(o.beta1), t)));
            e.bias2_sqrt = float(std::sqrt(1.0 - std::pow(double(o.beta2), t)));
            entries.push_back(e);
        }
        a.grad_scale = check_grad_scale(ctx, grad_scale);
        run_step(ctx, a, entries);
    });
}

DK_API dk_status dk_sgd_step(dk_context* ctx, const dk_sgd_options* options, int32_t count, dk_tensor* const* params,
                             const dk_tensor* const* grads, dk_tensor* const* momentum_buffers,
                             dk_tensor* const* masters, const int64_t* steps, const dk_tensor* grad_scale) {
    return guard_ctx("dk_sgd_step", ctx, [&] {
        if (!options) fail(DK_ERROR_INVALID_ARGUMENT, "argument 'options': expected SGD options, got NULL");
        const dk_sgd_options& o = *options;
        check_option("lr", o.lr, o.lr >= 0, "a finite value >= 0");
        check_option("momentum", o.momentum, o.momentum >= 0, "a finite value >= 0");
        check_option("dampening", o.dampening, true, "a finite value");
        check_option("weight_decay", o.weight_decay, o.weight_decay >= 0, "a finite value >= 0");
        if (o.nesterov && (o.momentum <= 0 || o.dampening != 0))
            fail(DK_ERROR_INVALID_ARGUMENT, "argument 'options': nesterov needs momentum > 0 and dampening 0");
        check_count(count);
        check_list("params", params, count);
        check_list("grads", grads, count);
        if (o.momentum != 0) check_list("momentum_buffers", momentum_buffers, count);
        if (count > 0 && !steps) fail(DK_ERROR_INVALID_ARGUMENT, "argument 'steps': expected " + std::to_string(count) + " step counts, got NULL");
        OptimStepArgs a{};
        a.rule = OptimRule::sgd;
        a.sgd = SgdCoefs{o.lr, o.momentum, float(1.0 - double(o.dampening)), o.weight_decay, o.nesterov ? 1 : 0};
        Names names;
        std::vector<OptimEntry> entries;
        entries.reserve(size_t(count));
        for (int32_t i = 0; i < count; ++i) {
            OptimEntry e = check_entry(ctx, names, i, params, grads, "momentum_buffers",
                                       o.momentum != 0 ? momentum_buffers : nullptr, "", nullptr, masters, steps);
            e.first = steps[i] == 1;
            entries.push_back(e);
        }
        a.grad_scale = check_grad_scale(ctx, grad_scale);
        run_step(ctx, a, entries);
    });
}

DK_API dk_status dk_grad_norm(dk_context* ctx, int32_t count, const dk_tensor* const* grads, float max_norm,
                              dk_tensor* total_norm, dk_tensor* clip_scale) {
    return guard_ctx("dk_grad_norm", ctx, [&] { run_norm(ctx, count, grads, max_norm, total_norm, clip_scale, false); });
}

DK_API dk_status dk_clip_grad_norm(dk_context* ctx, int32_t count, dk_tensor* const* grads, float max_norm,
                                   dk_tensor* total_norm) {
    return guard_ctx("dk_clip_grad_norm", ctx, [&] { run_norm(ctx, count, grads, max_norm, total_norm, nullptr, true); });
}

}  // extern "C"
