// CARAFE CPU kernels: forward, grad wrt features and grad wrt masks.
//
// Every output pixel is a weighted sum of k*k input pixels. Two layouts make that vectorise:
// - forward (rows): one weight per output pixel and tap, so for a run of output pixels along
//   x the weights are a contiguous vector in the NCHW masks. The features are first copied
//   with each column repeated s times and zero columns on both sides (`upsample_columns`,
//   about output / s in size); then tap (dy, dx) of output pixels x..x+L reads one contiguous
//   run of that copy. The inner loop is a plain vector multiply-add with no bounds checks,
//   each weight vector serves four channels, and the output is written in place, NCHW.
// - backward (channels-last): the SAME weight applies to all channels of a group, so with
//   NHWC copies of grad_output, features and masks the gradient wrt features is "broadcast
//   one weight, multiply-add a contiguous run of channels" (a gather over the output pixels
//   that read each input pixel: no atomics), and the gradient wrt masks is a set of channel
//   dot products, eight taps per pass.
// No intermediate of size k*k*output exists.
//
// OpenMP pragmas live in these templates, not inside AT_DISPATCH lambdas (where they do
// not compile).
#include "carafe_cpu.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <type_traits>
#include <vector>

#include "../carafe_index.h"

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
// Channels summed at once by the channels-last kernels, kept in registers while the taps are
// added: eight vectors, enough independent multiply-add chains to hide the FMA latency.
template <typename T>
constexpr int64_t kBlock = 8 * kVectorBytes / static_cast<int64_t>(sizeof(T));

// Valid tap range [lo, hi) along one axis so that the tap's input coordinate is inside.
struct TapRange {
  int64_t lo, hi;
};
inline TapRange valid_taps(int64_t source, int64_t radius, int64_t k, int64_t size) {
  return {std::max<int64_t>(0, radius - source), std::min<int64_t>(k, size + radius - source)};
}

// Writes a (width x C) channels-last row buffer into NCHW rows out[n, :, y, :].
// Tiled 16 x 16 so each output line is written in one burst: the C output rows lie a whole
// plane apart (often a multiple of 4 KiB), and interleaving writes to them thrashes L1.
template <typename T>
void store_row_nchw(const T* buf, T* out, int64_t C, int64_t plane, int64_t width) {
  constexpr int64_t kTile = 16;
  for (int64_t c0 = 0; c0 < C; c0 += kTile) {
    const int64_t c1 = std::min(C, c0 + kTile);
    for (int64_t x0 = 0; x0 < width; x0 += kTile) {
      const int64_t x1 = std::min(width, x0 + kTile);
      for (int64_t c = c0; c < c1; ++c) {
        T* dst = out + c * plane;
        for (int64_t x = x0; x < x1; ++x) dst[x] = buf[x * C + c];
      }
    }
  }
}

// dst[0:len] = sum over the taps of weight(tap) * row(tap)[0:len]; `taps(fma)` calls
// fma(weight, row) once per tap. `Len` > 0 fixes the length at compile time so the
// accumulators live in registers; Len == 0 is the run-time-length tail.
template <typename T, int64_t Len, typename Taps>
inline void weighted_sum(T* dst, int64_t len, const Taps& taps) {
  if constexpr (Len > 0) {
    T acc[Len] = {};
    taps([&](T w, const T* row) {
#pragma omp simd
      for (int64_t c = 0; c < Len; ++c) acc[c] += w * row[c];
    });
    for (int64_t c = 0; c < Len; ++c) dst[c] = acc[c];
  } else {
    std::fill(dst, dst + len, T(0));
    taps([&](T w, const T* row) {
#pragma omp simd
      for (int64_t c = 0; c < len; ++c) dst[c] += w * row[c];
    });
  }
}

// Runs `block(c_begin, std::integral_constant<Len>)` over one group's `cpg` channels: full
// register blocks first, then halves down to one vector, then a run-time-length tail (Len 0).
template <typename T, int64_t Len = kBlock<T>, typename Block>
inline int64_t for_channel_blocks(int64_t cpg, const Block& block, int64_t c = 0) {
  if constexpr (Len == kBlock<T>) {
    for (; c + Len <= cpg; c += Len) block(c, std::integral_constant<int64_t, Len>{});
  } else if (c + Len <= cpg) {
    block(c, std::integral_constant<int64_t, Len>{});
    c += Len;
  }
  if constexpr (Len * static_cast<int64_t>(sizeof(T)) > kVectorBytes) {
    return for_channel_blocks<T, Len / 2>(cpg, block, c);
  } else {
    if (c < cpg) block(c, std::integral_constant<int64_t, 0>{});
    return cpg;
  }
}

