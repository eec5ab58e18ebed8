// parallel_chunks: the CPU kernels' one parallel loop, fast on a quiet machine and steady when
// other processes share the cores.
//
// The threads are torch's own intra-op team (at::parallel_for, OpenMP in this torch build), so
// the op honours torch.set_num_threads and never competes with torch's team threads: after any
// torch op those threads spin-wait for a while, and a separate helper pool (at::launch, tried
// before) had to share a core with them, which cost 25-50 % of the quiet-machine speed.
//
// What keeps it steady when another process takes a core is how the work is handed out: each
// thread has a contiguous share (neighbouring rows, good for its cache on a quiet machine) but
// claims it in small chunks, and a thread that finishes claims chunks from the others' shares.
// A thread that gets no core only delays the chunk it is on; the others finish the rest, and a
// thread that starts late finds nothing left to claim.
#pragma once

#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>

namespace carafe_cpu {

// Threads parallel_chunks may use from here: worker ids passed to its body are below this.
inline int64_t max_workers() {
  return at::in_parallel_region() ? 1 : std::max(1, at::get_num_threads());
}

// Runs body(begin, end, worker) over [0, total) in chunks of at least `grain` items on up to
// max_workers() threads. Chunks never overlap, so rows written by one chunk are not touched by
// another. `worker` (< max_workers()) is never used by two chunks at once, so a kernel may keep
// per-worker scratch (and reuse what the worker's previous chunk left there). The first
// exception thrown by body is rethrown on the calling thread (at::parallel_for does that).
//
// Each worker owns a contiguous share of the chunks and claims them from the front, in order,
// so on a quiet machine it walks neighbouring rows like a static split (rows shared by
// neighbouring windows stay in its cache). A worker whose share is done claims chunks one at a
// time from the back of the other shares (walking them backwards, so its own rows stay
// neighbours too): a worker that lost its core holds up only the chunk it is on.
inline void parallel_chunks(int64_t total, int64_t grain,
                            const std::function<void(int64_t, int64_t, int)>& body) {
  if (total <= 0) return;
  const int64_t threads = max_workers();
  // Many small chunks per thread balance uneven rows and bound what a thread that loses its
  // core holds up: 32 per thread measured faster beside a busy process than 8, and no slower
  // on a quiet machine.
  const int64_t chunk = std::max<int64_t>(std::max<int64_t>(grain, 1),
                                          (total + 32 * threads - 1) / (32 * threads));
  const int64_t chunks = (total + chunk - 1) / chunk;
  const int64_t team = std::min(threads, chunks);
  if (team <= 1 || chunks >= (int64_t{1} << 31)) {
    body(0, total, 0);
    return;
  }
  // A share's unclaimed chunks [front, back), packed in one word so that the owner (front) and
  // a thief (back) never claim the same chunk.
  struct alignas(64) Share {
    std::atomic<uint64_t> range;
  };
  std::unique_ptr<Share[]> shares(new Share[team]);
  for (int64_t w = 0; w < team; ++w) {
    const auto front = static_cast<uint64_t>(w * chunks / team);
    const auto back = static_cast<uint64_t>((w + 1) * chunks / team);
    shares[w].range.store(front << 32 | back, std::memory_order_relaxed);
  }
  // Claims one chunk of `share` from the front or the back; -1 when none is left.
  auto claim = [](Share& share, bool from_front) -> int64_t {
    uint64_t range = share.range.load(std::memory_order_relaxed);
    for (;;) {
      const uint64_t front = range >> 32, back = range & 0xffffffffu;
      if (front >= back) return -1;
      const uint64_t next = from_front ? (front + 1) << 32 | back : front << 32 | (back - 1);
      if (share.range.compare_exchange_weak(range, next, std::memory_order_relaxed))
        return static_cast<int64_t>(from_front ? front : back - 1);
    }
  };
  // One parallel_for item per worker: its own share first, then the others' in turn.
  at::parallel_for(0, team, 1, [&](int64_t first, int64_t last) {
    for (int64_t w = first; w < last; ++w) {
      for (int64_t v = 0; v < team; ++v) {
        Share& share = shares[(w + v) % team];
        for (int64_t i = claim(share, v == 0); i >= 0; i = claim(share, v == 0)) {
          const int64_t begin = i * chunk;
          body(begin, std::min(total, begin + chunk), static_cast<int>(w));
        }
      }
    }
  });
}

// Rows per chunk so that a chunk does at least ~32k multiply-adds or copies: below that, handing
// work to another thread costs more than it saves.
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
