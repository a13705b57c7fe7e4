// thread_pool.h - the worker threads the cpu backend and the emulator share.
//
// parallel_for(tasks, f) runs f(0) .. f(tasks-1) on the pool plus the calling thread. A call
// made from inside a task, or while another caller holds the pool, runs serially on the caller:
// no nesting deadlocks, no oversubscription. The first exception a task throws is rethrown to
// the caller once every task has stopped.
#pragma once

#include <cstdint>
#include <functional>

namespace dk {

int worker_count();  // DEEPKERN_NUM_THREADS, else the hardware threads
void parallel_for(int64_t tasks, const std::function<void(int64_t)>& task);

// Splits [0, n) into chunks of at least `grain` items, one task per chunk.
template <class F>
void parallel_range(int64_t n, int64_t grain, F&& body) {
    if (n <= 0) return;
    int64_t chunks = (n + grain - 1) / grain;
    const int64_t cap = int64_t(worker_count()) * 4;
    if (chunks > cap) chunks = cap;
    const int64_t per = (n + chunks - 1) / chunks;
    parallel_for(chunks, [&](int64_t c) {
        const int64_t begin = c * per;
        const int64_t end = begin + per < n ? begin + per : n;
        if (begin < end) body(begin, end);
    });
}

// body.forward(e), or body.backward(e), for every element e < n on the pool: the cpu side of the
// gather families' each_element (kernels/include/deepkern/walk.cuh: pool, resize).
template <bool Backward, class Body>
void each_element(const Body& body, int64_t n) {
    parallel_range(n, 1 << 12, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
            if constexpr (Backward) body.backward(i);
            else body.forward(i);
        }
    });
}

}  // namespace dk
