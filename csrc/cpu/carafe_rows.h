// Row helpers shared by the CPU kernels (carafe_kernel.cpp, carafe_backward.cpp): valid tap
// ranges, per-worker scratch, rings of staged rows that follow a worker along neighbouring rows,
// and the phase split / merge of output-sized rows.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "../carafe_index.h"
#include "carafe_simd.h"

namespace carafe_cpu {

using carafe_index::Geometry;

// Valid tap range [lo, hi) along one axis so that the tap's input coordinate is inside.
struct TapRange {
  int64_t lo, hi;
};
inline TapRange valid_taps(int64_t source, int64_t radius, int64_t k, int64_t size) {
  return {std::max<int64_t>(0, radius - source), std::min<int64_t>(k, size + radius - source)};
}

// A zeroed scratch buffer of n elements, aligned to a vector register (kept per worker).
template <typename T>
class Scratch {
 public:
  explicit Scratch(int64_t n) : data_(static_cast<size_t>(n) + kPad, T(0)) {}
  T* get() {
    const auto address = reinterpret_cast<std::uintptr_t>(data_.data());
    const auto misalignment = address % simd::kBytes;
    return data_.data() + (misalignment ? (simd::kBytes - misalignment) / sizeof(T) : 0);
  }

 private:
  static constexpr size_t kPad = simd::kBytes / sizeof(T);
  std::vector<T> data_;
};

// Per-worker rings of staged rows: slot sy % k of each channel holds source row sy, so the
// k-row window of neighbouring rows moves by one row (one staged row per channel) instead of
// staging k rows per row. last_row: the row whose window the ring holds (-1: none).
template <typename T>
struct RingState {
  RingState(int64_t ring_size, int64_t aux_size) : ring(ring_size), aux(aux_size) {}
  Scratch<T> ring, aux;
  int64_t last_row = -1;
};

// Calls stage(sy) for the rows of the window [iy - r, iy + r] (inside the map) that the ring
// does not hold yet (one row when the previous row was a neighbour in the same image), and
// sets slot[dy] to the ring slot of row iy + dy - r.
template <typename T, typename Stage>
void advance_window(RingState<T>& state, int64_t row, const Geometry& g, int64_t* slot,
                    const Stage& stage) {
  const int64_t iy = row % g.H, r = g.radius();
  const int64_t lo = std::max<int64_t>(0, iy - r), hi = std::min(g.H, iy + r + 1);
  const int64_t last = state.last_row;
  if (last >= 0 && row == last + 1 && iy > 0) {
    if (iy + r < g.H) stage(iy + r);
  } else if (last >= 0 && row == last - 1 && iy + 1 < g.H) {
    if (iy - r >= 0) stage(iy - r);
  } else {
    for (int64_t sy = lo; sy < hi; ++sy) stage(sy);
  }
  state.last_row = row;
  for (int64_t dy = 0; dy < g.k; ++dy) slot[dy] = ((iy + dy - r) % g.k + g.k) % g.k;
}

// Copies input row sy of every channel of image n into its ring slot:
// ring[(c*k + sy % k)*wq + r + ix]; the columns on either side stay zero (padding).
template <typename T>
void stage_input_row(const T* features, T* ring, const Geometry& g, int64_t n, int64_t sy,
                     int64_t wq) {
  const int64_t r = g.radius(), slot = sy % g.k;
  for (int64_t c = 0; c < g.C; ++c) {
    const T* src = features + ((n * g.C + c) * g.H + sy) * g.W;
    std::copy(src, src + g.W, ring + (c * g.k + slot) * wq + r);
  }
}

// Phase split of one output-sized row (s*W values, grad_output or masks) into s rows of a
// padded stage: dst[px * stride + q] = src[s*q + px] for q < W, written from dst[0] on in
// whole vectors (zeros past W).
template <typename T, int S>
void split_row(const T* src, T* dst, const Geometry& g, int64_t stride) {
  constexpr int L = simd::kLanes<T>;
  const int64_t nb = (g.W + L - 1) / L;
  for (int64_t qb = 0; qb < nb; ++qb) {
    if ((qb + 1) * L <= g.W) {
      simd::deinterleave<T, S>(src + qb * S * L, dst + qb * L, stride);
    } else {
      T tmp[S * L] = {};
      std::copy(src + qb * S * L, src + S * g.W, tmp);
      simd::deinterleave<T, S>(tmp, dst + qb * L, stride);
    }
  }
}

// Writes one output-sized row from s phase rows: out[s*q + px] = ph[px * stride + q], q < W.
template <typename T, int S>
void merge_row(const T* ph, T* out, const Geometry& g, int64_t stride) {
  using V = simd::Vec<T>;
  constexpr int L = simd::kLanes<T>;
  const int64_t nb = (g.W + L - 1) / L;
  for (int64_t qb = 0; qb < nb; ++qb) {
    V v[S];
    for (int px = 0; px < S; ++px) v[px] = simd::load(ph + px * stride + qb * L);
    if ((qb + 1) * L <= g.W) {
      simd::interleave<T, S>(v, out + qb * S * L);
    } else {
      T tmp[S * L];
      simd::interleave<T, S>(v, tmp);
      std::copy(tmp, tmp + S * (g.W - qb * L), out + qb * S * L);
    }
  }
}

}  // namespace carafe_cpu
