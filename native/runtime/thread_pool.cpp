#include "thread_pool.h"

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace dk {
namespace {

thread_local bool in_pool_task = false;

class ThreadPool {
public:
    explicit ThreadPool(int threads) {
        for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { worker_loop(); });
    }

    int size() const { return int(workers_.size()) + 1; }

    void run(int64_t tasks, const std::function<void(int64_t)>& task) {
        if (tasks <= 1 || in_pool_task || workers_.empty() || !busy_.try_lock()) {
            for (int64_t i = 0; i < tasks; ++i) task(i);
            return;
        }
        {
            std::lock_guard<std::mutex> lock(mutex_);
            task_ = &task;
            tasks_ = tasks;
            next_.store(0);
            error_ = nullptr;
            running_ = int(workers_.size());
            ++generation_;
        }
        wake_.notify_all();
        work();
        std::exception_ptr error;
        {
            std::unique_lock<std::mutex> lock(mutex_);
            done_.wait(lock, [this] { return running_ == 0; });
            error = error_;
            task_ = nullptr;
        }
        busy_.unlock();
        if (error) std::rethrow_exception(error);
    }

private:
    void work() {
        in_pool_task = true;
        for (int64_t i; (i = next_.fetch_add(1)) < tasks_;) {
            try {
                (*task_)(i);
            } catch (...) {
                std::lock_guard<std::mutex> lock(mutex_);
                if (!error_) error_ = std::current_exception();
                next_.store(tasks_);  // stop handing out work
            }
        }
        in_pool_task = false;
    }

    void worker_loop() {
        uint64_t seen = 0;
        for (;;) {
            {
                std::unique_lock<std::mutex> lock(mutex_);
                wake_.wait(lock, [&] { return generation_ != seen; });
                seen = generation_;
            }
            work();
            std::lock_guard<std::mutex> lock(mutex_);
            if (--running_ == 0) done_.notify_one();
        }
    }

    std::vector<std::thread> workers_;
    std::mutex busy_;
    std::mutex mutex_;
    std::condition_variable wake_, done_;
    const std::function<void(int64_t)>* task_ = nullptr;
    int64_t tasks_ = 0;
    std::atomic<int64_t> next_{0};
    std::exception_ptr error_;
    int running_ = 0;
    uint64_t generation_ = 0;
};

int configured_threads() {
    if (const char* env = std::getenv("DEEPKERN_NUM_THREADS")) {
        int n = std::atoi(env);
        if (n > 0) return n;
    }
    unsigned hw = std::thread::hardware_concurrency();
    return hw ? int(hw) : 1;
}

// Deliberately never destroyed: its threads sleep in the pool until the process exits, so exit
// never waits on a join, and no worker outlives the code it runs (the library is not unloaded).
ThreadPool& pool() {
    static ThreadPool* instance = new ThreadPool(configured_threads());
    return *instance;
}

}  // namespace

int worker_count() { return pool().size(); }

void parallel_for(int64_t tasks, const std::function<void(int64_t)>& task) { pool().run(tasks, task); }

}  // namespace dk
