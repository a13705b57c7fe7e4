// scheduler.cpp - runs a grid on the emulator: blocks spread over the thread pool, the threads of
// a block as fibers on one OS thread, and the strict checks.
//
// A Runner (one per OS thread) runs one block at a time. Its ready queue holds the threads that
// may run; a thread runs until it finishes or blocks (barrier, warp collective), then the next
// ready thread runs. Whoever completes a barrier or collective - the LAST to arrive - puts the
// waiters back into the queue. At a block's start and after every barrier the whole block is
// queued in the schedule order (forward, reverse, or a seeded random permutation per barrier).
//
// Fibers are lazy: a worker (stack + saved stack pointer) is bound to a thread only when the
// thread starts, and a thread that finishes without blocking hands its worker straight to the
// next fresh thread without a context switch. A kernel that never synchronizes therefore runs
// its threads one after another on one stack.
//
// A failed check throws dk::Error in the fiber; the worker catches it, returns to the block's
// native stack and the launch rethrows it. The other fibers of that block are abandoned (their
// stacks are reset before the next block), so the process stays healthy.
//
// mbarriers live beside the block (keyed by address): a thread waiting on one suspends until an
// arrival or a transaction completes the phase it waits for, which queues every such waiter; a
// thread at a named barrier (bar.sync) likewise until its count of threads has arrived.
#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "deepkern/emu/runtime.h"
#include "deepkern/emu/shared.h"
#include "deepkern/error.h"
#include "fiber.h"
#include "thread_pool.h"

