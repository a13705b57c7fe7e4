// cpu/attention.cpp - scaled dot-product attention on the cpu backend, the FlashAttention-2
// algorithm of kernels/attention/attention.cu in plain loops.
//
// Forward: one task per (batch, head, tile of kRows query rows) on the thread pool. The task keeps
// its rows' f32 output accumulator, running max m and running sum l, and walks the key tiles of
// kKeys keys up to the last key its last row may see: S = scale Q K^T + bias (masked keys -inf),
// m' = max(m, rowmax S), O = O exp(m - m') + exp(S - m') V, l likewise; at the end O / l and
// logsumexp m + log l. The S and PV products run with the key (resp. head-dim) index innermost,
// over K transposed to [D][keys], so the compiler vectorizes them without reassociating sums.
// Backward, without atomics: delta = rowsum(dO * O) first; then dK, dV per (batch, kv head, key
// tile), summing over every query tile of every query head of the GQA group; then dQ per (batch,
// head, query tile), summing over key tiles. Each recomputes P = exp(S - logsumexp) and
// dS = P (dO V^T - delta) for its tile pairs. Extra memory: per-task tiles plus delta, O(L).
#include <cmath>
#include <limits>
#include <vector>

#include "attention/attention.cuh"
#include "deepkern/dispatch.h"
#include "thread_pool.h"
#include "attention/attention.h"

namespace dk::cpu {

namespace {

constexpr int64_t kRows = 32, kKeys = 64;
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

int64_t tiles(int64_t n, int64_t tile) { return (n + tile - 1) / tile; }

// rows x dim of src (rows ld apart; the backward's are compact) into f32 dst.
template <typename T>
void load_rows(const T* src, int64_t rows, int64_t dim, float* dst, int64_t ld) {
    for (int64_t i = 0; i < rows; ++i)
        for (int64_t d = 0; d < dim; ++d) dst[i * dim + d] = load_float(src[i * ld + d]);
}

// keys x dim of src (rows ld apart) into f32 dst transposed: dst[d * keys + j].
template <typename T>
void load_transposed(const T* src, int64_t keys, int64_t dim, float* dst, int64_t ld) {
    for (int64_t j = 0; j < keys; ++j)
        for (int64_t d = 0; d < dim; ++d) dst[d * keys + j] = load_float(src[j * ld + d]);
}

// c[rows][keys] = a[rows][dim] @ bt[dim][keys].
void product_bt(const float* a, const float* bt, int64_t rows, int64_t keys, int64_t dim, float* c) {
    for (int64_t i = 0; i < rows; ++i) {
        float* ci = c + i * keys;
        for (int64_t j = 0; j < keys; ++j) ci[j] = 0.0f;
        for (int64_t d = 0; d < dim; ++d) {
            const float ad = a[i * dim + d];
            const float* bd = bt + d * keys;
            for (int64_t j = 0; j < keys; ++j) ci[j] += ad * bd[j];
        }
    }
}

// One (query tile, key tile) pair of the problem: its place and its scores.
struct Tile {
    int64_t b, h, r0, rows, k0, keys, key_length;
};

// s[i][j] = scale * s[i][j] + bias, or -inf where key k0 + j is not allowed for row r0 + i.
template <typename T>
void scores(const AttentionArgs& a, const Tile& t, float* s) {
    for (int64_t i = 0; i < t.rows; ++i) {
        const int64_t end = attention_key_end(a, t.key_length, t.r0 + i);
        for (int64_t j = 0; j < t.keys; ++j) {
            float& v = s[i * t.keys + j];
            v = t.k0 + j < end ? a.scale * v + attention_bias<T>(a, t.b, t.h, t.r0 + i, t.k0 + j) : kNegInf;
        }
    }
}

template <typename T>
void forward(const AttentionArgs& a) {
    const int64_t D = a.dim, group = a.heads / a.kv_heads, qtiles = tiles(a.lq, kRows);
    parallel_for(a.batch * a.heads * qtiles, [&](int64_t task) {
        const int64_t qt = task % qtiles, bh = task / qtiles, b = bh / a.heads, h = bh % a.heads;
        const int64_t kvh = h / group;  // within batch b (the backward's kvh counts over batches)
        const int64_t r0 = qt * kRows, rows = std::min(kRows, a.lq - r0);
        const T* Q = static_cast<const T*>(a.q) + b * a.q_rows.batch + h * a.q_rows.head;
        const T* K = static_cast<const T*>(a.k) + b * a.k_rows.batch + kvh * a.k_rows.head;
        const T* V = static_cast<const T*>(a.v) + b * a.v_rows.batch + kvh * a.v_rows.head;
        const int64_t kl = attention_key_length(a, b), kend = attention_key_end(a, kl, r0 + rows - 1);
        std::vector<float> q(rows * D), o(rows * D, 0.0f), kt(D * kKeys), v(kKeys * D), s(rows * kKeys);
        std::vector<float> m(rows, kNegInf), l(rows, 0.0f);
        load_rows(Q + r0 * a.q_rows.row, rows, D, q.data(), a.q_rows.row);
        for (int64_t k0 = 0; k0 < kend; k0 += kKeys) {
            const Tile t{b, h, r0, rows, k0, std::min(kKeys, kend - k0), kl};
            load_transposed(K + k0 * a.k_rows.row, t.keys, D, kt.data(), a.k_rows.row);
            load_rows(V + k0 * a.v_rows.row, t.keys, D, v.data(), a.v_rows.row);
            product_bt(q.data(), kt.data(), rows, t.keys, D, s.data());
            scores<T>(a, t, s.data());
            for (int64_t i = 0; i < rows; ++i) {
                float* si = s.data() + i * t.keys;
                float mx = m[i];
                for (int64_t j = 0; j < t.keys; ++j) mx = std::max(mx, si[j]);
                if (mx == kNegInf) {  // nothing allowed yet: P row is zero
                    for (int64_t j = 0; j < t.keys; ++j) si[j] = 0.0f;
                    continue;
                }
                const float alpha = std::exp(m[i] - mx);  // m = -inf at first: 0
                float sum = 0.0f;
                for (int64_t j = 0; j < t.keys; ++j) sum += si[j] = std::exp(si[j] - mx);
                l[i] = l[i] * alpha + sum;
                m[i] = mx;
                float* oi = o.data() + i * D;
                for (int64_t d = 0; d < D; ++d) oi[d] *= alpha;
            }
            for (int64_t i = 0; i < rows; ++i) {
                float* oi = o.data() + i * D;
                for (int64_t j = 0; j < t.keys; ++j) {
                    const float p = s[i * t.keys + j];
                    const float* vj = v.data() + j * D;
                    for (int64_t d = 0; d < D; ++d) oi[d] += p * vj[d];
                }
            }
        }
        T* out = static_cast<T*>(a.out) + b * a.out_rows.batch + h * a.out_rows.head + r0 * a.out_rows.row;
        for (int64_t i = 0; i < rows; ++i) {
            const float inv = l[i] > 0 ? 1.0f / l[i] : 0.0f;
            for (int64_t d = 0; d < D; ++d) store_float(out[i * a.out_rows.row + d], o[i * D + d] * inv);
            a.lse[bh * a.lq + r0 + i] = l[i] > 0 ? m[i] + std::log(l[i]) : kNegInf;
        }
    });
}

// The f32 operands of one tile pair in the backward, and P and dS for it.
struct BackwardTile {
    std::vector<float> q, dout, kt, vt, s, dp;

