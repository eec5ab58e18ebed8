// CARAFE CPU backward kernels: grad wrt masks per source row, grad wrt features per input row
// (the layout they share with the forward is described in carafe_kernel.cpp).
// - grad wrt masks: per source row, the sums over channels for every tap and sub-pixel live in
//   an L1 buffer; channels are added eight at a time, up to 5 taps x 4 sub-pixels in registers.
// - grad wrt features: per input row, a gather (no atomics, no races): for each tap column dx
//   the sum over dy and sub-pixels of mask x grad_output (aligned loads; a grad_output vector
//   serves 5 taps and a mask vector 4 channels), then one shifted sum over dx.
// As in the forward, each element is summed in a fixed order by exactly one chunk, so results
// are bit-identical for any thread count.
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

// Register tile of the grad-wrt-masks kernel: KX taps along x times NS sub-pixels.
template <typename T, int S>
struct MaskGradTile {
  static constexpr int PY = S == 2 ? 2 : 1;
  static constexpr int NS = PY * S;
  static constexpr int KX = std::max(1, std::min(5, (simd::kRegisters - 8) / NS));
  static constexpr int kStageChannels = 8;
};

// psum[t = dy*k + dx0 + d][sub = py0*S + i][qb*L + l] += sum over the cb staged channels
// (ascending) of gO phase rows times the tap's input row (rows of nb*L values).
template <typename T, int S, int KX>
void mask_grad_taps(const T* xst, const T* gst, T* psum, const Geometry& g, int cb, int64_t qb,
                    int64_t dy, int64_t slot, int64_t dx0, int py0, int64_t wq, int64_t nb) {
  using V = simd::Vec<T>;
  using Tile = MaskGradTile<T, S>;
  constexpr int L = simd::kLanes<T>, NS = Tile::NS, SS = S * S;
  const int64_t k = g.k;
  const int64_t wr = nb * L;
  T* ps = psum + ((dy * k + dx0) * SS + py0 * S) * wr + qb * L;
  V acc[KX][NS];
  for (int d = 0; d < KX; ++d)
    for (int i = 0; i < NS; ++i) acc[d][i] = simd::load(ps + (d * SS + i) * wr);
  for (int j = 0; j < cb; ++j) {
    const T* gr = gst + (j * SS + py0 * S) * wr + qb * L;
    V gv[NS];
    for (int i = 0; i < NS; ++i) gv[i] = simd::load(gr + i * wr);
    const T* xr = xst + (j * k + slot) * wq + qb * L + dx0;
    for (int d = 0; d < KX; ++d) {
      const V x = simd::load(xr + d);
      for (int i = 0; i < NS; ++i) acc[d][i] += gv[i] * x;
    }
  }
  for (int d = 0; d < KX; ++d)
    for (int i = 0; i < NS; ++i) simd::store(ps + (d * SS + i) * wr, acc[d][i]);
}