namespace dk::emu::rt {
namespace {

constexpr size_t kStackBytes = 256 * 1024;
constexpr int kMaxThreadsPerBlock = 1024;
constexpr uint64_t kMaxSpins = 100000;  // try_wait polls of one phase by one thread before it is a deadlock

enum class State : uint8_t { ready, barrier, warp, mbarrier, named, done };

struct Worker;

struct AsyncCopy {
    void* dst;
    const void* src;
    int bytes;
};

// One emulated thread.
struct Lane {
    uint3 idx;
    int warp, lane;
    State state;
    Worker* worker;                  // the stack it runs on; null until it starts
    std::vector<AsyncCopy> copies;   // cp.async issued and not yet landed, in order
    std::vector<size_t> group_ends;  // committed groups: end index into copies
    const void* waits_on;            // State::mbarrier: the barrier, and the parity of the phase awaited
    unsigned wait_parity;            // (State::named: the barrier id)
    uint64_t spin_phase, spins;      // try_wait polls of waits_on's phase spin_phase in a row
};

// One initialized mbarrier: the current phase, its arrivals still pending (of `expected`) and its
// transaction bytes still outstanding (expect_tx adds, complete_tx subtracts; PTX allows either first).
struct MBarrier {
    unsigned expected, pending;
    int64_t tx;
    uint64_t phase;
    std::vector<std::pair<uint32_t, std::function<void()>>> deferred;  // copies that complete bytes on it
    // the word's mirror: a plain store over the barrier changes the word, not this
    uint64_t word() const {
        return uint64_t(1) << 63 | (phase & 0x1fffff) << 42 | uint64_t(tx + (1 << 20)) << 21 | pending;
    }
};

struct Worker {
    FiberStack stack;
    void* sp = nullptr;
    Lane* lane = nullptr;
    explicit Worker(int index) : stack(kStackBytes, index) {}
};

// A warp collective some lanes of `mask` wait in.
struct Pending {
    unsigned mask, arrived;
    const char* what;
    Complete complete;
    void* slots[32];
};

std::string dims(uint3 v) {
    return "(" + std::to_string(v.x) + "," + std::to_string(v.y) + "," + std::to_string(v.z) + ")";
}

std::string hex(unsigned mask) {
    char buf[16];
    std::snprintf(buf, sizeof(buf), "0x%08x", mask);
    return buf;
}

std::string site(const char* file, int line) {
    const char* slash = std::strrchr(file, '/');
    return std::string(slash ? slash + 1 : file) + ":" + std::to_string(line);
}

uint64_t splitmix64(uint64_t& state) {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

class Runner {
public:
    int compute_capability() const { return options_.compute_capability; }
    void run_block(const Launch& launch, const EmuOptions& options, uint3 block);

    int barrier(const char* file, int line, int predicate, const char* what);
    void collective(const char* what, unsigned mask, void* slot, Complete complete);
    unsigned active_mask() const { return present(current_->warp) & ~exited_[current_->warp]; }
    Lane& current() { return *current_; }
    const DynamicShared& shared() const { return dynamic_shared; }
    void claim_static(void* storage, size_t bytes, const char* name);
    void mbarrier_init(void* bar, unsigned count);
    uint64_t mbarrier_arrive(void* bar, unsigned count, uint32_t tx_bytes);
    void mbarrier_tx(void* bar, int64_t bytes, const char* what);
    bool mbarrier_test(void* bar, unsigned parity, const char* what, bool land);
    void mbarrier_wait(void* bar, unsigned parity);
    void mbarrier_defer(void* bar, uint32_t bytes, std::function<void()> land);
    void mbarrier_flush(void* bar);
    bool land_deferred_copies();
    unsigned elect_leader(unsigned mask);
    void named_barrier(unsigned id, unsigned threads, bool wait);
    [[noreturn]] void fail(const Lane& t, const std::string& message) const {
        throw Error(DK_ERROR_KERNEL, "kernel '" + std::string(launch_->name) + "', block " + dims(block_) +
                                         ", thread " + dims(t.idx) + ": " + message);
    }
    std::string thread_name(const Lane& t) const { return "thread " + dims(t.idx); }

private:
    static void worker_main(void* arg);
    void prepare(const Launch& launch);
    void enqueue_block();
    void push(Lane* t) { ready_[tail_++ % ready_.size()] = t; }
    Lane* pop() { return head_ == tail_ ? nullptr : ready_[head_++ % ready_.size()]; }
    Worker* take_worker();
    void switch_next(void** save, Worker* self);
    void suspend(Lane& t) { switch_next(&t.worker->sp, t.worker); }
    void finish(Lane& t);
    [[noreturn]] void diagnose_stall();
    MBarrier& live_mbarrier(void* bar, const char* what);
    bool check_mbarrier_phase(void* bar, MBarrier& m);
    bool schedule_coin();
    std::string mbarrier_name(const void* bar) const;
    unsigned present(int warp) const {
        const int n = nthreads_ - warp * 32;
        return n >= 32 ? 0xffffffffu : (1u << n) - 1;
    }
    std::string lane_name(int warp, int lane) const {
        return "lane " + std::to_string(lane) + " (" + thread_name(lanes_[size_t(warp) * 32 + lane]) + ")";
    }

    const Launch* launch_ = nullptr;
    EmuOptions options_;
    uint3 block_{};
    int nthreads_ = 0;
    std::vector<Lane> lanes_;
    std::vector<Lane*> ready_;
    uint64_t head_ = 0, tail_ = 0;
    std::vector<std::unique_ptr<Worker>> workers_;
    std::vector<Worker*> free_;
    std::vector<std::vector<Pending>> pending_;  // per warp
    std::vector<unsigned> exited_;               // per warp: lanes that finished
    int exited_count_ = 0;
    const Lane* first_exited_ = nullptr;
    int bar_arrived_ = 0, bar_count_ = 0, bar_result_ = 0;
    const char* bar_file_ = nullptr;
    int bar_line_ = 0;
    const char* bar_what_ = nullptr;
    const Lane* bar_first_ = nullptr;
    uint64_t phase_ = 0;
    std::vector<int> order_;
    std::unordered_map<const void*, MBarrier> mbarriers_;
    struct Named {
        unsigned threads, arrived;  // the count its participants give, and how many have arrived
    } named_[16];
    uint64_t elections_ = 0;
    std::unique_ptr<unsigned char[]> shared_storage_;
    size_t shared_capacity_ = 0;
    size_t static_bytes_ = 0;  // the block's DK_SHARED arrays claimed so far
    void* native_sp_ = nullptr;
    Lane* current_ = nullptr;
    std::exception_ptr error_;
};

thread_local Runner* tl_runner = nullptr;  // the runner of the block this OS thread runs

Runner& runner_of_thread() {
    static thread_local std::unique_ptr<Runner> runner;
    if (!runner) runner.reset(new Runner());
    return *runner;
}

void Runner::prepare(const Launch& launch) {
    launch_ = &launch;
    nthreads_ = int(launch.block.x * launch.block.y * launch.block.z);
    const int warps = (nthreads_ + 31) / 32;
    lanes_.resize(size_t(nthreads_));
    for (int i = 0; i < nthreads_; ++i) {
        Lane& t = lanes_[size_t(i)];
        t.idx = {unsigned(i) % launch.block.x, unsigned(i) / launch.block.x % launch.block.y,
                 unsigned(i) / (launch.block.x * launch.block.y)};
        t.warp = i / 32;
        t.lane = i % 32;
        t.state = State::ready;
        t.worker = nullptr;
        t.copies.clear();
        t.group_ends.clear();
        t.waits_on = nullptr;
        t.spins = 0;
    }
    mbarriers_.clear();
    for (Named& n : named_) n = Named{0, 0};
    elections_ = 0;
    ready_.resize(size_t(nthreads_));
    head_ = tail_ = 0;
    pending_.resize(size_t(warps));
    for (auto& p : pending_) p.clear();
    exited_.assign(size_t(warps), 0u);
    exited_count_ = 0;
    first_exited_ = nullptr;
    bar_arrived_ = bar_count_ = bar_result_ = 0;
    phase_ = 0;
    error_ = nullptr;
    // Workers left mid-kernel by a failed block are simply restarted.
    free_.clear();
    for (size_t i = workers_.size(); i-- > 0;) {
        Worker* w = workers_[i].get();
        w->lane = nullptr;
        w->sp = w->stack.initial_sp(&Runner::worker_main, w);
        free_.push_back(w);
    }
    if (launch.shared_bytes > shared_capacity_) {
        shared_storage_.reset(new unsigned char[launch.shared_bytes + 128]);
        shared_capacity_ = launch.shared_bytes;
    }
    auto* base = reinterpret_cast<unsigned char*>((reinterpret_cast<uintptr_t>(shared_storage_.get()) + 127) &
                                                  ~uintptr_t(127));
    // Poison: reading shared memory nobody wrote gives NaN / -1, not a plausible stale value.
    std::memset(base, 0xff, launch.shared_bytes);
    dynamic_shared = {base, launch.shared_bytes};
    static_bytes_ = 0;
    ++block_serial;
    blockDim = launch.block;
    gridDim = launch.grid;
}

void Runner::claim_static(void* storage, size_t bytes, const char* name) {
    static_bytes_ += bytes;
    const std::string what = "static shared array '" + std::string(name) + "' (" + std::to_string(bytes) +
                             " bytes) brings the block's static shared memory to " + std::to_string(static_bytes_) +
                             " bytes";
    if (static_bytes_ > kSharedWithoutOptIn)
        fail(current(), what + ", over the " + std::to_string(kSharedWithoutOptIn) +
                            " bytes CUDA allows statically (ptxas refuses it)");
    if (options_.shared_limit >= 0 && static_bytes_ + dynamic_shared.bytes > uint64_t(options_.shared_limit))
        fail(current(), what + "; with " + std::to_string(dynamic_shared.bytes) +
                            " bytes of dynamic shared memory that exceeds the configured limit of " +
                            std::to_string(options_.shared_limit) + " bytes per block");
    std::memset(storage, 0xff, bytes);
}

// Queues every thread of the block in the schedule order of the current phase.
void Runner::enqueue_block() {
    order_.resize(size_t(nthreads_));
    for (int i = 0; i < nthreads_; ++i)
        order_[size_t(i)] = options_.schedule == DK_EMU_REVERSE ? nthreads_ - 1 - i : i;
    if (options_.schedule == DK_EMU_RANDOM) {
        const uint64_t block_linear =
            (uint64_t(block_.z) * launch_->grid.y + block_.y) * launch_->grid.x + block_.x;
        uint64_t state = options_.schedule_seed ^ (block_linear * 0xD1B54A32D192ED03ull) ^ (phase_ << 40);
        for (int i = nthreads_ - 1; i > 0; --i)
            std::swap(order_[size_t(i)], order_[size_t(splitmix64(state) % uint64_t(i + 1))]);
    }
    for (int i : order_) {
        lanes_[size_t(i)].state = State::ready;
        push(&lanes_[size_t(i)]);
    }
}

Worker* Runner::take_worker() {
    if (!free_.empty()) {
        Worker* w = free_.back();
        free_.pop_back();
        return w;
    }
    workers_.push_back(std::make_unique<Worker>(int(workers_.size())));
    Worker* w = workers_.back().get();
    w->sp = w->stack.initial_sp(&Runner::worker_main, w);
    return w;
}

// Leaves the running context (its stack pointer goes to *save) for the next ready thread, or for
// the native stack when none is ready. Costs no switch when the next thread runs on `self`.
void Runner::switch_next(void** save, Worker* self) {
    Lane* next = pop();
    if (!next) {
        dk_emu_switch(save, native_sp_);
        return;
    }
    if (!next->worker) {
        Worker* w = take_worker();
        w->lane = next;
        next->worker = w;
    }
    current_ = next;
    threadIdx = next->idx;
    if (next->worker != self) dk_emu_switch(save, next->worker->sp);
}

void Runner::worker_main(void* arg) {
    Worker* w = static_cast<Worker*>(arg);
    for (;;) {
        Runner& r = *tl_runner;
        try {
            r.launch_->body(r.launch_->closure);
            r.finish(*w->lane);
        } catch (...) {
            r.error_ = std::current_exception();
        }
        if (r.error_) {
            dk_emu_switch(&w->sp, r.native_sp_);  // never resumed: prepare() restarts this worker
            continue;
        }
        w->lane = nullptr;
        r.free_.push_back(w);
        r.switch_next(&w->sp, w);  // returns with w->lane bound to the next thread
    }
}

// A thread returned from the kernel.
void Runner::finish(Lane& t) {
    if (bar_arrived_ > 0)
        fail(t, "exits while " + std::to_string(bar_arrived_) + " thread(s) wait at " + bar_what_ + " at " +
                    site(bar_file_, bar_line_) + " (first: " + thread_name(*bar_first_) +
                    "): every thread of the block must reach each barrier");
    const unsigned bit = 1u << t.lane;
    for (const Pending& p : pending_[size_t(t.warp)])
        if (p.mask & bit)
            fail(t, "exits while " + lane_name(t.warp, __builtin_ctz(p.arrived)) + " waits in " + p.what +
                        " with mask " + hex(p.mask) + ", which names this lane (" + std::to_string(t.lane) + ")");
    t.copies.clear();  // cp.async never waited for: nobody can read them any more
    t.group_ends.clear();
    t.state = State::done;
    t.worker = nullptr;
    exited_[size_t(t.warp)] |= bit;
    if (exited_count_++ == 0) first_exited_ = &t;
}

int Runner::barrier(const char* file, int line, int predicate, const char* what) {
    Lane& t = *current_;
    if (exited_count_ > 0)
        fail(t, std::string("reaches ") + what + " at " + site(file, line) + " after " + thread_name(*first_exited_) +
                    " exited: every thread of the block must reach each barrier");
    if (bar_arrived_ == 0) {
        bar_file_ = file;
        bar_line_ = line;
        bar_what_ = what;
        bar_first_ = &t;
    } else if (line != bar_line_ || (file != bar_file_ && std::strcmp(file, bar_file_) != 0)) {
        fail(t, std::string("waits at ") + what + " at " + site(file, line) + " while " + thread_name(*bar_first_) +
                    " waits at " + bar_what_ + " at " + site(bar_file_, bar_line_) +
                    ": threads of a block must meet at the same barrier");
    }
    ++bar_arrived_;
    bar_count_ += predicate != 0;
    t.state = State::barrier;
    if (bar_arrived_ == nthreads_) {
        bar_result_ = bar_count_;
        bar_arrived_ = bar_count_ = 0;
        ++phase_;
        enqueue_block();
    }
    suspend(t);
    return bar_result_;  // stays valid until the next barrier completes, which needs this thread
}

void Runner::collective(const char* what, unsigned mask, void* slot, Complete complete) {
    Lane& t = *current_;
    const unsigned bit = 1u << t.lane;
    const size_t warp = size_t(t.warp);
    if (!(mask & bit))
        fail(t, std::string(what) + " with mask " + hex(mask) + ", which does not include the calling lane " +
                    std::to_string(t.lane));
    if (unsigned missing = mask & ~present(t.warp))
        fail(t, std::string(what) + " with mask " + hex(mask) + " names lane " + std::to_string(__builtin_ctz(missing)) +
                    ", which does not exist (the block has " + std::to_string(nthreads_) + " threads)");
    if (unsigned gone = mask & exited_[warp])
        fail(t, std::string(what) + " with mask " + hex(mask) + " names " + lane_name(t.warp, __builtin_ctz(gone)) +
                    ", which has exited");
    std::vector<Pending>& pending = pending_[warp];
    Pending* p = nullptr;
    for (Pending& q : pending)
        if (q.mask & bit) p = &q;
    if (p) {
        if (p->mask != mask || std::strcmp(p->what, what) != 0)
            fail(t, std::string(what) + " with mask " + hex(mask) + " while " +
                        lane_name(t.warp, __builtin_ctz(p->arrived)) + " waits in " + p->what + " with mask " +
                        hex(p->mask) + ": the lanes of a mask must all reach the same collective with the same mask");
    } else {
        for (unsigned m = mask & ~bit; m; m &= m - 1) {
            const Lane& other = lanes_[warp * 32 + size_t(__builtin_ctz(m))];
            if (other.state == State::barrier || other.state == State::warp)
                fail(t, std::string(what) + " with mask " + hex(mask) + " names " +
                            lane_name(t.warp, other.lane) + ", which waits " +
                            (other.state == State::barrier ? std::string("at ") + bar_what_ + " at " + site(bar_file_, bar_line_)
                                                           : std::string("in another warp collective")) +
                            " and can never arrive");
        }
        pending.push_back(Pending{mask, 0, what, complete, {}});
        p = &pending.back();
    }
    p->slots[t.lane] = slot;
    p->arrived |= bit;
    if (p->arrived != mask) {
        t.state = State::warp;
        suspend(t);
        return;
    }
    const Pending done = *p;
    *p = pending.back();
    pending.pop_back();
    done.complete(done.slots, mask);
    for (unsigned m = mask & ~bit; m; m &= m - 1) {
        Lane& other = lanes_[warp * 32 + size_t(__builtin_ctz(m))];
        other.state = State::ready;
        push(&other);
    }
}

// ---- mbarrier ----

std::string Runner::mbarrier_name(const void* bar) const {
    const auto* p = static_cast<const unsigned char*>(bar);
    const DynamicShared& s = dynamic_shared;
    if (p >= s.base && p < s.base + s.bytes) return "mbarrier at dynamic shared offset " + std::to_string(p - s.base);
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%p", bar);
    return std::string("mbarrier at ") + buf;
}

void Runner::mbarrier_init(void* bar, unsigned count) {
    Lane& t = current();
    if (reinterpret_cast<uintptr_t>(bar) % 8 != 0)
        fail(t, "mbarrier.init at a misaligned address (" + mbarrier_name(bar) + "): the object is 8-byte aligned");
    if (count < 1 || count > (1u << 20) - 1)
        fail(t, "mbarrier.init of " + mbarrier_name(bar) + " with count " + std::to_string(count) +
                    ": the expected arrival count is in [1, 2^20 - 1]");
    for (const Lane& other : lanes_)
        if (other.state == State::mbarrier && other.waits_on == bar)
            fail(t, "mbarrier.init of " + mbarrier_name(bar) + " while " + thread_name(other) + " waits on it");
    MBarrier& m = mbarriers_[bar];
    m = MBarrier{count, count, 0, 0, {}};
    const uint64_t word = m.word();
    std::memcpy(bar, &word, 8);
}

MBarrier& Runner::live_mbarrier(void* bar, const char* what) {
    const auto it = mbarriers_.find(bar);
    if (it == mbarriers_.end())
        fail(current(), std::string(what) + " on " + mbarrier_name(bar) +
                            ", which no mbarrier.init of this block initialized");
    uint64_t word;
    std::memcpy(&word, bar, 8);
    if (word != it->second.word())
        fail(current(), std::string(what) + " on " + mbarrier_name(bar) +
                            ", whose 8 bytes were overwritten by a plain store since its last mbarrier operation");
    return it->second;
}

// Completes the phase when nothing is pending: the next phase starts with the expected count,
// and every thread waiting for the completed phase is queued. Whether it woke any.
bool Runner::check_mbarrier_phase(void* bar, MBarrier& m) {
    bool woke = false;
    if (m.pending == 0 && m.tx == 0) {
        ++m.phase;
        m.pending = m.expected;
        for (Lane& other : lanes_)
            if (other.state == State::mbarrier && other.waits_on == bar) {
                other.state = State::ready;
                other.waits_on = nullptr;
                push(&other);
                woke = true;
            }
    }
    const uint64_t word = m.word();
    std::memcpy(bar, &word, 8);
    return woke;
}

// The reordering the REVERSE and RANDOM schedules add to asynchronous work: true always for
// REVERSE, a seeded draw for RANDOM, never for FORWARD.
bool Runner::schedule_coin() {
    if (options_.schedule != DK_EMU_RANDOM) return options_.schedule == DK_EMU_REVERSE;
    uint64_t state = options_.schedule_seed ^ (++elections_ * 0xD1B54A32D192ED03ull) ^ (phase_ << 40);
    return splitmix64(state) & 1;
}

uint64_t Runner::mbarrier_arrive(void* bar, unsigned count, uint32_t tx_bytes) {
    MBarrier& m = live_mbarrier(bar, tx_bytes ? "mbarrier.arrive.expect_tx" : "mbarrier.arrive");
    if (count < 1 || count > m.pending)
        fail(current(), "mbarrier.arrive with count " + std::to_string(count) + " on " + mbarrier_name(bar) +
                            ", whose current phase has " + std::to_string(m.pending) + " arrival(s) pending");
    const uint64_t token = m.phase;
    if (tx_bytes) mbarrier_tx(bar, tx_bytes, "mbarrier.arrive.expect_tx");
    m.pending -= count;
    // An arrival that completes a phase may let its waiters run before the arriving thread goes
    // on (the REVERSE and RANDOM schedules do): a consumer releasing a stage before it is done
    // reading it then sees the producer's refill.
    if (check_mbarrier_phase(bar, m) && schedule_coin()) {
        Lane& t = current();
        push(&t);
        suspend(t);
    }
    return token;
}

void Runner::mbarrier_tx(void* bar, int64_t bytes, const char* what) {
    MBarrier& m = live_mbarrier(bar, what);
    const int64_t tx = m.tx + bytes;
    if (tx > (1 << 20) - 1 || tx < -((1 << 20) - 1))
        fail(current(), std::string(what) + " of " + std::to_string(bytes < 0 ? -bytes : bytes) + " bytes on " +
                            mbarrier_name(bar) + " takes its transaction count to " + std::to_string(tx) +
                            ", outside [-(2^20 - 1), 2^20 - 1]");
    m.tx = tx;
    if (bytes < 0) check_mbarrier_phase(bar, m);  // a completed transaction may complete the phase
    else {
        const uint64_t word = m.word();
        std::memcpy(bar, &word, 8);
    }
}

// The copies deferred on bar land now, completing their bytes.
void Runner::mbarrier_flush(void* bar) {
    auto copies = std::move(mbarriers_.at(bar).deferred);
    mbarriers_.at(bar).deferred.clear();
    for (auto& c : copies) {
        c.second();
        mbarrier_tx(bar, -int64_t(c.first), "an asynchronous copy's complete_tx");
    }
}

// try_wait (land) lands the deferred copies first, and when the phase is still incomplete yields to
// the other ready threads, so a kernel spinning on it makes progress (fibers are not preempted); with
// none ready, nothing can complete the phase. A blocking wait lands nothing: its copies land when
// nothing else can run.
bool Runner::mbarrier_test(void* bar, unsigned parity, const char* what, bool land) {
    if (parity > 1) fail(current(), std::string(what) + " with parity " + std::to_string(parity) + ": 0 or 1");
    if (!live_mbarrier(bar, what).deferred.empty() && land) mbarrier_flush(bar);
    const MBarrier& m = mbarriers_.at(bar);
    const bool done = (m.phase & 1) != parity;  // the phase of that parity is the preceding one
    if (!done && land) {
        Lane& t = current();
        // the same phase polled this often while every other thread had its turns: nothing completes it
        t.spins = t.spin_phase == m.phase && t.waits_on == bar ? t.spins + 1 : 0;
        t.spin_phase = m.phase;
        t.waits_on = bar;
        if (head_ == tail_ || t.spins > kMaxSpins)
            fail(t, std::string(what) + " spins on " + mbarrier_name(bar) + " for its phase of parity " +
                        std::to_string(parity) + ", which no thread left to run completes: deadlock");
        push(&t);  // behind the others: yield
        suspend(t);
    }
    return done;
}

// FORWARD lands the copy as late as it may (a read that does not wait for it sees poison); REVERSE
// and RANDOM (a seeded draw per copy) as early, at issue (a copy over memory still being read
// shows there).
void Runner::mbarrier_defer(void* bar, uint32_t bytes, std::function<void()> land) {
    MBarrier& m = live_mbarrier(bar, "an asynchronous copy completing on");
    if (!schedule_coin()) {
        m.deferred.emplace_back(bytes, std::move(land));
        return;
    }
    land();
    mbarrier_tx(bar, -int64_t(bytes), "an asynchronous copy's complete_tx");
}

// No thread can run: the copies deferred on barriers that threads wait on land (as late as they
// may, so a read that does not wait for them sees poison). Whether any did.
bool Runner::land_deferred_copies() {
    bool landed = false;
    for (auto& [bar, m] : mbarriers_) {
        if (m.deferred.empty()) continue;
        for (const Lane& other : lanes_)
            if (other.state == State::mbarrier && other.waits_on == bar) {
                mbarrier_flush(const_cast<void*>(bar));
                landed = true;
                break;
            }
    }
    return landed;
}

void Runner::mbarrier_wait(void* bar, unsigned parity) {
    if (mbarrier_test(bar, parity, "mbarrier.try_wait.parity", false)) return;
    Lane& t = current();
    t.state = State::mbarrier;
    t.waits_on = bar;
    t.wait_parity = parity;
    suspend(t);
}

unsigned Runner::elect_leader(unsigned mask) {
    if (options_.schedule == DK_EMU_FORWARD) return unsigned(__builtin_ctz(mask));
    if (options_.schedule == DK_EMU_REVERSE) return 31u - unsigned(__builtin_clz(mask));
    uint64_t state = options_.schedule_seed ^ (phase_ << 40) ^ (++elections_ * 0x9E3779B97F4A7C15ull) ^
                     ((uint64_t(block_.z) * launch_->grid.y + block_.y) * launch_->grid.x + block_.x);
    unsigned pick = unsigned(splitmix64(state) % unsigned(__builtin_popcount(mask)));
    unsigned m = mask;
    while (pick--) m &= m - 1;
    return unsigned(__builtin_ctz(m));
}

// ---- named barriers ----

void Runner::named_barrier(unsigned id, unsigned threads, bool wait) {
    Lane& t = current();
    const char* what = wait ? "bar.sync" : "bar.arrive";
    const unsigned block_warps = unsigned(nthreads_ + 31) / 32;
    if (id < 1 || id > 15)
        fail(t, std::string(what) + " on barrier " + std::to_string(id) + ": named barriers are 1..15 (0 is __syncthreads')");
    if (threads == 0 || threads % 32 != 0 || threads > 32 * block_warps)
        fail(t, std::string(what) + " " + std::to_string(id) + " for " + std::to_string(threads) +
                    " threads: a whole number of warps, at most the block's " + std::to_string(32 * block_warps));
    Named& b = named_[id];
    if (b.arrived > 0 && b.threads != threads)
        fail(t, std::string(what) + " " + std::to_string(id) + " for " + std::to_string(threads) + " threads while " +
                    std::to_string(b.arrived) + " thread(s) arrived there for " + std::to_string(b.threads) +
                    ": the threads of a named barrier must agree on its count");
    b.threads = threads;
    if (++b.arrived == threads) {  // complete: release its waiters
        b = Named{0, 0};
        for (Lane& other : lanes_)
            if (other.state == State::named && other.wait_parity == id) {
                other.state = State::ready;
                push(&other);
            }
        return;
    }
    if (!wait) return;
    t.state = State::named;
    t.wait_parity = id;
    suspend(t);
}

// No thread can run and some have not finished: name a waiter and what it waits for.
void Runner::diagnose_stall() {
    for (size_t w = 0; w < pending_.size(); ++w)
        for (const Pending& p : pending_[w]) {
            const int missing = __builtin_ctz(p.mask & ~p.arrived);
            const Lane& waiter = lanes_[w * 32 + size_t(__builtin_ctz(p.arrived))];
            const Lane& other = lanes_[w * 32 + size_t(missing)];
            fail(waiter, std::string("waits in ") + p.what + " with mask " + hex(p.mask) + " for " +
                             lane_name(int(w), missing) + ", which " +
                             (other.state == State::barrier ? std::string("waits at ") + bar_what_ + " at " +
                                                                  site(bar_file_, bar_line_)
                                                            : std::string("waits in another warp collective")) +
                             ": deadlock");
        }
    // every barrier some thread waits on, with the first of its waiters
    std::string waits;
    const Lane* first = nullptr;
    std::vector<const void*> named;
    for (const Lane& t : lanes_)
        if (t.state == State::mbarrier && std::find(named.begin(), named.end(), t.waits_on) == named.end()) {
            const MBarrier& m = mbarriers_.at(t.waits_on);
            named.push_back(t.waits_on);
            if (!first) first = &t;
            waits += std::string(waits.empty() ? "" : "; ") + thread_name(t) + " waits on " + mbarrier_name(t.waits_on) +
                     " for its phase of parity " + std::to_string(t.wait_parity) + " to complete, with " +
                     std::to_string(m.pending) + " of " + std::to_string(m.expected) + " arrivals and " +
                     std::to_string(m.tx) + " transaction bytes outstanding";
        }
    if (first)
        fail(*first, waits + "; no thread is left to complete them: deadlock (a wait on the wrong phase, or "
                             "arrivals or expect_tx bytes that never come)");
    for (const Lane& t : lanes_)
        if (t.state == State::named) {
            const Named& b = named_[t.wait_parity];
            fail(t, "waits at bar.sync " + std::to_string(t.wait_parity) + " for " + std::to_string(b.threads) +
                        " threads, of which " + std::to_string(b.arrived) +
                        " arrived, and no thread is left to arrive: deadlock");
        }
    for (const Lane& t : lanes_)
        if (t.state != State::done) fail(t, "never finished (internal scheduling error)");
    throw Error(DK_ERROR_INTERNAL, "emulator stalled without a waiting thread");
}

void Runner::run_block(const Launch& launch, const EmuOptions& options, uint3 block) {
    options_ = options;
    block_ = block;
    blockIdx = block;
    tl_runner = this;
    prepare(launch);
    enqueue_block();
    do switch_next(&native_sp_, nullptr);
    while (!error_ && exited_count_ != nthreads_ && land_deferred_copies());
    tl_runner = nullptr;
    if (error_) {
        std::exception_ptr e = error_;
        error_ = nullptr;
        std::rethrow_exception(e);
    }
    if (exited_count_ != nthreads_) diagnose_stall();
}

// Each kernel's opt-in to dynamic shared memory above kSharedWithoutOptIn, as CUDA keeps it per function.
std::mutex opt_in_mutex;
std::unordered_map<const void*, size_t> opt_in;

size_t max_dynamic_shared(const void* kernel) {
    std::lock_guard<std::mutex> lock(opt_in_mutex);
    const auto it = opt_in.find(kernel);
    return it == opt_in.end() ? kSharedWithoutOptIn : std::max(it->second, kSharedWithoutOptIn);
}

// DEEPKERN_LAUNCH_LOG=FILE: every launch appends "name<TAB>library<TAB>kernel offset in it (hex)
// <TAB>grid<TAB>block<TAB>dynamic shared bytes", from which the kernel report
// (benchmarks/kernels/report.py) takes each kernel's launch configuration; the offset names the
// kernel through the library's symbol table.
void log_launch(const Launch& l) {
    static const char* path = std::getenv("DEEPKERN_LAUNCH_LOG");
    if (!path || !*path) return;
    static std::mutex mutex;
    static FILE* out = std::fopen(path, "a");
    Dl_info info{};
    if (!out || !dladdr(l.kernel, &info) || !info.dli_fname) return;
    std::lock_guard<std::mutex> lock(mutex);
    std::fprintf(out, "%s\t%s\t%zx\t%u,%u,%u\t%u,%u,%u\t%zu\n", l.name, info.dli_fname,
                 size_t(static_cast<const char*>(l.kernel) - static_cast<const char*>(info.dli_fbase)), l.grid.x,
                 l.grid.y, l.grid.z, l.block.x, l.block.y, l.block.z, l.shared_bytes);
    std::fflush(out);
}

[[noreturn]] void launch_error(const Launch& l, const std::string& message) {
    throw Error(DK_ERROR_KERNEL, "kernel '" + std::string(l.name) + "', launch with grid " + dims(l.grid) +
                                     ", block " + dims(l.block) + ", " + std::to_string(l.shared_bytes) +
                                     " bytes of dynamic shared memory: " + message);
}

}  // namespace

void set_max_dynamic_shared(const void* kernel, size_t bytes) {
    std::lock_guard<std::mutex> lock(opt_in_mutex);
    opt_in[kernel] = bytes;
}

void run_grid(const Exec& ex, const Launch& launch) {
    const EmuOptions options = ex.emu ? *ex.emu : EmuOptions();
    const dim3 g = launch.grid, b = launch.block;
    if (b.x == 0 || b.y == 0 || b.z == 0 || g.x == 0 || g.y == 0 || g.z == 0)
        launch_error(launch, "every grid and block dimension must be at least 1");
    const uint64_t threads = uint64_t(b.x) * b.y * b.z;
    if (threads > uint64_t(kMaxThreadsPerBlock) || b.z > 64)
        launch_error(launch, "a block has at most 1024 threads and blockDim.z <= 64, got " + std::to_string(threads) +
                                 " threads");
    if (g.x > 0x7fffffffu || g.y > 65535 || g.z > 65535)
        launch_error(launch, "grid dimensions are limited to (2^31-1, 65535, 65535)");
    if (launch.shared_bytes > max_dynamic_shared(launch.kernel))
        launch_error(launch, "dynamic shared memory above " + std::to_string(kSharedWithoutOptIn) +
                                 " bytes needs the kernel's opt-in to at least that much "
                                 "(cudaFuncAttributeMaxDynamicSharedMemorySize), as on a GPU");
    if (options.shared_limit >= 0 && launch.shared_bytes > uint64_t(options.shared_limit))
        launch_error(launch, "dynamic shared memory exceeds the configured limit of " +
                                 std::to_string(options.shared_limit) + " bytes per block");
    log_launch(launch);
    const int64_t blocks = int64_t(g.x) * g.y * g.z;
    int64_t tasks = options.threads > 0 ? std::min(options.threads, worker_count()) : worker_count();
    tasks = std::min(tasks, blocks);
    std::atomic<int64_t> next{0};
    std::atomic<bool> failed{false};
    parallel_for(tasks, [&](int64_t) {
        Runner& runner = runner_of_thread();
        for (int64_t i; !failed.load(std::memory_order_relaxed) && (i = next.fetch_add(1)) < blocks;) {
            const uint3 block{unsigned(i % g.x), unsigned(i / g.x % g.y), unsigned(i / (int64_t(g.x) * g.y))};
            try {
                runner.run_block(launch, options, block);
            } catch (...) {
                failed.store(true);
                throw;
            }
        }
    });
}

void claim_static_shared(void* storage, size_t bytes, const char* name) {
    tl_runner->claim_static(storage, bytes, name);
}

void shared_out_of_bounds(const char* kind, const char* name, int64_t index, uint64_t extent, size_t element_bytes,
                          size_t total_bytes) {
    kernel_error(std::string(kind) + " shared memory access " + name + "[" + std::to_string(index) +
                 "] out of bounds: the dimension has " + std::to_string(extent) + " elements of " +
                 std::to_string(element_bytes) + " bytes (" + std::to_string(total_bytes) + " bytes)");
}

void require_sm90(const char* instruction) {
    const int cc = tl_runner->compute_capability();
    if (cc < 90)
        kernel_error(std::string(instruction) + " is an sm_90 instruction, and the emulated GPU is sm_" + std::to_string(cc) +
                     " (dk_emu_options.compute_capability): a Hopper kernel was chosen for another GPU");
}

void kernel_error(const std::string& message) {
    if (!tl_runner) throw Error(DK_ERROR_KERNEL, message);
    tl_runner->fail(tl_runner->current(), message);
}

int barrier(const char* file, int line, int predicate, const char* what) {
    return tl_runner->barrier(file, line, predicate, what);
}

void warp_collective(const char* what, unsigned mask, void* slot, Complete complete) {
    tl_runner->collective(what, mask, slot, complete);
}

unsigned active_mask() { return tl_runner->active_mask(); }

// ---- cp.async: recorded per thread, landed by wait_group ----

void cp_async(void* dst, const void* src, int bytes) {
    Lane& t = tl_runner->current();
    if ((reinterpret_cast<uintptr_t>(dst) | reinterpret_cast<uintptr_t>(src)) % uintptr_t(bytes) != 0)
        kernel_error("cp.async of " + std::to_string(bytes) + " bytes needs " + std::to_string(bytes) +
                     "-byte aligned addresses");
    const DynamicShared& s = dynamic_shared;
    const auto* d = static_cast<const unsigned char*>(dst);
    if (d >= s.base && d < s.base + s.bytes && d + bytes > s.base + s.bytes)
        kernel_error("cp.async writes " + std::to_string(bytes) + " bytes at dynamic shared offset " +
                     std::to_string(d - s.base) + ", past the end (" + std::to_string(s.bytes) + " bytes)");
    t.copies.push_back({dst, src, bytes});
}

void cp_async_commit() {
    Lane& t = tl_runner->current();
    t.group_ends.push_back(t.copies.size());
}

void cp_async_wait(int pending_groups) {
    Lane& t = tl_runner->current();
    const size_t keep = size_t(pending_groups);
    if (t.group_ends.size() <= keep) return;
    const size_t retire = t.group_ends.size() - keep;
    const size_t end = t.group_ends[retire - 1];
    for (size_t i = 0; i < end; ++i) {
        const auto& c = t.copies[i];
        if (c.src)
            std::memcpy(c.dst, c.src, size_t(c.bytes));
        else  // a zero-filling copy (src-size 0)
            std::memset(c.dst, 0, size_t(c.bytes));
    }
    t.copies.erase(t.copies.begin(), t.copies.begin() + std::ptrdiff_t(end));
    t.group_ends.erase(t.group_ends.begin(), t.group_ends.begin() + std::ptrdiff_t(retire));
    for (size_t& e : t.group_ends) e -= end;
}

void mbarrier_init(void* bar, unsigned count) { tl_runner->mbarrier_init(bar, count); }
uint64_t mbarrier_arrive(void* bar, unsigned count, uint32_t tx_bytes) {
    if (tx_bytes) require_sm90("mbarrier.arrive.expect_tx");
    return tl_runner->mbarrier_arrive(bar, count, tx_bytes);
}
void mbarrier_expect_tx(void* bar, uint32_t tx_bytes) {
    require_sm90("mbarrier.expect_tx");
    tl_runner->mbarrier_tx(bar, int64_t(tx_bytes), "mbarrier.expect_tx"); }
void mbarrier_complete_tx(void* bar, uint32_t tx_bytes) {
    require_sm90("mbarrier.complete_tx");
    tl_runner->mbarrier_tx(bar, -int64_t(tx_bytes), "mbarrier.complete_tx");
}
bool mbarrier_test_parity(void* bar, unsigned parity) {
    require_sm90("mbarrier.try_wait.parity");
    return tl_runner->mbarrier_test(bar, parity, "mbarrier.try_wait.parity", true);
}
void mbarrier_wait_parity(void* bar, unsigned parity) {
    require_sm90("mbarrier.try_wait.parity");
    tl_runner->mbarrier_wait(bar, parity);
}
void mbarrier_defer_tx(void* bar, uint32_t bytes, std::function<void()> land) {
    tl_runner->mbarrier_defer(bar, bytes, std::move(land));
}

void named_barrier(unsigned id, unsigned threads, bool wait) { tl_runner->named_barrier(id, threads, wait); }

void setmaxnreg(bool inc, int registers) {
    require_sm90(inc ? "setmaxnreg.inc" : "setmaxnreg.dec");
    if (blockDim.x * blockDim.y * blockDim.z % 128 != 0)
        kernel_error(std::string("setmaxnreg.") + (inc ? "inc" : "dec") + " in a block of " +
                     std::to_string(blockDim.x * blockDim.y * blockDim.z) +
                     " threads: it is executed by whole warpgroups (128 threads)");
    // every lane of the warp, with the same form (the collective's name carries it)
    static thread_local std::string names[2][33];
    std::string& name = names[inc][registers / 8];
    if (name.empty()) name = std::string("setmaxnreg.") + (inc ? "inc " : "dec ") + std::to_string(registers);
    warp_collective(name.c_str(), 0xffffffffu, nullptr, [](void* const*, unsigned) {});
}

bool elect_sync(unsigned mask) {
    require_sm90("elect.sync");
    struct Slot {
        bool elected;
    } slot{false};
    warp_collective("elect.sync", mask, &slot, [](void* const* slots, unsigned m) {
        static_cast<Slot*>(slots[tl_runner->elect_leader(m)])->elected = true;
    });
    return slot.elected;
}

}  // namespace dk::emu::rt
