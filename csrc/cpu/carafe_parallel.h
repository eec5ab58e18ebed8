// parallel_chunks: the CPU kernels' one parallel loop, steady when other processes share the
// cores.
//
// Why not `#pragma omp parallel` or at::parallel_for: in this torch build both run on the same
// OpenMP team, whose threads spin-wait at every fork and join. When another process keeps a
// core busy, a team thread is descheduled mid-spin and the whole region waits a scheduler time
// slice for it: on 2 busy cores a 1.7 ms forward took 16 ms, and torch's own bilinear
// interpolate shows the same (measured; see carafe.bench --busy).
//
// Here the caller claims chunks of [0, total) from an atomic counter and does the work itself;
// up to torch.get_num_threads() - 1 helpers on torch's inter-op pool (at::launch; they sleep
// on a condition variable, never spin) claim chunks too when they get a core. The caller
// returns when every chunk is done, never waiting for a helper that had not started: a late
// helper finds nothing left to claim. So one descheduled thread costs at most its own chunk,
// and torch.set_num_threads(1) runs everything on the calling thread.
#pragma once

#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>

namespace carafe_cpu {

namespace detail {

struct ChunkJob {
  std::atomic<int64_t> next{0};  // next chunk to claim
  std::atomic<int64_t> done{0};  // chunks finished
  int64_t total = 0, chunk = 1, chunks = 0;
  const std::function<void(int64_t, int64_t)>* body = nullptr;  // valid while chunks remain
  std::mutex mutex;
  std::condition_variable finished;
  std::exception_ptr error;

  // Claims and runs chunks until none is left; returns after its last claimed chunk.
  void work() {
    for (int64_t i = next.fetch_add(1); i < chunks; i = next.fetch_add(1)) {
      const int64_t begin = i * chunk;
      try {
        (*body)(begin, std::min(total, begin + chunk));
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex);
        if (!error) error = std::current_exception();
      }
      if (done.fetch_add(1) + 1 == chunks) {
        std::lock_guard<std::mutex> lock(mutex);
        finished.notify_all();
      }
    }
  }
};

}  // namespace detail

// Runs body(begin, end) over [0, total) in chunks of at least `grain` items, on the calling
// thread plus up to at::get_num_threads() - 1 helpers. Chunks never overlap, so rows written by
// one chunk are not touched by another.
inline void parallel_chunks(int64_t total, int64_t grain,
                            const std::function<void(int64_t, int64_t)>& body) {
  if (total <= 0) return;
  const int64_t threads = at::in_parallel_region() ? 1 : std::max(1, at::get_num_threads());
  // Several chunks per thread balance uneven rows and a thread that loses its core.
  const int64_t chunk = std::max<int64_t>(std::max<int64_t>(grain, 1),
                                          (total + 8 * threads - 1) / (8 * threads));
  const int64_t chunks = (total + chunk - 1) / chunk;
  const int64_t helpers = std::min(threads, chunks) - 1;
  if (helpers <= 0) {
    body(0, total);
    return;
  }
  auto job = std::make_shared<detail::ChunkJob>();
  job->total = total;
  job->chunk = chunk;
  job->chunks = chunks;
  job->body = &body;
  for (int64_t h = 0; h < helpers; ++h) at::launch([job] { job->work(); });
  job->work();
  {
    std::unique_lock<std::mutex> lock(job->mutex);
    job->finished.wait(lock, [&] { return job->done.load() == chunks; });
  }
  if (job->error) std::rethrow_exception(job->error);
}

// Rows per chunk so that a chunk does at least ~32k multiply-adds or copies: below that, waking
// a helper thread costs more than it saves.
inline int64_t grain_for(int64_t work_per_row) {
  return std::max<int64_t>(1, (int64_t{1} << 15) / std::max<int64_t>(1, work_per_row));
}

// Rows [begin, end) of two row ranges laid end to end: first(b, e) for the rows below
// `first_rows`, second(b - first_rows, e - first_rows) for the rest. Lets one parallel_chunks
// call (one fork and join) cover several independent loops.
template <typename First, typename Second>
void split_rows(int64_t begin, int64_t end, int64_t first_rows, const First& first,
                const Second& second) {
  if (begin < first_rows) first(begin, std::min(end, first_rows));
  if (end > first_rows) second(std::max(begin, first_rows) - first_rows, end - first_rows);
}

}  // namespace carafe_cpu