// grad wrt masks for source rows [begin, end) of the N * H rows (mask rows s*sy .. s*sy+s-1):
// gM[t, s*sy + py, s*sx + px] = sum over the group's channels c (ascending) of
// gO[c, s*sy + py, s*sx + px] * X[c, sy + dy - r, sx + dx - r]. Channels are staged eight at a
// time (input rows padded, grad_output rows split by phase); the per-tap sums of a row live in
// `psum` (about the size of the forward's split masks) until every channel is added.
template <typename T, int S>
void grad_masks_rows(const T* go, const T* features, T* grad_masks, const Geometry& g,
                     int64_t begin, int64_t end, RingState<T>& state) {
  using Tile = MaskGradTile<T, S>;
  constexpr int L = simd::kLanes<T>, PY = Tile::PY, KX = Tile::KX, SS = S * S;
  constexpr int CBS = Tile::kStageChannels;
  const int64_t k = g.k, r = g.radius(), taps = g.taps(), cpg = g.channels_per_group();
  const int64_t oh = g.out_h(), ow = g.out_w(), out_plane = oh * ow;
  const int64_t nb = (g.W + L - 1) / L, wq = nb * L + k - 1, wr = nb * L;
  T* ring = state.ring.get();
  T* gst = state.aux.get();
  T* psum = gst + CBS * SS * wr;
  std::vector<int64_t> slot(k);
  for (int64_t row = begin; row < end; ++row) {
    const int64_t n = row / g.H, sy = row % g.H;
    const TapRange ty = valid_taps(sy, r, k, g.H);
    advance_window(state, row, g, slot.data(),
                   [&](int64_t line) { stage_input_row(features, ring, g, n, line, wq); });
    for (int64_t grp = 0; grp < g.G; ++grp) {
      std::fill(psum, psum + taps * SS * wr, T(0));
      for (int64_t c0 = grp * cpg; c0 < (grp + 1) * cpg; c0 += CBS) {
        const int cb = static_cast<int>(std::min<int64_t>(CBS, (grp + 1) * cpg - c0));
        for (int j = 0; j < cb; ++j)
          for (int py = 0; py < S; ++py)
            split_row<T, S>(go + (n * g.C + c0 + j) * out_plane + (S * sy + py) * ow,
                            gst + (j * SS + py * S) * wr, g, wr);
        for (int64_t qb = 0; qb < nb; ++qb)
          for (int64_t dy = ty.lo; dy < ty.hi; ++dy)
            for (int py0 = 0; py0 < S; py0 += PY)
              for (int64_t dx0 = 0; dx0 < k; dx0 += KX) {
                switch (std::min<int64_t>(KX, k - dx0)) {
#define CARAFE_MASK_TAPS(n)                                                                   \
  case n:                                                                                     \
    if constexpr (n <= KX)                                                                    \
      mask_grad_taps<T, S, n>(ring + c0 * k * wq, gst, psum, g, cb, qb, dy, slot[dy], dx0,    \
                              py0, wq, nb);                                                   \
    break;
                  CARAFE_MASK_TAPS(1)
                  CARAFE_MASK_TAPS(2)
                  CARAFE_MASK_TAPS(3)
                  CARAFE_MASK_TAPS(4)
                  CARAFE_MASK_TAPS(5)
#undef CARAFE_MASK_TAPS
                }
              }
      }
      T* gm = grad_masks + (n * g.mask_channels() + grp * taps) * out_plane + S * sy * ow;
      for (int64_t t = 0; t < taps; ++t) {
        const int64_t dy = t / k;
        for (int64_t py = 0; py < S; ++py) {
          T* dst = gm + t * out_plane + py * ow;
          if (dy < ty.lo || dy >= ty.hi) {  // the tap's input row is padding: no gradient
            std::fill(dst, dst + ow, T(0));
          } else {
            merge_row<T, S>(psum + (t * SS + py * S) * wr, dst, g, wr);
          }
        }
      }
    }
  }
}

// Register tile of the grad-wrt-features kernel: CB channels x KX taps along x.
template <typename T>
struct FeatureGradTile {
  static constexpr int CB = simd::kRegisters == 32 ? 4 : 2;
  static constexpr int KX = simd::kRegisters == 32 ? 5 : 4;
};

// Per-tap-column partial sums of grad wrt features for input row iy, CB channels and one run
// of L source columns sx = qb*L + l: pbuf[(j*k + dx)*wp + pl + sx] = sum over dy (ascending)
// and sub-pixels of M[(dy, dx), s*sy + py, s*sx + px] * gO_j[s*sy + py, s*sx + px], sy =
// iy - dy + r, for dx0 <= dx < dx0 + KX. Each grad_output vector serves KX taps and each mask
// vector CB channels, all loads aligned.
template <typename T, int S, int CB, int KX>
void feature_grad_partials(const T* mst, const T* gst, const int64_t* slot, T* pbuf,
                           const Geometry& g, int64_t iy, int64_t qb, int64_t dx0, int64_t wr,
                           int64_t wp, int64_t pl) {
  using V = simd::Vec<T>;
  constexpr int L = simd::kLanes<T>, SS = S * S;
  const int64_t k = g.k, r = g.radius();
  const int64_t dy_lo = std::max<int64_t>(0, iy + r - g.H + 1), dy_hi = std::min(k, iy + r + 1);
  V acc[CB][KX] = {};
  for (int64_t dy = dy_lo; dy < dy_hi; ++dy) {
    for (int sub = 0; sub < SS; ++sub) {
      V gv[CB];
      for (int j = 0; j < CB; ++j)
        gv[j] = simd::load(gst + ((j * k + slot[dy]) * SS + sub) * wr + qb * L);
      const T* mr = mst + ((dy * k + dx0) * SS + sub) * wr + qb * L;
      for (int d = 0; d < KX; ++d) {
        const V m = simd::load(mr + d * SS * wr);
        for (int j = 0; j < CB; ++j) acc[j][d] += m * gv[j];
      }
    }
  }
  for (int j = 0; j < CB; ++j)
    for (int d = 0; d < KX; ++d) simd::store(pbuf + (j * k + dx0 + d) * wp + pl + qb * L, acc[j][d]);
}

