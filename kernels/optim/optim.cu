// optim.cu - optimizer steps as multi-tensor kernels: ONE launch updates every parameter of a
// call that has one dtype, one launch per dtype present otherwise (as apex's multi_tensor_apply
// and PyTorch's fused / foreach optimizers do, which group by dtype too). The launcher
// uploads a table to device workspace - one OptimEntry per tensor (pointers, size, per-tensor
// bias correction) and one OptimChunk per block - and block b updates chunk chunks[b] of tensor
// chunks[b].tensor, so no kernel parameter is indexed dynamically. Memory traffic is what the
// update must move (AdamW f32: param, grad, m, v read; param, m, v written: 28 bytes an element),
// each thread moving a 16-byte pack of every tensor at a time where they are all 16-byte aligned
// (else kOptimIlp single elements in flight).
//
// The global gradient norm is deterministic: each block sums the squares of its chunk in a fixed
// order (a fixed reduction tree), writes one partial, and one block sums the partials in a fixed
// order - no float atomics - so the norm has the same bits on every run and schedule.
#include <cstring>
#include <vector>

#include "deepkern/portable.cuh"
#include "optim/optim_bodies.cuh"
#include "deepkern/reduce.cuh"
#include "optim/optim.h"

namespace dk {
namespace DK_BACKEND {

namespace {

constexpr int kNormThreads = 256;

// Bytes of a table of count entries and chunks chunk records, 16-byte aligned sections.
int64_t table_bytes(int32_t count, int64_t chunks) {
    const int64_t entries = (int64_t(count) * int64_t(sizeof(OptimEntry)) + 15) / 16 * 16;
    return entries + (chunks * int64_t(sizeof(OptimChunk)) + 15) / 16 * 16;
}

// Copies the host table into device memory dst on the launch's stream. A copy from pageable host
// memory is staged before cudaMemcpyAsync returns, so the host vectors may go right after.
void upload(const Exec& ex, void* dst, const void* src, size_t bytes) {
    if (bytes == 0) return;
#if defined(__CUDACC__)
    const cudaError_t err =
        cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, static_cast<cudaStream_t>(ex.stream));
    if (err != cudaSuccess)
        throw Error(DK_ERROR_DEVICE, std::string("optim: uploading the tensor table failed: ") + cudaGetErrorString(err));
#else
    (void)ex;
    std::memcpy(dst, src, bytes);
#endif
}

// Builds and uploads the table of count entries into workspace; returns the device pointers.
struct Table {
    const OptimEntry* entries;
    const OptimChunk* chunks;
    int64_t chunk_count;
    int64_t per_dtype[3];  // chunks of f32, bf16 and f16 tensors, in that order in the list
};

Table upload_table(const Exec& ex, const OptimEntry* entries, int32_t count, void* workspace) {
    std::vector<OptimChunk> chunks;
    chunks.reserve(size_t(optim_chunk_count(entries, count)));
    int64_t per_dtype[3] = {0, 0, 0};
    const DType order[3] = {DType::f32, DType::bf16, DType::f16};
    for (int d = 0; d < 3; ++d) {
        const size_t before = chunks.size();
        for (int32_t t = 0; t < count; ++t)
            if (entries[t].dtype == int32_t(order[d]))
                for (int64_t c = 0; c * kOptimChunk < entries[t].n; ++c) chunks.push_back({t, int32_t(c)});
        per_dtype[d] = int64_t(chunks.size() - before);
    }
    char* base = static_cast<char*>(workspace);
    const int64_t entry_bytes = (int64_t(count) * int64_t(sizeof(OptimEntry)) + 15) / 16 * 16;
    upload(ex, base, entries, size_t(count) * sizeof(OptimEntry));
    upload(ex, base + entry_bytes, chunks.data(), chunks.size() * sizeof(OptimChunk));
    return {reinterpret_cast<const OptimEntry*>(base), reinterpret_cast<const OptimChunk*>(base + entry_bytes),
            int64_t(chunks.size()), {per_dtype[0], per_dtype[1], per_dtype[2]}};
}

}  // namespace

// One kernel per rule and parameter dtype (so each has only its own path's registers: no spills
// under two 512-thread blocks an SM); chunks: the call's chunks of tensors of that dtype.
template <OptimRule R, typename T>
__global__ void __launch_bounds__(kOptimThreads, 2)
    optim_step_kernel(OptimStepArgs a, const OptimEntry* entries, const OptimChunk* chunks) {
    const OptimChunk ch = chunks[blockIdx.x];
    const OptimEntry e = entries[ch.tensor];
    const int64_t begin = int64_t(ch.chunk) * kOptimChunk;
    const int64_t end = e.n < begin + kOptimChunk ? e.n : begin + kOptimChunk;
    const float scale = a.grad_scale ? *a.grad_scale : 1.0f;
    optim_typed_chunk<R, T>(a, e, scale, begin, end, threadIdx.x, blockDim.x);
}

template <typename T>
void launch_step(const Exec& ex, const OptimStepArgs& a, const Table& t, int64_t first, int64_t count) {
    if (count == 0) return;
    if (a.rule == OptimRule::adamw)
        launch(ex, "adamw_step", optim_step_kernel<OptimRule::adamw, T>, dim3(unsigned(count)), dim3(kOptimThreads), 0,
               a, t.entries, t.chunks + first);
    else
        launch(ex, "sgd_step", optim_step_kernel<OptimRule::sgd, T>, dim3(unsigned(count)), dim3(kOptimThreads), 0, a,
               t.entries, t.chunks + first);
}

void optim_step_workspace(const Exec&, DType, const OptimStepArgs& a, int64_t* bytes) {
    *bytes = table_bytes(a.count, optim_chunk_count(a.entries, a.count));
}

// One launch per parameter dtype present (one for a model of one dtype): the table lists the
// chunks of f32 tensors first, then bf16, then f16.
void optim_step(const Exec& ex, DType, const OptimStepArgs& a) {
    const Table t = upload_table(ex, a.entries, a.count, a.workspace);
    launch_step<float>(ex, a, t, 0, t.per_dtype[0]);
    launch_step<bf16>(ex, a, t, t.per_dtype[0], t.per_dtype[1]);
    launch_step<f16>(ex, a, t, t.per_dtype[0] + t.per_dtype[1], t.per_dtype[2]);
}

// Pass 1 of the norm: partial[b] = the sum of squares of chunk b (one fixed tree per block).
__global__ void grad_square_sum_kernel(const OptimEntry* entries, const OptimChunk* chunks, float* partial) {
    DK_SHARED(float, scratch, [32]);
    const OptimChunk ch = chunks[blockIdx.x];
    const OptimEntry e = entries[ch.tensor];
    const int64_t begin = int64_t(ch.chunk) * kOptimChunk;
    const int64_t end = e.n < begin + kOptimChunk ? e.n : begin + kOptimChunk;
    const float s = block_sum(entry_square_sum(e, begin + threadIdx.x, end, blockDim.x), scratch);
    if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

// Pass 2: the partials summed in a fixed order by one block; the norm and the clip scale.
__global__ void grad_norm_finish_kernel(const float* partial, int64_t partials, float max_norm, float* total_norm,
                                        float* clip_scale) {
    DK_SHARED(float, scratch, [32]);
    float s = 0.0f;
    for (int64_t i = threadIdx.x; i < partials; i += blockDim.x) s = om_add(s, partial[i]);
    s = block_sum(s, scratch);
    if (threadIdx.x == 0) {
        const float norm = om_sqrt(s);
        *total_norm = norm;
        if (clip_scale) *clip_scale = clip_coefficient(max_norm, norm);
    }
}

// Pass 3 (clip): every gradient times the scale pass 2 wrote, in place.
__global__ void grad_scale_kernel(const OptimEntry* entries, const OptimChunk* chunks, const float* scale) {
    const OptimChunk ch = chunks[blockIdx.x];
    const OptimEntry e = entries[ch.tensor];
    const int64_t begin = int64_t(ch.chunk) * kOptimChunk;
    const int64_t end = e.n < begin + kOptimChunk ? e.n : begin + kOptimChunk;
    entry_scale(e, *scale, begin + threadIdx.x, end, blockDim.x);
}

void grad_norm_workspace(const Exec&, DType, const GradNormArgs& a, int64_t* bytes) {
    const int64_t chunks = optim_chunk_count(a.entries, a.count);
    // the table, the partials, and the clip scale when the caller wants none of its own
    *bytes = table_bytes(a.count, chunks) + (chunks + 1) * int64_t(sizeof(float));
}

void grad_norm(const Exec& ex, DType, const GradNormArgs& a) {
    const Table t = upload_table(ex, a.entries, a.count, a.workspace);
    const int64_t chunks = optim_chunk_count(a.entries, a.count);
    float* partial = reinterpret_cast<float*>(reinterpret_cast<char*>(a.workspace) + table_bytes(a.count, chunks));
    float* scale = a.clip_scale ? a.clip_scale : partial + chunks;
    if (chunks > 0)
        launch(ex, "grad_square_sum", grad_square_sum_kernel, dim3(unsigned(chunks)), dim3(kNormThreads), 0, t.entries,
               t.chunks, partial);
    launch(ex, "grad_norm_finish", grad_norm_finish_kernel, dim3(1), dim3(kNormThreads), 0,
           static_cast<const float*>(partial), chunks, a.max_norm, a.total_norm, (a.clip || a.clip_scale) ? scale : nullptr);
    if (a.clip && chunks > 0)
        launch(ex, "grad_scale", grad_scale_kernel, dim3(unsigned(chunks)), dim3(kOptimThreads), 0, t.entries, t.chunks,
               static_cast<const float*>(scale));
}

}  // namespace DK_BACKEND
}  // namespace dk
