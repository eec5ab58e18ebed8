// CPU backward row kernels (see carafe_kernel.cpp for the layout they share with the forward):
// grad wrt masks per source row, grad wrt features per input row.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "../carafe_index.h"
#include "carafe_rows.h"
#include "carafe_simd.h"

namespace carafe_cpu {

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

}  // namespace carafe_cpu