// gF for input row iy of CB channels: partial sums per tap column, then
// gF[ix] = sum over dx (ascending) of partial_dx[ix - dx + r] (zero outside the row).
template <typename T, int S, int CB>
void feature_grad_channels(const T* mst, const T* gst, const int64_t* slot, T* pbuf, T* gf,
                           int64_t plane, const Geometry& g, int64_t iy, int64_t wr, int64_t wp,
                           int64_t pl) {
  using V = simd::Vec<T>;
  using Tile = FeatureGradTile<T>;
  constexpr int L = simd::kLanes<T>, KX = Tile::KX;
  const int64_t k = g.k, r = g.radius(), nb = (g.W + L - 1) / L;
  for (int64_t qb = 0; qb < nb; ++qb)
    for (int64_t dx0 = 0; dx0 < k; dx0 += KX) {
      switch (std::min<int64_t>(KX, k - dx0)) {
#define CARAFE_FEATURE_TAPS(n)                                                                 \
  case n:                                                                                      \
    if constexpr (n <= KX)                                                                     \
      feature_grad_partials<T, S, CB, n>(mst, gst, slot, pbuf, g, iy, qb, dx0, wr, wp, pl);    \
    break;
        CARAFE_FEATURE_TAPS(1)
        CARAFE_FEATURE_TAPS(2)
        CARAFE_FEATURE_TAPS(3)
        CARAFE_FEATURE_TAPS(4)
        CARAFE_FEATURE_TAPS(5)
#undef CARAFE_FEATURE_TAPS
      }
    }
  for (int j = 0; j < CB; ++j) {
    for (int64_t ib = 0; ib < nb; ++ib) {
      const T* p = pbuf + j * k * wp + pl + ib * L + r;
      V acc = simd::load(p);
      for (int64_t dx = 1; dx < k; ++dx) acc += simd::load(p + dx * wp - dx);
      T* dst = gf + j * plane + iy * g.W + ib * L;
      const int64_t n_out = std::min<int64_t>(L, g.W - ib * L);
      if (n_out == L) {
        simd::store(dst, acc);
      } else {
        T tmp[L];
        simd::store(tmp, acc);
        std::copy(tmp, tmp + n_out, dst);
      }
    }
  }
}

// Splits grad_output rows s*sy + py of every channel of image n by phase into the ring:
// ring[((c*k + sy % k)*s*s + py*s + px)*wr + sx] (zeros past W).
template <typename T, int S>
void stage_grad_output_row(const T* go, T* ring, const Geometry& g, int64_t n, int64_t sy,
                           int64_t wr) {
  const int64_t k = g.k, ow = g.out_w(), out_plane = g.out_h() * ow;
  for (int64_t c = 0; c < g.C; ++c)
    for (int64_t py = 0; py < S; ++py)
      split_row<T, S>(go + (n * g.C + c) * out_plane + (S * sy + py) * ow,
                      ring + ((c * k + sy % k) * S + py) * S * wr, g, wr);
}

