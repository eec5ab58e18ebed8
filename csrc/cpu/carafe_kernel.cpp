// CARAFE CPU kernels: forward, grad wrt features and grad wrt masks.
//
// Why this layout: every output pixel is a weighted sum of k*k input pixels with the SAME
// weight for all channels of a group. Working channels-last (NHWC) turns that into
// "broadcast one weight, multiply-add a contiguous run of channels", which vectorises, and
// the weight is read once per pixel instead of once per channel. Inputs are converted to
// NHWC once (small next to the output); results are accumulated per row in a buffer that
// stays in cache and then written out NCHW. No intermediate of size k*k*output exists.
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

// Channels summed at once, kept in registers while the k*k taps are added: eight vector
// registers, enough independent multiply-add chains to hide the FMA latency on two units.
#if defined(__AVX512F__)
constexpr int64_t kVectorBytes = 64;
#elif defined(__AVX__)
constexpr int64_t kVectorBytes = 32;
#else
constexpr int64_t kVectorBytes = 16;
#endif
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

// For each of P pixels p: dst[p * dst_stride + 0:len] = sum over the taps of
// weight(tap, p) * row(tap)[0:len]. `taps(fma)` calls fma(weights, weight_stride, row) once per
// tap, pixel p's weight being weights[p * weight_stride]. Several pixels that share their
// input rows (the s output pixels of one source pixel) reuse each loaded vector.
// `Len` > 0 fixes the length at compile time so the accumulators live in registers.
template <typename T, int64_t Len, int P, typename Taps>
inline void weighted_sums(T* dst, int64_t dst_stride, int64_t len, const Taps& taps) {
  if constexpr (Len > 0) {
    T acc[P][Len] = {};
    taps([&](const T* w, int64_t w_stride, const T* row) {
      T wp[P];
      for (int p = 0; p < P; ++p) wp[p] = w[p * w_stride];
#pragma omp simd
      for (int64_t c = 0; c < Len; ++c)
        for (int p = 0; p < P; ++p) acc[p][c] += wp[p] * row[c];
    });
    for (int p = 0; p < P; ++p)
      for (int64_t c = 0; c < Len; ++c) dst[p * dst_stride + c] = acc[p][c];
  } else {
    for (int p = 0; p < P; ++p) std::fill(dst + p * dst_stride, dst + p * dst_stride + len, T(0));
    taps([&](const T* w, int64_t w_stride, const T* row) {
      for (int p = 0; p < P; ++p) {
        const T wp = w[p * w_stride];
        T* d = dst + p * dst_stride;
#pragma omp simd
        for (int64_t c = 0; c < len; ++c) d[c] += wp * row[c];
      }
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

// features_cl: NHWC; masks_cl: (N, sH, sW, G*k*k); out: NCHW.
template <typename T>
void forward_kernel(const T* features_cl, const T* masks_cl, T* out, const Geometry g) {
  const int64_t C = g.C, oh = g.out_h(), ow = g.out_w(), k = g.k, r = g.radius();
  const int64_t cpg = g.channels_per_group(), mc = g.mask_channels();
#pragma omp parallel num_threads(at::get_num_threads())
  {
    std::vector<T> buf(ow * C);
#pragma omp for schedule(static)
    for (int64_t row = 0; row < g.N * oh; ++row) {
      const int64_t n = row / oh, y = row % oh, sy = y / g.s;
      const TapRange ty = valid_taps(sy, r, k, g.H);
      for (int64_t x = 0; x < ow;) {
        // Output pixels x and x + 1 read the same window when they share a source pixel.
        const int64_t sx = x / g.s;
        const bool pair = x + 1 < ow && (x + 1) / g.s == sx;
        const TapRange tx = valid_taps(sx, r, k, g.W);
        const T* w = masks_cl + (row * ow + x) * mc;
        for (int64_t grp = 0; grp < g.G; ++grp) {
          const int64_t c0 = grp * cpg;
          for_channel_blocks<T>(cpg, [&](int64_t cb, auto len) {
            auto taps = [&](auto&& fma) {
              for (int64_t dy = ty.lo; dy < ty.hi; ++dy) {
                const T* src = features_cl + ((n * g.H + sy + dy - r) * g.W + sx - r) * C + c0 + cb;
                const T* wr = w + g.mask_channel(grp, dy, 0);
                for (int64_t dx = tx.lo; dx < tx.hi; ++dx) fma(wr + dx, mc, src + dx * C);
              }
            };
            constexpr int64_t L = decltype(len)::value;
            T* dst = buf.data() + x * C + c0 + cb;
            if (pair) {
              weighted_sums<T, L, 2>(dst, C, cpg - cb, taps);
            } else {
              weighted_sums<T, L, 1>(dst, C, cpg - cb, taps);
            }
          });
        }
        x += pair ? 2 : 1;
      }
      store_row_nchw(buf.data(), out + n * C * oh * ow + y * ow, C, oh * ow, ow);
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
                      fma(masks_cl + (pix + px) * mc + m, 0, grad_out_cl + (pix + px) * C + c0 + cb);
                  }
                }
              }
            };
            weighted_sums<T, decltype(len)::value, 1>(buf.data() + ix * C + c0 + cb, 0, cpg - cb,
                                                      taps);
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
  const auto features_cl = to_channels_last(features);
  const auto masks_cl = to_channels_last(masks);
  AT_DISPATCH_FLOATING_TYPES(features.scalar_type(), "carafe_forward_cpu", [&] {
    forward_kernel<scalar_t>(features_cl.const_data_ptr<scalar_t>(),
                             masks_cl.const_data_ptr<scalar_t>(), out.mutable_data_ptr<scalar_t>(), g);
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