// x positions handled per pass by the row kernels: two vector registers.
template <typename T>
constexpr int64_t kXBlock = 2 * kVectorBytes / static_cast<int64_t>(sizeof(T));

// Column-upsampled, column-padded copy of the features, NCHW with rows of width
// Wp = s * (W + 2r): up[n, c, iy, s*(r + ix) + p] = X[n, c, iy, ix] for p < s, zero in the
// s*r columns on either side. Output pixel x and tap dx then read column x + s*dx, so a run of
// output pixels reads a contiguous run of `up` for every tap: the row kernels vectorise over x
// with plain loads and no bounds checks along x. Its size is about output / s.
template <typename T>
void upsample_columns(const T* features, T* up, const Geometry g) {
  const int64_t s = g.s, r = g.radius(), wp = s * (g.W + 2 * r);
#pragma omp parallel for schedule(static) num_threads(at::get_num_threads())
  for (int64_t row = 0; row < g.N * g.C * g.H; ++row) {
    const T* src = features + row * g.W;
    T* dst = up + row * wp;
    std::fill(dst, dst + s * r, T(0));
    std::fill(dst + s * (g.W + r), dst + wp, T(0));
    for (int64_t ix = 0; ix < g.W; ++ix)
      for (int64_t p = 0; p < s; ++p) dst[s * (r + ix) + p] = src[ix];
  }
}

// acc[j][l] = sum over taps of w(tap)[l] * up_j(tap)[l] for CB channels j and a run of
// x positions l (kXBlock of them, or `len` when Tail), written to out_j[l].
template <typename T, int CB, bool Tail>
inline void reassemble_run(T* out, int64_t out_plane, const T* up, int64_t up_plane, int64_t wp,
                           const T* w, int64_t w_plane, int64_t iy0, TapRange ty, int64_t k,
                           int64_t s, int64_t len) {
  constexpr int64_t XB = kXBlock<T>;
  const int64_t n_l = Tail ? len : XB;
  T acc[CB][XB] = {};
  for (int64_t dy = ty.lo; dy < ty.hi; ++dy) {
    const T* up_row = up + (iy0 + dy) * wp;
    for (int64_t dx = 0; dx < k; ++dx) {
      const T* wv = w + (dy * k + dx) * w_plane;
      const T* u = up_row + s * dx;
      for (int j = 0; j < CB; ++j) {
        const T* uj = u + j * up_plane;
#pragma omp simd
        for (int64_t l = 0; l < n_l; ++l) acc[j][l] += wv[l] * uj[l];
      }
    }
  }
  for (int j = 0; j < CB; ++j)
    for (int64_t l = 0; l < n_l; ++l) out[j * out_plane + l] = acc[j][l];
}

// Forward on NCHW tensors: each thread takes output rows; for each group of 4 channels and
// each run of x positions the k*k weight vectors (read once per row from L1) are shared.
template <typename T>
void forward_rows_kernel(const T* up, const T* masks, T* out, const Geometry g) {
  constexpr int kChannels = 4;
  constexpr int64_t XB = kXBlock<T>;
  const int64_t oh = g.out_h(), ow = g.out_w(), k = g.k, r = g.radius(), s = g.s;
  const int64_t cpg = g.channels_per_group(), plane = oh * ow;
  const int64_t wp = s * (g.W + 2 * r), up_plane = g.H * wp;
#pragma omp parallel for schedule(static) num_threads(at::get_num_threads())
  for (int64_t row = 0; row < g.N * oh; ++row) {
    const int64_t n = row / oh, y = row % oh, sy = y / s;
    const TapRange ty = valid_taps(sy, r, k, g.H);
    for (int64_t grp = 0; grp < g.G; ++grp) {
      const T* w = masks + ((n * g.mask_channels() + grp * g.taps()) * oh + y) * ow;
      for (int64_t c = grp * cpg; c < (grp + 1) * cpg;) {
        const bool four = c + kChannels <= (grp + 1) * cpg;
        const T* upc = up + (n * g.C + c) * up_plane;
        T* o = out + (n * g.C + c) * plane + y * ow;
        int64_t x0 = 0;
        for (; x0 + XB <= ow; x0 += XB) {
          if (four) reassemble_run<T, kChannels, false>(o + x0, plane, upc + x0, up_plane, wp, w + x0, plane, sy - r, ty, k, s, XB);
          else reassemble_run<T, 1, false>(o + x0, plane, upc + x0, up_plane, wp, w + x0, plane, sy - r, ty, k, s, XB);
        }
        if (x0 < ow) {
          if (four) reassemble_run<T, kChannels, true>(o + x0, plane, upc + x0, up_plane, wp, w + x0, plane, sy - r, ty, k, s, ow - x0);
          else reassemble_run<T, 1, true>(o + x0, plane, upc + x0, up_plane, wp, w + x0, plane, sy - r, ty, k, s, ow - x0);
        }
        c += four ? kChannels : 1;
      }
    }
  }
}

