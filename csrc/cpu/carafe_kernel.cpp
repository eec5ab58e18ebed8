// CARAFE CPU forward kernel, and the layout the backward (carafe_backward.cpp) shares.
//
// Every output pixel (y, x) = (s*sy + py, s*sx + px) is a weighted sum of the k*k input pixels
// around source pixel (sy, sx), one weight per output pixel and tap. The kernels work per
// source row in "phase" layout: for one sub-pixel (py, px), consecutive source columns sx
// are consecutive lanes of a vector, so the s*s sub-pixels of a source pixel, which read the
// same k*k window, share every input load, and input rows are read as they are (zero-padded
// copies, no column-repeated copy). Masks and grad_output are split by phase on the fly in L1
// (`split_row`, lane shuffles of carafe_simd.h) and the output is interleaved back on store.
// - forward: per source row, registers hold 4 channels x 4 sub-pixels (s = 2) x 16 columns
//   (AVX-512, float32) for all k*k taps; the masks of the row are split once and serve every
//   channel. Each output element is written once.
// - backward (carafe_backward.cpp): grad wrt masks per source row and grad wrt features per
//   input row, in the same phase layout and with the same rings.
// Intermediates are a few rows per worker: per-worker rings hold the k-row window of staged
// input (or phase-split grad_output) rows, so a worker moving to a neighbouring row stages one
// row. s > 4 falls back to the per-element functions of carafe_index.h.
//
// Each output element is summed in a fixed order (taps, then sub-pixels or channels,
// ascending) by exactly one chunk, so results are bit-identical for any thread count.
//
// Threads: every row loop runs through parallel_chunks (carafe_parallel.h), on torch's own
// thread team: each worker walks its own contiguous share of rows, and claims single chunks
// from the others' shares when done, so a thread that loses its core to another process
// delays only its current chunk. No `#pragma omp parallel` here: it does not compile inside
// the AT_DISPATCH lambdas.
#include "carafe_cpu.h"

#include <ATen/Dispatch.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <vector>

#include "../carafe_index.h"
#include "carafe_parallel.h"
#include "carafe_rows.h"
#include "carafe_simd.h"

