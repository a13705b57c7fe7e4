// cpu/optim.cpp - the multi-tensor optimizer steps and the gradient norm on the cpu backend, with
// the kernels' own per-element bodies (optim/optim_bodies.cuh) over chunks on the thread pool:
// a step gives the same bits as on cuda and emu. The norm sums each chunk in double and the
// chunks in a fixed order: deterministic, though not the kernels' f32 tree.
#include <cmath>
#include <vector>

#include "optim/optim_bodies.cuh"
#include "thread_pool.h"
#include "optim/optim.h"

namespace dk::cpu {

namespace {

// The (tensor, chunk) list of count entries, as the kernels' table has it.
std::vector<OptimChunk> chunk_list(const OptimEntry* entries, int32_t count) {
    std::vector<OptimChunk> chunks;
    chunks.reserve(size_t(optim_chunk_count(entries, count)));
    for (int32_t t = 0; t < count; ++t)
        for (int64_t c = 0; c * kOptimChunk < entries[t].n; ++c) chunks.push_back({t, int32_t(c)});
    return chunks;
}

int64_t chunk_end(const OptimEntry& e, const OptimChunk& ch) {
    const int64_t end = (int64_t(ch.chunk) + 1) * kOptimChunk;
    return e.n < end ? e.n : end;
}

}  // namespace

void optim_step_workspace(const Exec&, DType, const OptimStepArgs&, int64_t* bytes) { *bytes = 0; }

void optim_step(const Exec&, DType, const OptimStepArgs& a) {
    const std::vector<OptimChunk> chunks = chunk_list(a.entries, a.count);
    const float scale = a.grad_scale ? *a.grad_scale : 1.0f;
    parallel_range(int64_t(chunks.size()), 1, [&](int64_t b, int64_t e) {
        for (int64_t c = b; c < e; ++c) {
            const OptimEntry& t = a.entries[chunks[c].tensor];
            optim_entry_chunk(a, t, scale, int64_t(chunks[c].chunk) * kOptimChunk, chunk_end(t, chunks[c]), 0, 1);
        }
    });
}

void grad_norm_workspace(const Exec&, DType, const GradNormArgs&, int64_t* bytes) { *bytes = 0; }

void grad_norm(const Exec&, DType, const GradNormArgs& a) {
    const std::vector<OptimChunk> chunks = chunk_list(a.entries, a.count);
    std::vector<double> partial(chunks.size());
    parallel_range(int64_t(chunks.size()), 1, [&](int64_t b, int64_t e) {
        for (int64_t c = b; c < e; ++c) {
            const OptimEntry& t = a.entries[chunks[c].tensor];
            double s = 0.0;
            const int64_t end = chunk_end(t, chunks[c]);
            for (int64_t i = int64_t(chunks[c].chunk) * kOptimChunk; i < end; ++i) {
                double v;
                if (t.dtype == int32_t(DType::f32)) v = static_cast<const float*>(t.param)[i];
                else if (t.dtype == int32_t(DType::bf16)) v = load_float(static_cast<const bf16*>(t.param)[i]);
                else v = load_float(static_cast<const f16*>(t.param)[i]);
                s += v * v;
            }
            partial[size_t(c)] = s;
        }
    });
    double sum = 0.0;
    for (double s : partial) sum += s;
    const float norm = float(std::sqrt(sum));
    *a.total_norm = norm;
    const float scale = clip_coefficient(a.max_norm, norm);
    if (a.clip_scale) *a.clip_scale = scale;
    if (!a.clip) return;
    parallel_range(int64_t(chunks.size()), 1, [&](int64_t b, int64_t e) {
        for (int64_t c = b; c < e; ++c) {
            const OptimEntry& t = a.entries[chunks[c].tensor];
            entry_scale(t, scale, int64_t(chunks[c].chunk) * kOptimChunk, chunk_end(t, chunks[c]), 1);
        }
    });
}

}  // namespace dk::cpu