// grad wrt features, gathered per input pixel (no races): grad_out_cl NHWC at output size.
template <typename T>
void grad_features_kernel(const T* grad_out_cl, const T* masks_cl, T* grad_features,
                          const Geometry g) {
  const int64_t C = g.C, ow = g.out_w(), k = g.k, r = g.radius(), s = g.s;
  const int64_t cpg = g.channels_per_group(), mc = g.mask_channels();
#pragma omp parallel num_threads(at::get_num_threads())
  {
    std::vector<T> buf(g.W * C);
#pragma omp for schedule(static)
    for (int64_t row = 0; row < g.N * g.H; ++row) {
      const int64_t n = row / g.H, iy = row % g.H;
      // Source rows sy = iy - dy + r must be inside: dy in [iy + r - H + 1, iy + r].
      const int64_t dy_lo = std::max<int64_t>(0, iy + r - g.H + 1), dy_hi = std::min(k, iy + r + 1);
      for (int64_t ix = 0; ix < g.W; ++ix) {
        const int64_t dx_lo = std::max<int64_t>(0, ix + r - g.W + 1), dx_hi = std::min(k, ix + r + 1);
        for (int64_t grp = 0; grp < g.G; ++grp) {
          const int64_t c0 = grp * cpg;
          for_channel_blocks<T>(cpg, [&](int64_t cb, auto len) {
            auto taps = [&](auto&& fma) {
              for (int64_t dy = dy_lo; dy < dy_hi; ++dy) {
                const int64_t sy = iy - dy + r;
                for (int64_t dx = dx_lo; dx < dx_hi; ++dx) {
                  const int64_t sx = ix - dx + r, m = g.mask_channel(grp, dy, dx);
                  for (int64_t py = 0; py < s; ++py) {
                    const int64_t pix = (n * g.out_h() + sy * s + py) * ow + sx * s;
                    for (int64_t px = 0; px < s; ++px)
                      fma(masks_cl[(pix + px) * mc + m], grad_out_cl + (pix + px) * C + c0 + cb);
                  }
                }
              }
            };
            weighted_sum<T, decltype(len)::value>(buf.data() + ix * C + c0 + cb, cpg - cb, taps);
          });
        }
      }
      store_row_nchw(buf.data(), grad_features + n * C * g.H * g.W + iy * g.W, C, g.H * g.W, g.W);
    }
  }
}

// dots[j] = sum_c a[c] * b[j][c] for J rows b[j] at once: `a` is loaded once per vector and
// the J running sums are independent chains, which keeps both FMA units busy.
template <typename T, int J>
inline void multi_dot(const T* a, const T* const* b, int64_t len, T* dots) {
  constexpr int64_t kLanes = kVectorBytes / static_cast<int64_t>(sizeof(T));
  T acc[J][kLanes] = {};
  int64_t c = 0;
  for (; c + kLanes <= len; c += kLanes) {
    for (int j = 0; j < J; ++j) {
#pragma omp simd
      for (int64_t l = 0; l < kLanes; ++l) acc[j][l] += a[c + l] * b[j][c + l];
    }
  }
  for (int j = 0; j < J; ++j) {
    T sum = T(0);
    for (int64_t l = 0; l < kLanes; ++l) sum += acc[j][l];
    for (int64_t t = c; t < len; ++t) sum += a[t] * b[j][t];
    dots[j] = sum;
  }
}