// Scratch sizes of grad_features_rows: the ring, then split masks and per-tap partial sums.
template <typename T, int S>
struct FeatureGradSizes {
  explicit FeatureGradSizes(const Geometry& g)
      : wr((g.W + L - 1) / L * L),
        pl((g.radius() + L - 1) / L * L),
        wp(wr + 2 * pl),
        ring(g.C * g.k * S * S * wr),
        aux(g.taps() * S * S * wr + FeatureGradTile<T>::CB * g.k * wp) {}
  static constexpr int L = simd::kLanes<T>;
  int64_t wr, pl, wp, ring, aux;
};

// grad wrt features for input rows [begin, end) of the N * H rows (no atomics, no races):
// gF[c, iy, ix] = sum over dx of (sum over dy, sub-pixel (py, px) of M[t, s*sy + py, s*sx + px]
// * gO[c, s*sy + py, s*sx + px]) with sy = iy - dy + r, sx = ix - dx + r.
template <typename T, int S>
void grad_features_rows(const T* go, const T* masks, T* grad_features, const Geometry& g,
                        int64_t begin, int64_t end, RingState<T>& state) {
  using Tile = FeatureGradTile<T>;
  constexpr int CB = Tile::CB, SS = S * S;
  const FeatureGradSizes<T, S> size(g);
  const int64_t k = g.k, r = g.radius(), taps = g.taps(), cpg = g.channels_per_group();
  const int64_t out_plane = g.out_h() * g.out_w(), plane = g.H * g.W, wr = size.wr;
  T* ring = state.ring.get();
  T* mst = state.aux.get();
  T* pbuf = mst + taps * SS * wr;
  std::vector<int64_t> window(k), slot(k);
  for (int64_t row = begin; row < end; ++row) {
    const int64_t n = row / g.H, iy = row % g.H;
    advance_window(state, row, g, window.data(),
                   [&](int64_t line) { stage_grad_output_row<T, S>(go, ring, g, n, line, wr); });
    // Tap dy reads source row iy - dy + r: the window's row for dy' = k - 1 - dy.
    for (int64_t dy = 0; dy < k; ++dy) slot[dy] = window[k - 1 - dy];
    for (int64_t grp = 0; grp < g.G; ++grp) {
      // Masks of tap t = (dy, dx), sub-pixel (py, px) at mst[(t*S*S + py*S + px)*wr + sx].
      for (int64_t dy = std::max<int64_t>(0, iy + r - g.H + 1); dy < std::min(k, iy + r + 1);
           ++dy)
        for (int64_t dx = 0; dx < k; ++dx)
          for (int64_t py = 0; py < S; ++py)
            split_row<T, S>(masks + (n * g.mask_channels() + grp * taps + dy * k + dx) * out_plane +
                                (S * (iy - dy + r) + py) * g.out_w(),
                            mst + ((dy * k + dx) * SS + py * S) * wr, g, wr);
      for (int64_t c = grp * cpg; c < (grp + 1) * cpg;) {
        const T* gst = ring + c * k * SS * wr;
        T* gf = grad_features + (n * g.C + c) * plane;
        if (c + CB <= (grp + 1) * cpg) {
          feature_grad_channels<T, S, CB>(mst, gst, slot.data(), pbuf, gf, plane, g, iy, wr,
                                          size.wp, size.pl);
          c += CB;
        } else {
          feature_grad_channels<T, S, 1>(mst, gst, slot.data(), pbuf, gf, plane, g, iy, wr,
                                         size.wp, size.pl);
          c += 1;
        }
      }
    }
  }
}

// Any other scale factor: one element at a time (carafe_index.h).
template <typename T>
void grad_features_rows_generic(const T* go, const T* masks, T* gf, const Geometry& g,
                                int64_t begin, int64_t end) {
  for (int64_t row = begin; row < end; ++row)
    for (int64_t x = 0; x < g.W; ++x)
      gf[row * g.W + x] =
          carafe_index::grad_features_element<T, T>(go, masks, g, row * g.W + x);
}
template <typename T>
void grad_masks_rows_generic(const T* go, const T* features, T* gm, const Geometry& g,
                             int64_t begin, int64_t end) {
  const int64_t ow = g.out_w();
  for (int64_t row = begin; row < end; ++row)
    for (int64_t x = 0; x < ow; ++x)
      gm[row * ow + x] = carafe_index::grad_masks_element<T, T>(go, features, g, row * ow + x);
}

}  // namespace

