// fiber_bench.cpp - an emulated kernel built into the test to time the emulator's fiber switch:
// a block of 256 threads passing many barriers, where every thread suspends and resumes once per
// barrier.
#include <chrono>

#include "deepkern/portable.cuh"

namespace {

__global__ void barrier_loop(int iterations) {
    for (int i = 0; i < iterations; ++i) __syncthreads();
}

}  // namespace

// Nanoseconds per suspend + resume of one emulated thread, barrier bookkeeping included.
double emu_fiber_switch_ns() {
    dk::EmuOptions options;
    options.threads = 1;
    dk::Exec ex;
    ex.emu = &options;
    constexpr int threads = 256, iterations = 4000;
    dk::launch(ex, "barrier_loop", barrier_loop, dim3(1), dim3(threads), 0, 10);  // warm: stacks exist
    const auto t0 = std::chrono::steady_clock::now();
    dk::launch(ex, "barrier_loop", barrier_loop, dim3(1), dim3(threads), 0, iterations);
    const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
    return ns / (double(threads) * iterations);
}
