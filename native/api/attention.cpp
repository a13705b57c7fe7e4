// attention.cpp - the C API of scaled dot-product attention: validate q, k, v, the optional
// key lengths and bias, the outputs and gradients; size the backward's workspace; run.
#include <cmath>

#include "api.h"
#include "validate.h"
#include "attention/attention.h"
#include "tensor/tensor.h"

using namespace dk;

namespace {

struct Checked4 {
    Checked t;
    int64_t b, h, l, d;
};

// Whether the forward can walk t's rows through its strides: its head dim is contiguous.
bool rows_readable(const Checked& t) { return t.shape[3] <= 1 || t.strides[3] == 1; }

// How a call reads its inputs: not at all (a shape query), the forward's rows through their
// strides, or the backward's compact.
enum class Read { meta, strided_rows, compact };

// q, k or v as `read` says: a view whose rows the call cannot walk is copied compact for the call.
Checked4 check_bhld(const dk_context* ctx, const char* name, const dk_tensor* t, Read read) {
    Checked c = read == Read::meta ? check_meta(ctx, name, t) : check_view(ctx, name, t);
    check_floating(c);
    if (c.shape.size() != 4)
        fail(DK_ERROR_INVALID_ARGUMENT, arg(name) + "expected 4 dimensions [B, H, L, D], got " + shape_string(c.shape));
    if (read != Read::meta && !c.contiguous && !(read == Read::strided_rows && rows_readable(c))) c = scratch_copy(ctx, c);
    return {c, c.shape[0], c.shape[1], c.shape[2], c.shape[3]};
}

RowStrides row_strides(const Checked& t) { return {t.strides[0], t.strides[1], t.strides[2]}; }

// Everything both directions share: shapes, head dim, GQA grouping, params, key lengths, bias.
struct Problem {
    AttentionArgs a{};
    Checked q, k, v;
    CheckedList inputs;
};

Problem check_problem(const dk_context* ctx, const dk_attention_params* params, const dk_tensor* q,
                      const dk_tensor* k, const dk_tensor* v, const dk_tensor* key_lengths, const dk_tensor* bias,
                      Read read) {
    if (!params) fail(DK_ERROR_INVALID_ARGUMENT, "argument 'params': expected attention parameters, got NULL");
    if (params->causal != DK_CAUSAL_NONE && params->causal != DK_CAUSAL_TOP_LEFT &&
        params->causal != DK_CAUSAL_BOTTOM_RIGHT)
        fail(DK_ERROR_INVALID_ARGUMENT, "argument 'params.causal': expected DK_CAUSAL_NONE (0), DK_CAUSAL_TOP_LEFT (1) "
                                        "or DK_CAUSAL_BOTTOM_RIGHT (2), got " + std::to_string(params->causal));
    // the kernels scale in f32: a double past its range would become an infinite scale
    if (std::isinf(params->scale) || std::isinf(float(params->scale)))
        fail(DK_ERROR_INVALID_ARGUMENT, "argument 'params.scale': expected a value finite in f32 (0 or NaN for "
                                        "1/sqrt(D)), got " + std::to_string(params->scale));
    Checked4 qc = check_bhld(ctx, "q", q, read);
    Checked4 kc = check_bhld(ctx, "k", k, read);
    Checked4 vc = check_bhld(ctx, "v", v, read);
    check_same_dtype(kc.t, qc.t);
    check_same_dtype(vc.t, qc.t);
    const int64_t d = qc.d;
    if (d != 32 && d != 64 && d != 96 && d != 128 && d != 256)
        fail(DK_ERROR_INVALID_ARGUMENT, arg("q") + "expected head dim D in {32, 64, 96, 128, 256}, got shape " +
                                            shape_string(qc.t.shape));
    if (kc.d != d)
        fail(DK_ERROR_INVALID_ARGUMENT, arg("k") + "expected head dim " + std::to_string(d) + " (the last dim of 'q'), got shape " +
                                            shape_string(kc.t.shape));
    if (kc.b != qc.b)
        fail(DK_ERROR_INVALID_ARGUMENT, arg("k") + "expected batch " + std::to_string(qc.b) + " (dim 0 of 'q'), got shape " +
                                            shape_string(kc.t.shape));
    if (kc.h == 0 ? qc.h != 0 : qc.h % kc.h != 0)
        fail(DK_ERROR_INVALID_ARGUMENT, arg("k") + "expected a head count dividing the " + std::to_string(qc.h) +
                                            " query heads (GQA), got shape " + shape_string(kc.t.shape));
    check_same_shape(vc.t, kc.t);
    Problem p{};
    p.q = qc.t;
    p.k = kc.t;
    p.v = vc.t;
    p.inputs = {p.q, p.k, p.v};
    AttentionArgs& a = p.a;
    a.q = qc.t.data;
    a.k = kc.t.data;
    a.v = vc.t.data;
    a.q_rows = row_strides(qc.t);
    a.k_rows = row_strides(kc.t);
    a.v_rows = row_strides(vc.t);
    a.batch = qc.b;
    a.heads = qc.h;
    a.kv_heads = kc.h;
    a.lq = qc.l;
    a.lk = kc.l;
    a.dim = d;
    a.causal = params->causal;
    a.scale = params->scale == 0 || std::isnan(params->scale) ? float(1.0 / std::sqrt(double(d))) : float(params->scale);
    if (a.batch * a.heads > (int64_t(1) << 31) / 4)
        fail(DK_ERROR_INVALID_ARGUMENT, arg("q") + "B * Hq = " + std::to_string(a.batch * a.heads) + " exceeds 2^29");
    if (key_lengths) {
        Checked kl = read == Read::meta ? check_meta(ctx, "key_lengths", key_lengths)
                                        : check_input(ctx, "key_lengths", key_lengths);
        if (kl.dtype != DType::i32 && kl.dtype != DType::i64)
            fail(DK_ERROR_INVALID_ARGUMENT, arg("key_lengths") + "expected dtype i32 or i64, got " + dtype_name(kl.dtype));
        check_shape(kl, {a.batch}, "the batch of 'q'");
        a.key_lengths = kl.data;
        a.key_lengths_i64 = kl.dtype == DType::i64;
        p.inputs.push_back(kl);
    }
    if (bias) {
        // read through its own strides, broadcast dims at stride 0: an expanded mask is never materialized
        Checked bc = read == Read::meta ? check_meta(ctx, "bias", bias) : check_view(ctx, "bias", bias);
        if (bc.dtype != qc.t.dtype && bc.dtype != DType::f32)
            fail(DK_ERROR_INVALID_ARGUMENT, arg("bias") + "expected dtype " +
                                                (qc.t.dtype == DType::f32 ? std::string("f32")
                                                                          : std::string(dtype_name(qc.t.dtype)) +
                                                                                " (the dtype of 'q') or f32") +
                                                ", got " + dtype_name(bc.dtype));
        const int64_t full[4] = {a.batch, a.heads, a.lq, a.lk};
        const Shape target(full, full + 4);
        if (bc.shape.size() > 4)
            fail(DK_ERROR_INVALID_ARGUMENT, arg("bias") + "expected at most 4 dimensions, broadcastable to " +
                                                shape_string(target) + ", got " + shape_string(bc.shape));
        const size_t skip = 4 - bc.shape.size();
        for (int i = 3; i >= 0; --i) {
            const int64_t n = i < int(skip) ? 1 : bc.shape[i - skip];
            if (n != 1 && n != full[i])
                fail(DK_ERROR_INVALID_ARGUMENT, arg("bias") + "shape " + shape_string(bc.shape) +
                                                    " is not broadcastable to " + shape_string(target) +
                                                    " [B, Hq, Lq, Lk] (dim " + std::to_string(i) + ")");
            a.bias_stride[i] = n == 1 ? 0 : bc.strides[i - skip];
        }
        a.bias = bc.data;
        a.bias_f32 = bc.dtype == DType::f32;
        p.inputs.push_back(bc);
    }
    return p;
}

Shape rows_shape(const Problem& p) { return {p.a.batch, p.a.heads, p.a.lq}; }

// An output tensor of the given dtype and shape that overlaps none of the inputs.
Checked check_output(const dk_context* ctx, const char* name, const dk_tensor* t, DType dtype,
                     const Shape& shape, const char* shape_of, const CheckedList& inputs) {
    Checked c = check_tensor(ctx, name, t);
    check_dtype(c, dtype);
    check_shape(c, shape, shape_of);
    for (const Checked& in : inputs) check_disjoint(c, in);
    return c;
}

}  // namespace