std::tuple<at::Tensor, at::Tensor> backward(const at::Tensor& grad_output,
                                            const at::Tensor& features, const at::Tensor& masks,
                                            const Geometry& g) {
  if (needs_upcast(features)) {
    auto [gf, gm] = backward(grad_output.to(at::kFloat), features.to(at::kFloat),
                             masks.to(at::kFloat), g);
    return {gf.to(features.scalar_type()), gm.to(masks.scalar_type())};
  }
  auto grad_features = at::empty({g.N, g.C, g.H, g.W}, features.options());
  auto grad_masks = at::empty({g.N, g.mask_channels(), g.out_h(), g.out_w()}, masks.options());
  if (grad_output.numel() == 0 || masks.numel() == 0)
    return {grad_features.zero_(), grad_masks.zero_()};
  const auto go = grad_output.contiguous();
  const auto f = features.contiguous();
  const auto m = masks.contiguous();
  AT_DISPATCH_FLOATING_TYPES(features.scalar_type(), "carafe_backward_cpu", [&] {
    const scalar_t* go_data = go.const_data_ptr<scalar_t>();
    const scalar_t* m_data = m.const_data_ptr<scalar_t>();
    const scalar_t* f_data = f.const_data_ptr<scalar_t>();
    scalar_t* gf_data = grad_features.mutable_data_ptr<scalar_t>();
    scalar_t* gm_data = grad_masks.mutable_data_ptr<scalar_t>();
    // One loop over N * H rows of grad wrt features (input rows), then N * H source rows of
    // grad wrt masks (s mask rows each): one fork and join.
    const int64_t rows = g.N * g.H;
    const int64_t grain = grain_for(g.C * g.W * g.s * g.s * g.taps());
    auto run = [&](auto scale) {
      constexpr int S = decltype(scale)::value, L = simd::kLanes<scalar_t>;
      using State = RingState<scalar_t>;
      const int64_t nb = (g.W + L - 1) / L, wq = nb * L + g.k - 1, ss = S * S;
      std::vector<std::unique_ptr<State>> gf_states(max_workers()), gm_states(max_workers());
      parallel_chunks(2 * rows, grain, [&](int64_t begin, int64_t end, int worker) {
        split_rows(
            begin, end, rows,
            [&](int64_t b, int64_t e) {
              auto& state = gf_states[worker];
              if (!state) {
                const FeatureGradSizes<scalar_t, S> size(g);
                state = std::make_unique<State>(size.ring, size.aux);
              }
              grad_features_rows<scalar_t, S>(go_data, m_data, gf_data, g, b, e, *state);
            },
            [&](int64_t b, int64_t e) {
              auto& state = gm_states[worker];
              if (!state)
                state = std::make_unique<State>(
                    g.C * g.k * wq,
                    (MaskGradTile<scalar_t, S>::kStageChannels + g.taps()) * ss * nb * L);
              grad_masks_rows<scalar_t, S>(go_data, f_data, gm_data, g, b, e, *state);
            });
      });
    };
    switch (g.s) {
      case 1: run(std::integral_constant<int, 1>{}); break;
      case 2: run(std::integral_constant<int, 2>{}); break;
      case 3: run(std::integral_constant<int, 3>{}); break;
      case 4: run(std::integral_constant<int, 4>{}); break;
      default: {
        const int64_t gf_rows = g.N * g.C * g.H, gm_rows = g.N * g.mask_channels() * g.out_h();
        parallel_chunks(gf_rows + gm_rows, grain_for(g.W * g.taps() * g.s * g.s),
                        [&](int64_t begin, int64_t end, int) {
                          split_rows(
                              begin, end, gf_rows,
                              [&](int64_t b, int64_t e) {
                                grad_features_rows_generic(go_data, m_data, gf_data, g, b, e);
                              },
                              [&](int64_t b, int64_t e) {
                                grad_masks_rows_generic(go_data, f_data, gm_data, g, b, e);
                              });
                        });
      }
    }
  });
  return {grad_features, grad_masks};
}

}  // namespace carafe_cpu