namespace carafe_cpu {
namespace {

using carafe_index::Geometry;

// Forward register tile: CB channels x NS sub-pixels (PY output rows x all S phases) of one
// run of L source columns, all taps summed in registers.
template <typename T, int S>
struct ForwardTile {
  static constexpr int L = simd::kLanes<T>;
  static constexpr int PY = S == 2 ? 2 : 1;
  static constexpr int NS = PY * S;
  static constexpr int CB = std::max(1, std::min(8, simd::kRegisters / 2 / NS));
};

// Phase split of the masks of one source row: for the s output rows y = s*sy + py and every
// tap t of one group, mbuf[((qb*taps + t)*s + py)*s + px][l] = masks[t, y, s*(qb*L + l) + px],
// zero past the row's end. Read once per source row, shared by all channels of the group.
template <typename T, int S>
void split_mask_rows(const T* masks, T* mbuf, const Geometry& g, int64_t n, int64_t grp,
                     int64_t sy) {
  constexpr int L = simd::kLanes<T>;
  const int64_t taps = g.taps(), oh = g.out_h(), ow = g.out_w(), nb = (g.W + L - 1) / L;
  for (int64_t t = 0; t < taps; ++t) {
    for (int64_t py = 0; py < S; ++py) {
      const T* src = masks + ((n * g.mask_channels() + grp * taps + t) * oh + S * sy + py) * ow;
      for (int64_t qb = 0; qb < nb; ++qb) {
        T* dst = mbuf + ((qb * taps + t) * S + py) * S * L;
        if ((qb + 1) * L <= g.W) {
          simd::deinterleave<T, S>(src + qb * S * L, dst, L);
        } else {
          T tmp[S * L] = {};
          std::copy(src + qb * S * L, src + ow, tmp);
          simd::deinterleave<T, S>(tmp, dst, L);
        }
      }
    }
  }
}

// Output rows s*sy + py (all py) of channels c0..c0+CB-1 from staged rows and split masks.
template <typename T, int S, int CB>
void forward_channels(const T* stage, const int64_t* slot, const T* mbuf, T* out,
                      const Geometry& g, int64_t sy, TapRange ty, int64_t wq) {
  using V = simd::Vec<T>;
  using Tile = ForwardTile<T, S>;
  constexpr int L = Tile::L, PY = Tile::PY, NS = Tile::NS;
  const int64_t k = g.k, taps = g.taps(), ow = g.out_w(), plane = g.out_h() * ow;
  const int64_t nb = (g.W + L - 1) / L;
  for (int64_t qb = 0; qb < nb; ++qb) {
    for (int py0 = 0; py0 < S; py0 += PY) {
      V acc[CB][NS] = {};
      for (int64_t dy = ty.lo; dy < ty.hi; ++dy) {
        const T* xr = stage + slot[dy] * wq + qb * L;
        const T* mr = mbuf + ((qb * taps + dy * k) * S + py0) * S * L;
        for (int64_t dx = 0; dx < k; ++dx) {
          V m[NS];
          for (int i = 0; i < NS; ++i) m[i] = simd::load(mr + (dx * S * S + i) * L);
          for (int j = 0; j < CB; ++j) {
            const V x = simd::load(xr + j * k * wq + dx);
            for (int i = 0; i < NS; ++i) acc[j][i] += m[i] * x;
          }
        }
      }
      const int64_t n_out = std::min<int64_t>(L, g.W - qb * L) * S;
      for (int j = 0; j < CB; ++j) {
        for (int pyl = 0; pyl < PY; ++pyl) {
          T* o = out + j * plane + (S * sy + py0 + pyl) * ow + qb * S * L;
          if (n_out == S * L) {
            simd::interleave<T, S>(&acc[j][pyl * S], o);
          } else {
            T tmp[S * L];
            simd::interleave<T, S>(&acc[j][pyl * S], tmp);
            std::copy(tmp, tmp + n_out, o);
          }
        }
      }
    }
  }
}

// Forward for source rows [begin, end) of the N * H rows: writes output rows s*sy .. s*sy+s-1.
// Each output element is sum over valid dy (ascending) and dx (ascending) of mask * input, in
// one register, so its value does not depend on how rows are split between threads.
template <typename T, int S>
void forward_rows(const T* features, const T* masks, T* out, const Geometry& g, int64_t begin,
                  int64_t end, RingState<T>& state) {
  using Tile = ForwardTile<T, S>;
  constexpr int L = Tile::L, CB = Tile::CB;
  const int64_t k = g.k, r = g.radius(), cpg = g.channels_per_group();
  const int64_t nb = (g.W + L - 1) / L, wq = nb * L + k - 1;
  T* ring = state.ring.get();
  T* mbuf = state.aux.get();
  std::vector<int64_t> slot(k);
  for (int64_t row = begin; row < end; ++row) {
    const int64_t n = row / g.H, sy = row % g.H;
    const TapRange ty = valid_taps(sy, r, k, g.H);
    advance_window(state, row, g, slot.data(),
                   [&](int64_t line) { stage_input_row(features, ring, g, n, line, wq); });
    for (int64_t grp = 0; grp < g.G; ++grp) {
      split_mask_rows<T, S>(masks, mbuf, g, n, grp, sy);
      for (int64_t c = grp * cpg; c < (grp + 1) * cpg;) {
        const T* stage = ring + c * k * wq;
        T* out0 = out + (n * g.C + c) * g.out_h() * g.out_w();
        if (c + CB <= (grp + 1) * cpg) {
          forward_channels<T, S, CB>(stage, slot.data(), mbuf, out0, g, sy, ty, wq);
          c += CB;
        } else {
          forward_channels<T, S, 1>(stage, slot.data(), mbuf, out0, g, sy, ty, wq);
          c += 1;
        }
      }
    }
  }
}

// Any other scale factor: one output element at a time (carafe_index.h), same sum order.
template <typename T>
void forward_rows_generic(const T* features, const T* masks, T* out, const Geometry& g,
                          int64_t begin, int64_t end) {
  const int64_t ow = g.out_w();
  for (int64_t row = begin; row < end; ++row)
    for (int64_t x = 0; x < ow; ++x)
      out[row * ow + x] = carafe_index::forward_element<T, T>(features, masks, g, row * ow + x);
}

}  // namespace

at::Tensor forward(const at::Tensor& features, const at::Tensor& masks, const Geometry& g) {
  if (needs_upcast(features))
    return forward(features.to(at::kFloat), masks.to(at::kFloat), g).to(features.scalar_type());
  auto out = at::empty({g.N, g.C, g.out_h(), g.out_w()}, features.options());
  if (out.numel() == 0) return out;
  const auto f = features.contiguous();
  const auto m = masks.contiguous();
  AT_DISPATCH_FLOATING_TYPES(features.scalar_type(), "carafe_forward_cpu", [&] {
    const scalar_t* f_data = f.const_data_ptr<scalar_t>();
    const scalar_t* m_data = m.const_data_ptr<scalar_t>();
    scalar_t* out_data = out.mutable_data_ptr<scalar_t>();
    auto rows = [&](auto scale) {
      constexpr int S = decltype(scale)::value, L = simd::kLanes<scalar_t>;
      const int64_t nb = (g.W + L - 1) / L, wq = nb * L + g.k - 1;
      std::vector<std::unique_ptr<RingState<scalar_t>>> states(max_workers());
      parallel_chunks(g.N * g.H, grain_for(g.C * g.out_w() * g.s * g.taps()),
                      [&](int64_t begin, int64_t end, int worker) {
                        auto& state = states[worker];
                        if (!state)
                          state = std::make_unique<RingState<scalar_t>>(
                              g.C * g.k * wq, nb * g.taps() * S * S * L);
                        forward_rows<scalar_t, S>(f_data, m_data, out_data, g, begin, end,
                                                  *state);
                      });
    };
    switch (g.s) {
      case 1: rows(std::integral_constant<int, 1>{}); break;
      case 2: rows(std::integral_constant<int, 2>{}); break;
      case 3: rows(std::integral_constant<int, 3>{}); break;
      case 4: rows(std::integral_constant<int, 4>{}); break;
      default:
        parallel_chunks(g.N * g.C * g.out_h(), grain_for(g.out_w() * g.taps()),
                        [&](int64_t begin, int64_t end, int) {
                          forward_rows_generic(f_data, m_data, out_data, g, begin, end);
                        });
    }
  });
  return out;
}

}  // namespace carafe_cpu
