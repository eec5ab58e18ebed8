// CARAFE CPU kernels: forward, grad wrt features and grad wrt masks.
//
// Every output pixel is a weighted sum of k*k input pixels, with one weight per output pixel
// and tap. All three kernels work on NCHW rows and vectorise along x: for a run of output
// pixels the weights of one tap are a contiguous vector of the masks, and zero-padded copies
// of the inputs make the matching input values contiguous too, so the inner loops are plain
// vector multiply-adds with no bounds checks along x:
// - forward: features copied with each column repeated s times (`upsample_columns`, about
//   output / s in size); tap (dx) of output pixels x..x+L reads columns x+s*dx..x+s*dx+L.
//   Each weight vector serves four channels; the output is written in place.
// - grad wrt features: grad_output and masks split by output phase px = x mod s
//   (`phase_split`), so the output pixels that read input column ix through tap dx sit at
//   consecutive positions; a gather per input row (no atomics, no races).
// - grad wrt masks: per output row and phase, channel by channel (streaming), with the per-tap
//   sums in a small L1 buffer.
// No intermediate of size k*k*output exists.
//
// Threads: every row loop runs through parallel_chunks (carafe_parallel.h), on torch's own
// thread team, in chunks claimed dynamically so a thread that loses its core to another process
// delays only its current chunk. No `#pragma omp parallel` here: it does not compile inside the
// AT_DISPATCH lambdas.
#include "carafe_cpu.h"

#include <ATen/Dispatch.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "../carafe_index.h"
#include "carafe_parallel.h"
#include "carafe_simd.h"