extern "C" {

DK_API dk_status dk_attention_forward(dk_context* ctx, const dk_attention_params* params, const dk_tensor* q,
                                      const dk_tensor* k, const dk_tensor* v, const dk_tensor* key_lengths,
                                      const dk_tensor* bias, dk_tensor* out, dk_tensor* logsumexp) {
    return guard_ctx("dk_attention_forward", ctx, [&] {
        Problem p = check_problem(ctx, params, q, k, v, key_lengths, bias, Read::strided_rows);
        Checked oc = check_view(ctx, "out", out);
        check_dtype(oc, p.q.dtype);
        check_shape(oc, p.q.shape, "the shape of 'q'");
        if (!oc.contiguous && !(rows_readable(oc) && distinct_elements(oc)))
            fail(DK_ERROR_INVALID_ARGUMENT, arg("out") + "expected a contiguous tensor or a view whose head dim is "
                                                        "contiguous and whose elements are distinct, got strides " +
                                                        shape_string(oc.strides));
        for (const Checked& in : p.inputs) check_disjoint(oc, in);
        p.a.out_rows = row_strides(oc);
        Checked lc = check_output(ctx, "logsumexp", logsumexp, DType::f32, rows_shape(p), "[B, Hq, Lq] of 'q'", p.inputs);
        check_disjoint(lc, oc);
        p.a.out = oc.data;
        p.a.lse = static_cast<float*>(lc.data);
        if (oc.numel == 0) return;
        DK_BACKEND_CALL(ctx, attention_forward, p.q.dtype, p.a);
    });
}

DK_API dk_status dk_attention_output_shapes(dk_context* ctx, const dk_attention_params* params, const dk_tensor* q,
                                            const dk_tensor* k, const dk_tensor* v, const dk_tensor* key_lengths,
                                            const dk_tensor* bias, int64_t* out_shape, int64_t* logsumexp_shape) {
    return guard_ctx("dk_attention_output_shapes", ctx, [&] {
        const Problem p = check_problem(ctx, params, q, k, v, key_lengths, bias, Read::meta);
        if (!out_shape || !logsumexp_shape)
            fail(DK_ERROR_INVALID_ARGUMENT, arg(out_shape ? "logsumexp_shape" : "out_shape") +
                                                "expected a place for the result, got NULL");
        std::copy(p.q.shape.begin(), p.q.shape.end(), out_shape);
        const Shape rows = rows_shape(p);
        std::copy(rows.begin(), rows.end(), logsumexp_shape);
    });
}

DK_API dk_status dk_attention_backward(dk_context* ctx, const dk_attention_params* params, const dk_tensor* q,
                                       const dk_tensor* k, const dk_tensor* v, const dk_tensor* key_lengths,
                                       const dk_tensor* bias, const dk_tensor* out, const dk_tensor* logsumexp,
                                       const dk_tensor* grad_out, dk_tensor* grad_q, dk_tensor* grad_k,
                                       dk_tensor* grad_v) {
    return guard_ctx("dk_attention_backward", ctx, [&] {
        Problem p = check_problem(ctx, params, q, k, v, key_lengths, bias, Read::compact);
        Checked oc = check_input_like(ctx, "out", out, p.q);
        Checked lc = check_input(ctx, "logsumexp", logsumexp);
        check_dtype(lc, DType::f32);
        check_shape(lc, rows_shape(p), "[B, Hq, Lq] of 'q'");
        Checked go = check_input_like(ctx, "grad_out", grad_out, p.q);
        CheckedList inputs = p.inputs;
        for (const Checked& c : {oc, lc, go}) inputs.push_back(c);
        Checked gq = check_output(ctx, "grad_q", grad_q, p.q.dtype, p.q.shape, "the shape of 'q'", inputs);
        inputs.push_back(gq);
        Checked gk = check_output(ctx, "grad_k", grad_k, p.q.dtype, p.k.shape, "the shape of 'k'", inputs);
        inputs.push_back(gk);
        Checked gv = check_output(ctx, "grad_v", grad_v, p.q.dtype, p.v.shape, "the shape of 'v'", inputs);
        AttentionArgs& a = p.a;
        a.out = oc.data;
        a.lse = static_cast<float*>(lc.data);
        a.grad_out = go.data;
        a.grad_q = gq.data;
        a.grad_k = gk.data;
        a.grad_v = gv.data;
        const int64_t rows = a.batch * a.heads * a.lq;
        if (rows == 0 || a.lk == 0) {  // no query sees a key: every gradient is zero
            for (const Checked& g : {gq, gk, gv}) DK_BACKEND_CALL(ctx, fill, g.dtype, g.data, g.numel, 0.0);
            return;
        }
        // the kernels add dQ up with atomics, unless asked to be deterministic (cpu always is)
        const bool accumulate = ctx->device.device_type != DK_DEVICE_CPU && !ctx->deterministic;
        // dQ first: its rows of D floats then start 8-byte aligned, as the kernels' pairwise atomics need
        const Workspace ws(ctx, size_t(rows * (accumulate ? 1 + a.dim : 1)) * sizeof(float));
        a.dq_accum = accumulate ? ws.floats() : nullptr;
        a.delta = ws.floats() + (accumulate ? rows * a.dim : 0);
        DK_BACKEND_CALL(ctx, attention_backward, p.q.dtype, a);
    });
}

}  // extern "C"