    BackwardTile(int64_t D) : q(kRows * D), dout(kRows * D), kt(D * kKeys), vt(D * kKeys), s(kRows * kKeys),
                              dp(kRows * kKeys) {}

    template <typename T>
    void load_queries(const AttentionArgs& a, int64_t bh, int64_t r0, int64_t rows) {
        const int64_t at = (bh * a.lq + r0) * a.dim;
        load_rows(static_cast<const T*>(a.q) + at, rows, a.dim, q.data(), a.dim);
        load_rows(static_cast<const T*>(a.grad_out) + at, rows, a.dim, dout.data(), a.dim);
    }

    template <typename T>
    void load_keys(const AttentionArgs& a, int64_t kvh, int64_t k0, int64_t keys) {
        const int64_t at = (kvh * a.lk + k0) * a.dim;
        load_transposed(static_cast<const T*>(a.k) + at, keys, a.dim, kt.data(), a.dim);
        load_transposed(static_cast<const T*>(a.v) + at, keys, a.dim, vt.data(), a.dim);
    }

    // s = P = exp(S - logsumexp) (0 where masked), dp = dS = P (dO V^T - delta).
    template <typename T>
    void probabilities(const AttentionArgs& a, const Tile& t) {
        product_bt(q.data(), kt.data(), t.rows, t.keys, a.dim, s.data());
        product_bt(dout.data(), vt.data(), t.rows, t.keys, a.dim, dp.data());
        scores<T>(a, t, s.data());
        const int64_t row = (t.b * a.heads + t.h) * a.lq + t.r0;
        for (int64_t i = 0; i < t.rows; ++i) {
            const float lse = a.lse[row + i], delta = a.delta[row + i];
            for (int64_t j = 0; j < t.keys; ++j) {
                float& p = s[i * t.keys + j];
                p = p == kNegInf ? 0.0f : std::exp(p - lse);
                dp[i * t.keys + j] = p * (dp[i * t.keys + j] - delta);
            }
        }
    }
};

template <typename T>
void backward(const AttentionArgs& a) {
    const int64_t D = a.dim, group = a.heads / a.kv_heads, qtiles = tiles(a.lq, kRows), ktiles = tiles(a.lk, kKeys);
    parallel_range(a.batch * a.heads * a.lq, 64, [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) {
            const T* o = static_cast<const T*>(a.out) + r * D;
            const T* g = static_cast<const T*>(a.grad_out) + r * D;
            float acc = 0.0f;
            for (int64_t d = 0; d < D; ++d) acc += load_float(o[d]) * load_float(g[d]);
            a.delta[r] = acc;
        }
    });
    // dK and dV: every query row of the group that sees one of this tile's keys.
    parallel_for(a.batch * a.kv_heads * ktiles, [&](int64_t task) {
        const int64_t kt = task % ktiles, kvh = task / ktiles, b = kvh / a.kv_heads;
        const int64_t k0 = kt * kKeys, keys = std::min(kKeys, a.lk - k0), kl = attention_key_length(a, b);
        BackwardTile w(D);
        std::vector<float> dk(keys * D, 0.0f), dv(keys * D, 0.0f);
        w.load_keys<T>(a, kvh, k0, keys);
        for (int64_t h = (kvh % a.kv_heads) * group; h < (kvh % a.kv_heads + 1) * group; ++h)
            for (int64_t qt = 0; qt < qtiles; ++qt) {
                const int64_t r0 = qt * kRows, rows = std::min(kRows, a.lq - r0);
                if (attention_key_end(a, kl, r0 + rows - 1) <= k0) continue;  // no row of the tile sees these keys
                const Tile t{b, h, r0, rows, k0, keys, kl};
                w.load_queries<T>(a, b * a.heads + h, r0, rows);
                w.probabilities<T>(a, t);
                for (int64_t i = 0; i < rows; ++i)
                    for (int64_t j = 0; j < keys; ++j) {
                        const float p = w.s[i * keys + j], ds = a.scale * w.dp[i * keys + j];
                        const float* gi = w.dout.data() + i * D;
                        const float* qi = w.q.data() + i * D;
                        float* dvj = dv.data() + j * D;
                        float* dkj = dk.data() + j * D;
                        for (int64_t d = 0; d < D; ++d) {
                            dvj[d] += p * gi[d];
                            dkj[d] += ds * qi[d];
                        }
                    }
            }
        T* gk = static_cast<T*>(a.grad_k) + (kvh * a.lk + k0) * D;
        T* gv = static_cast<T*>(a.grad_v) + (kvh * a.lk + k0) * D;
        for (int64_t e = 0; e < keys * D; ++e) {
            store_float(gk[e], dk[e]);
            store_float(gv[e], dv[e]);
        }
    });
    // dQ: every key tile this query tile sees.
    parallel_for(a.batch * a.heads * qtiles, [&](int64_t task) {
        const int64_t qt = task % qtiles, bh = task / qtiles, b = bh / a.heads, h = bh % a.heads;
        const int64_t kvh = b * a.kv_heads + h / group;
        const int64_t r0 = qt * kRows, rows = std::min(kRows, a.lq - r0);
        const int64_t kl = attention_key_length(a, b), kend = attention_key_end(a, kl, r0 + rows - 1);
        BackwardTile w(D);
        std::vector<float> dq(rows * D, 0.0f), k(kKeys * D);
        w.load_queries<T>(a, bh, r0, rows);
        for (int64_t k0 = 0; k0 < kend; k0 += kKeys) {
            const Tile t{b, h, r0, rows, k0, std::min(kKeys, kend - k0), kl};
            w.load_keys<T>(a, kvh, k0, t.keys);
            load_rows(static_cast<const T*>(a.k) + (kvh * a.lk + k0) * D, t.keys, D, k.data(), D);
            w.probabilities<T>(a, t);
            for (int64_t i = 0; i < rows; ++i)
                for (int64_t j = 0; j < t.keys; ++j) {
                    const float ds = a.scale * w.dp[i * t.keys + j];
                    const float* kj = k.data() + j * D;
                    float* dqi = dq.data() + i * D;
                    for (int64_t d = 0; d < D; ++d) dqi[d] += ds * kj[d];
                }
        }
        T* gq = static_cast<T*>(a.grad_q) + (bh * a.lq + r0) * D;
        for (int64_t e = 0; e < rows * D; ++e) store_float(gq[e], dq[e]);
    });
}

}  // namespace

void attention_forward(const Exec&, DType dtype, const AttentionArgs& a) {
    dispatch_floating(dtype, [&](auto tag) { forward<typename decltype(tag)::type>(a); });
}

void attention_backward(const Exec&, DType dtype, const AttentionArgs& a) {
    dispatch_floating(dtype, [&](auto tag) { backward<typename decltype(tag)::type>(a); });
}

}  // namespace dk::cpu