namespace carafe_cpu {
namespace {

using carafe_index::Geometry;

// Vector width of the build machine (the library is compiled with -march=native).
#if defined(__AVX512F__)
constexpr int64_t kVectorBytes = 64;
#elif defined(__AVX__)
constexpr int64_t kVectorBytes = 32;
#else
constexpr int64_t kVectorBytes = 16;
#endif

// x positions handled per pass by the row kernels: two vector registers.
template <typename T>
constexpr int64_t kXBlock = 2 * kVectorBytes / static_cast<int64_t>(sizeof(T));

// Valid tap range [lo, hi) along one axis so that the tap's input coordinate is inside.
struct TapRange {
  int64_t lo, hi;
};
inline TapRange valid_taps(int64_t source, int64_t radius, int64_t k, int64_t size) {
  return {std::max<int64_t>(0, radius - source), std::min<int64_t>(k, size + radius - source)};
}

// Calls run(c, x0, len, channels, tail) over channels [c_begin, c_end) in fours (then ones) and
// over x in runs of kXBlock (then a shorter tail); `channels` (std::integral_constant) and
// `tail` (std::bool_constant) are compile-time so each combination gets its own loop.
template <typename T, typename Run>
inline void for_channel_and_x_runs(int64_t c_begin, int64_t c_end, int64_t width, const Run& run) {
  constexpr int64_t XB = kXBlock<T>;
  for (int64_t c = c_begin; c < c_end;) {
    const bool four = c + 4 <= c_end;
    for (int64_t x0 = 0; x0 < width; x0 += XB) {
      const int64_t len = std::min(XB, width - x0);
      const bool tail = len < XB;
      if (four && !tail) run(c, x0, len, std::integral_constant<int, 4>{}, std::false_type{});
      else if (four) run(c, x0, len, std::integral_constant<int, 4>{}, std::true_type{});
      else if (!tail) run(c, x0, len, std::integral_constant<int, 1>{}, std::false_type{});
      else run(c, x0, len, std::integral_constant<int, 1>{}, std::true_type{});
    }
    c += four ? 4 : 1;
  }
}

// acc[j][0:n] += w[0:n] * u[j * plane + 0:n] for the CB channels j of one tap: one weight
// vector serves all CB channels. The inner loop of both row kernels.
template <typename T, int CB, int64_t XB>
inline void add_weighted(T (&acc)[CB][XB], const T* w, const T* u, int64_t plane, int64_t n) {
  for (int j = 0; j < CB; ++j) {
    const T* uj = u + j * plane;
#pragma omp simd
    for (int64_t l = 0; l < n; ++l) acc[j][l] += w[l] * uj[l];
  }
}

// out[j * plane + 0:n] = acc[j][0:n] for the CB channels j.
template <typename T, int CB, int64_t XB>
inline void store_channels(const T (&acc)[CB][XB], T* out, int64_t plane, int64_t n) {
  for (int j = 0; j < CB; ++j)
    for (int64_t l = 0; l < n; ++l) out[j * plane + l] = acc[j][l];
}

// A zeroed scratch buffer of n elements, aligned to a vector register (one per chunk).
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

// Copies rows sy + dy - r (valid dy) of CB channels into stage[(j*k + dy)*wq + r + ix]; the
// columns on either side stay zero (padding).
template <typename T>
void stage_rows(const T* channel0, T* stage, const Geometry& g, int cb, int64_t sy, TapRange ty,
                int64_t wq) {
  const int64_t plane = g.H * g.W, r = g.radius();
  for (int j = 0; j < cb; ++j)
    for (int64_t dy = ty.lo; dy < ty.hi; ++dy) {
      const T* src = channel0 + j * plane + (sy + dy - r) * g.W;
      std::copy(src, src + g.W, stage + (j * g.k + dy) * wq + r);
    }
}

// Output rows s*sy + py (all py) of channels c0..c0+CB-1 from staged rows and split masks.
template <typename T, int S, int CB>
void forward_channels(const T* stage, const T* mbuf, T* out, const Geometry& g, int64_t sy,
                      TapRange ty, int64_t wq) {
  using V = simd::Vec<T>;
  using Tile = ForwardTile<T, S>;
  constexpr int L = Tile::L, PY = Tile::PY, NS = Tile::NS;
  const int64_t k = g.k, taps = g.taps(), ow = g.out_w(), plane = g.out_h() * ow;
  const int64_t nb = (g.W + L - 1) / L;
  for (int64_t qb = 0; qb < nb; ++qb) {
    for (int py0 = 0; py0 < S; py0 += PY) {
      V acc[CB][NS] = {};
      for (int64_t dy = ty.lo; dy < ty.hi; ++dy) {
        const T* xr = stage + dy * wq + qb * L;
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
                  int64_t end) {
  using Tile = ForwardTile<T, S>;
  constexpr int L = Tile::L, CB = Tile::CB;
  const int64_t k = g.k, r = g.radius(), cpg = g.channels_per_group();
  const int64_t nb = (g.W + L - 1) / L, wq = nb * L + k - 1;
  Scratch<T> stage(CB * k * wq), mbuf(nb * g.taps() * S * S * L);
  for (int64_t row = begin; row < end; ++row) {
    const int64_t n = row / g.H, sy = row % g.H;
    const TapRange ty = valid_taps(sy, r, k, g.H);
    for (int64_t grp = 0; grp < g.G; ++grp) {
      split_mask_rows<T, S>(masks, mbuf.get(), g, n, grp, sy);
      for (int64_t c = grp * cpg; c < (grp + 1) * cpg;) {
        const T* channel0 = features + (n * g.C + c) * g.H * g.W;
        T* out0 = out + (n * g.C + c) * g.out_h() * g.out_w();
        if (c + CB <= (grp + 1) * cpg) {
          stage_rows(channel0, stage.get(), g, CB, sy, ty, wq);
          forward_channels<T, S, CB>(stage.get(), mbuf.get(), out0, g, sy, ty, wq);
          c += CB;
        } else {
          stage_rows(channel0, stage.get(), g, 1, sy, ty, wq);
          forward_channels<T, S, 1>(stage.get(), mbuf.get(), out0, g, sy, ty, wq);
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

// Phase-split, column-padded copy of an output-sized NCHW tensor t (grad_output or masks):
// ph[n, c, y, p, q] = t[n, c, y, s*(q - r) + p] for r <= q < W + r, zero elsewhere; rows of
// width Wq = W + 2r. Output pixels of phase p along a row then sit at consecutive q, so the
// backward row kernels read contiguous runs for every tap without bounds checks.
template <typename T>
void phase_split(const T* t, T* ph, const Geometry& g, int64_t begin, int64_t end) {
  const int64_t s = g.s, r = g.radius(), wq = g.W + 2 * r, ow = g.out_w();
  for (int64_t row = begin; row < end; ++row) {
    const T* src = t + row * ow;
    for (int64_t p = 0; p < s; ++p) {
      T* dst = ph + (row * s + p) * wq;
      std::fill(dst, dst + r, T(0));
      std::fill(dst + g.W + r, dst + wq, T(0));
      for (int64_t q = 0; q < g.W; ++q) dst[r + q] = src[s * q + p];
    }
  }
}

// Column-padded copy of the features: xp[n, c, iy, q] = X[n, c, iy, q - r], zero in the r
// columns on either side (rows of width Wq = W + 2r).
template <typename T>
void pad_columns(const T* features, T* xp, const Geometry& g, int64_t begin, int64_t end) {
  const int64_t r = g.radius(), wq = g.W + 2 * r;
  for (int64_t row = begin; row < end; ++row) {
    T* dst = xp + row * wq;
    std::fill(dst, dst + r, T(0));
    std::copy(features + row * g.W, features + (row + 1) * g.W, dst + r);
    std::fill(dst + g.W + r, dst + wq, T(0));
  }
}

// grad wrt features on phase-split tensors, a gather per input row (no races):
// gX[c, iy, ix] = sum over dy, dx, py, px of m_ph[t, s*sy + py, px, q] * go_ph[c, ..., q] with
// sy = iy - dy + r and q = ix - dx + 2r, vectorised over ix; each mask vector serves 4 channels.
template <typename T, int CB, bool Tail>
inline void gather_run(T* out, int64_t out_plane, const T* go, int64_t ph_plane, const T* m,
                       const Geometry& g, int64_t iy, int64_t ix0, int64_t len) {
  constexpr int64_t XB = kXBlock<T>;
  const int64_t n_l = Tail ? len : XB;
  const int64_t k = g.k, r = g.radius(), s = g.s, wq = g.W + 2 * r;
  const int64_t dy_lo = std::max<int64_t>(0, iy + r - g.H + 1), dy_hi = std::min(k, iy + r + 1);
  T acc[CB][XB] = {};
  for (int64_t dy = dy_lo; dy < dy_hi; ++dy) {
    const int64_t sy = iy - dy + r;
    for (int64_t py = 0; py < s; ++py) {
      for (int64_t px = 0; px < s; ++px) {
        const int64_t row_off = ((sy * s + py) * s + px) * wq + ix0 + 2 * r;
        for (int64_t dx = 0; dx < k; ++dx) {
          add_weighted(acc, m + (dy * k + dx) * ph_plane + row_off - dx, go + row_off - dx,
                       ph_plane, n_l);
        }
      }
    }
  }
  store_channels(acc, out, out_plane, n_l);
}

// Input rows [begin, end) of the N * H rows.
template <typename T>
void grad_features_rows_kernel(const T* go_ph, const T* m_ph, T* grad_features, const Geometry& g,
                               int64_t begin, int64_t end) {
  const int64_t r = g.radius(), wq = g.W + 2 * r, cpg = g.channels_per_group();
  const int64_t ph_plane = g.out_h() * g.s * wq, plane = g.H * g.W;
  for (int64_t row = begin; row < end; ++row) {
    const int64_t n = row / g.H, iy = row % g.H;
    for (int64_t grp = 0; grp < g.G; ++grp) {
      const T* m = m_ph + (n * g.mask_channels() + grp * g.taps()) * ph_plane;
      for_channel_and_x_runs<T>(grp * cpg, (grp + 1) * cpg, g.W, [&](int64_t c, int64_t x0,
                                                                    int64_t len, auto cb, auto tail) {
        gather_run<T, decltype(cb)::value, decltype(tail)::value>(
            grad_features + (n * g.C + c) * plane + iy * g.W + x0, plane,
            go_ph + (n * g.C + c) * ph_plane, ph_plane, m, g, iy, x0, len);
      });
    }
  }
}

// grad wrt masks on NCHW masks, per output row y and phase px, vectorised over source
// columns sx: gM[t, y, s*sx + px] = sum_c go_ph[c, y, px, sx + r] * xp[c, sy + dy - r, sx + dx].
// Channels are the outer loop (each channel's rows stream through once) and the per-tap sums
// live in a small L1 buffer; four channels are added per pass to amortise its loads/stores.
// Output rows [begin, end) of the N * out_h rows.
template <typename T>
void grad_masks_rows_kernel(const T* go_ph, const T* xp, T* grad_masks, const Geometry& g,
                            int64_t begin, int64_t end) {
  constexpr int kChannels = 4;
  const int64_t oh = g.out_h(), ow = g.out_w(), k = g.k, r = g.radius(), s = g.s, W = g.W;
  const int64_t wq = W + 2 * r, cpg = g.channels_per_group(), plane = oh * ow;
  const int64_t ph_plane = oh * s * wq, xp_plane = g.H * wq;
  {
    std::vector<int64_t> channel(g.taps()), offset(g.taps());
    std::vector<T> sums(g.taps() * W);
    for (int64_t row = begin; row < end; ++row) {
      const int64_t n = row / oh, y = row % oh, sy = y / s;
      const TapRange ty = valid_taps(sy, r, k, g.H);
      T* gm_row = grad_masks + n * g.mask_channels() * plane + y * ow;
      for (int64_t grp = 0; grp < g.G; ++grp) {
        int64_t count = 0;
        for (int64_t dy = 0; dy < k; ++dy) {
          for (int64_t dx = 0; dx < k; ++dx) {
            const int64_t m = g.mask_channel(grp, dy, dx);
            if (dy < ty.lo || dy >= ty.hi) {  // the tap's row is padding: no gradient
              std::fill(gm_row + m * plane, gm_row + m * plane + ow, T(0));
              continue;
            }
            channel[count] = m;
            offset[count++] = (sy + dy - r) * wq + dx;
          }
        }
        for (int64_t px = 0; px < s; ++px) {
          std::fill(sums.begin(), sums.begin() + count * W, T(0));
          for (int64_t c = grp * cpg; c < (grp + 1) * cpg;) {
            const T* go = go_ph + ((n * g.C + c) * oh + y) * s * wq + px * wq + r;
            const T* x = xp + (n * g.C + c) * xp_plane;
            if (c + kChannels <= (grp + 1) * cpg) {
              for (int64_t j = 0; j < count; ++j) {
                T* a = sums.data() + j * W;
                const T* u = x + offset[j];
#pragma omp simd
                for (int64_t l = 0; l < W; ++l)
                  a[l] += go[l] * u[l] + go[ph_plane + l] * u[xp_plane + l] +
                          go[2 * ph_plane + l] * u[2 * xp_plane + l] +
                          go[3 * ph_plane + l] * u[3 * xp_plane + l];
              }
              c += kChannels;
            } else {
              for (int64_t j = 0; j < count; ++j) {
                T* a = sums.data() + j * W;
                const T* u = x + offset[j];
#pragma omp simd
                for (int64_t l = 0; l < W; ++l) a[l] += go[l] * u[l];
              }
              c += 1;
            }
          }
          for (int64_t j = 0; j < count; ++j) {
            T* dst = gm_row + channel[j] * plane + px;
            const T* a = sums.data() + j * W;
            for (int64_t l = 0; l < W; ++l) dst[s * l] = a[l];
          }
        }
      }
    }
  }
}

// Half types are computed in float32 on the CPU (the kernels are written for float/double).
bool needs_upcast(const at::Tensor& t) {
  return t.scalar_type() == at::kHalf || t.scalar_type() == at::kBFloat16;
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
      parallel_chunks(g.N * g.H, grain_for(g.C * g.out_w() * g.s * g.taps()),
                      [&](int64_t begin, int64_t end) {
                        forward_rows<scalar_t, decltype(scale)::value>(f_data, m_data, out_data,
                                                                       g, begin, end);
                      });
    };
    switch (g.s) {
      case 1: rows(std::integral_constant<int, 1>{}); break;
      case 2: rows(std::integral_constant<int, 2>{}); break;
      case 3: rows(std::integral_constant<int, 3>{}); break;
      case 4: rows(std::integral_constant<int, 4>{}); break;
      default:
        parallel_chunks(g.N * g.C * g.out_h(), grain_for(g.out_w() * g.taps()),
                        [&](int64_t begin, int64_t end) {
                          forward_rows_generic(f_data, m_data, out_data, g, begin, end);
                        });
    }
  });
  return out;
}

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
  const int64_t wq = g.W + 2 * g.radius();
  auto go_ph = at::empty({g.N, g.C, g.out_h(), g.s, wq}, go.options());
  auto m_ph = at::empty({g.N, g.mask_channels(), g.out_h(), g.s, wq}, m.options());
  auto xp = at::empty({g.N, g.C, g.H, wq}, f.options());
  AT_DISPATCH_FLOATING_TYPES(features.scalar_type(), "carafe_backward_cpu", [&] {
    const scalar_t* go_data = go.const_data_ptr<scalar_t>();
    const scalar_t* m_data = m.const_data_ptr<scalar_t>();
    const scalar_t* f_data = f.const_data_ptr<scalar_t>();
    scalar_t* go_ph_data = go_ph.mutable_data_ptr<scalar_t>();
    scalar_t* m_ph_data = m_ph.mutable_data_ptr<scalar_t>();
    scalar_t* xp_data = xp.mutable_data_ptr<scalar_t>();
    scalar_t* gf_data = grad_features.mutable_data_ptr<scalar_t>();
    scalar_t* gm_data = grad_masks.mutable_data_ptr<scalar_t>();
    // Pass 1, copies: grad_output and masks phase-split, features column-padded.
    const int64_t go_rows = g.N * g.C * g.out_h(), m_rows = g.N * g.mask_channels() * g.out_h();
    parallel_chunks(go_rows + m_rows + g.N * g.C * g.H, grain_for(g.out_w()),
                    [&](int64_t begin, int64_t end) {
                      split_rows(
                          begin, end, go_rows,
                          [&](int64_t b, int64_t e) { phase_split(go_data, go_ph_data, g, b, e); },
                          [&](int64_t b, int64_t e) {
                            split_rows(
                                b, e, m_rows,
                                [&](int64_t b2, int64_t e2) {
                                  phase_split(m_data, m_ph_data, g, b2, e2);
                                },
                                [&](int64_t b2, int64_t e2) {
                                  pad_columns(f_data, xp_data, g, b2, e2);
                                });
                          });
                    });
    // Pass 2: grad wrt features (N * H input rows), then grad wrt masks (N * out_h rows).
    parallel_chunks(g.N * g.H + g.N * g.out_h(), grain_for(g.C * g.W * g.taps() * g.s),
                    [&](int64_t begin, int64_t end) {
                      split_rows(
                          begin, end, g.N * g.H,
                          [&](int64_t b, int64_t e) {
                            grad_features_rows_kernel(go_ph_data, m_ph_data, gf_data, g, b, e);
                          },
                          [&](int64_t b, int64_t e) {
                            grad_masks_rows_kernel(go_ph_data, xp_data, gm_data, g, b, e);
                          });
                    });
  });
  return {grad_features, grad_masks};
}

}  // namespace carafe_cpu