// grad wrt masks: per output pixel and tap, a dot product over the group's channels.
// Written channels-last (N, sH, sW, G*k*k); the caller permutes it (it is small).
template <typename T>
void grad_masks_kernel(const T* grad_out_cl, const T* features_cl, T* grad_masks_cl,
                       const Geometry g) {
  constexpr int kChunk = 8;  // taps whose dot products run together
  const int64_t C = g.C, oh = g.out_h(), ow = g.out_w(), k = g.k, r = g.radius();
  const int64_t cpg = g.channels_per_group(), mc = g.mask_channels();
#pragma omp parallel num_threads(at::get_num_threads())
  {
    std::vector<const T*> rows(g.taps());
    std::vector<int64_t> channels(g.taps());
    std::vector<T> dots(g.taps());
#pragma omp for schedule(static)
    for (int64_t row = 0; row < g.N * oh; ++row) {
      const int64_t n = row / oh, y = row % oh, sy = y / g.s;
      const TapRange ty = valid_taps(sy, r, k, g.H);
      for (int64_t x = 0; x < ow; ++x) {
        const int64_t sx = x / g.s;
        const TapRange tx = valid_taps(sx, r, k, g.W);
        T* gm = grad_masks_cl + (row * ow + x) * mc;
        std::fill(gm, gm + mc, T(0));  // taps over the zero padding get no gradient
        for (int64_t grp = 0; grp < g.G; ++grp) {
          int64_t count = 0;
          for (int64_t dy = ty.lo; dy < ty.hi; ++dy) {
            for (int64_t dx = tx.lo; dx < tx.hi; ++dx, ++count) {
              rows[count] = features_cl + ((n * g.H + sy + dy - r) * g.W + sx + dx - r) * C + grp * cpg;
              channels[count] = g.mask_channel(grp, dy, dx);
            }
          }
          const T* go = grad_out_cl + (row * ow + x) * C + grp * cpg;
          int64_t j = 0;
          for (; j + kChunk <= count; j += kChunk) multi_dot<T, kChunk>(go, &rows[j], cpg, &dots[j]);
          for (; j < count; ++j) multi_dot<T, 1>(go, &rows[j], cpg, &dots[j]);
          for (int64_t t = 0; t < count; ++t) gm[channels[t]] = dots[t];
        }
      }
    }
  }
}

// Channels-last copy of an NCHW-shaped tensor, as a plain contiguous NHWC buffer.
at::Tensor to_channels_last(const at::Tensor& t) {
  return t.permute({0, 2, 3, 1}).contiguous();
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
  auto up = at::empty({g.N, g.C, g.H, g.s * (g.W + 2 * g.radius())}, f.options());
  AT_DISPATCH_FLOATING_TYPES(features.scalar_type(), "carafe_forward_cpu", [&] {
    upsample_columns<scalar_t>(f.const_data_ptr<scalar_t>(), up.mutable_data_ptr<scalar_t>(), g);
    forward_rows_kernel<scalar_t>(up.const_data_ptr<scalar_t>(), m.const_data_ptr<scalar_t>(),
                                  out.mutable_data_ptr<scalar_t>(), g);
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
  auto grad_masks_cl = at::empty({g.N, g.out_h(), g.out_w(), g.mask_channels()}, masks.options());
  if (grad_output.numel() == 0 || masks.numel() == 0) {
    return {grad_features.zero_(), grad_masks_cl.zero_().permute({0, 3, 1, 2}).contiguous()};
  }
  const auto grad_out_cl = to_channels_last(grad_output);
  const auto features_cl = to_channels_last(features);
  const auto masks_cl = to_channels_last(masks);
  AT_DISPATCH_FLOATING_TYPES(features.scalar_type(), "carafe_backward_cpu", [&] {
    grad_features_kernel<scalar_t>(grad_out_cl.const_data_ptr<scalar_t>(),
                                   masks_cl.const_data_ptr<scalar_t>(),
                                   grad_features.mutable_data_ptr<scalar_t>(), g);
    grad_masks_kernel<scalar_t>(grad_out_cl.const_data_ptr<scalar_t>(),
                                features_cl.const_data_ptr<scalar_t>(),
                                grad_masks_cl.mutable_data_ptr<scalar_t>(), g);
  });
  return {grad_features, grad_masks_cl.permute({0, 3, 1, 2}).contiguous()};
}

}  // namespace carafe_cpu
