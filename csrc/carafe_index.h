// Per-element CARAFE index maths, shared by the CUDA kernels and the CPU build.
//
// No torch and no CUDA library header: the same functions compile for the host (where the
// CPU build exposes them as the test-only ops `carafe_testing::index_forward` and
// `carafe_testing::index_backward`, checked against the plain-PyTorch reference) and for the
// device (where the CUDA kernels call them once per thread). So the CUDA logic is tested on
// machines without a GPU.
//
// Convention (official CARAFE code and mmcv), all tensors contiguous NCHW:
//   features (N, C, H, W); masks (N, G*k*k, H*s, W*s); output (N, C, H*s, W*s)
//   mask channel (g*k + dy)*k + dx; channel c belongs to group c / (C/G); zero padding;
//   output pixel (y, x) reads the window centred on source pixel (y/s, x/s).
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define CARAFE_HD __host__ __device__ __forceinline__
#else
#define CARAFE_HD inline
#endif

namespace carafe_index {

struct Geometry {
  int64_t N, C, H, W;  // features
  int64_t k, G, s;     // kernel size, group count, scale factor

  CARAFE_HD int64_t radius() const { return (k - 1) / 2; }
  CARAFE_HD int64_t taps() const { return k * k; }
  CARAFE_HD int64_t channels_per_group() const { return C / G; }
  CARAFE_HD int64_t out_h() const { return H * s; }
  CARAFE_HD int64_t out_w() const { return W * s; }
  CARAFE_HD int64_t mask_channels() const { return G * k * k; }
  CARAFE_HD int64_t feature_numel() const { return N * C * H * W; }
  CARAFE_HD int64_t output_numel() const { return N * C * out_h() * out_w(); }
  CARAFE_HD int64_t mask_numel() const { return N * mask_channels() * out_h() * out_w(); }

  CARAFE_HD int64_t feature_index(int64_t n, int64_t c, int64_t y, int64_t x) const {
    return ((n * C + c) * H + y) * W + x;
  }
  CARAFE_HD int64_t output_index(int64_t n, int64_t c, int64_t y, int64_t x) const {
    return ((n * C + c) * out_h() + y) * out_w() + x;
  }
  CARAFE_HD int64_t mask_index(int64_t n, int64_t m, int64_t y, int64_t x) const {
    return ((n * mask_channels() + m) * out_h() + y) * out_w() + x;
  }
  CARAFE_HD int64_t mask_channel(int64_t g, int64_t dy, int64_t dx) const {
    return (g * k + dy) * k + dx;
  }
  CARAFE_HD bool inside(int64_t y, int64_t x) const {
    return y >= 0 && y < H && x >= 0 && x < W;
  }
};

// Unpacks a flat NCHW index into (n, c, y, x) for a tensor with C channels and size h x w.
struct Nchw {
  int64_t n, c, y, x;
};
CARAFE_HD Nchw unflatten(int64_t index, int64_t C, int64_t h, int64_t w) {
  Nchw p;
  p.x = index % w;
  index /= w;
  p.y = index % h;
  index /= h;
  p.c = index % C;
  p.n = index / C;
  return p;
}

// out[n, c, y, x] for the flat output index `index`.
template <typename T, typename Acc>
CARAFE_HD Acc forward_element(const T* features, const T* masks, const Geometry& g,
                              int64_t index) {
  const Nchw o = unflatten(index, g.C, g.out_h(), g.out_w());
  const int64_t group = o.c / g.channels_per_group();
  const int64_t r = g.radius();
  const int64_t sy = o.y / g.s, sx = o.x / g.s;
  Acc acc = Acc(0);
  for (int64_t dy = 0; dy < g.k; ++dy) {
    const int64_t iy = sy + dy - r;
    for (int64_t dx = 0; dx < g.k; ++dx) {
      const int64_t ix = sx + dx - r;
      if (!g.inside(iy, ix)) continue;
      const Acc w = static_cast<Acc>(masks[g.mask_index(o.n, g.mask_channel(group, dy, dx), o.y, o.x)]);
      const Acc v = static_cast<Acc>(features[g.feature_index(o.n, o.c, iy, ix)]);
      acc += w * v;
    }
  }
  return acc;
}

// d loss / d features[n, c, iy, ix] for the flat feature index `index`: a gather over every
// output pixel whose window covers (iy, ix), so no atomics are needed.
template <typename T, typename Acc>
CARAFE_HD Acc grad_features_element(const T* grad_output, const T* masks, const Geometry& g,
                                    int64_t index) {
  const Nchw p = unflatten(index, g.C, g.H, g.W);
  const int64_t group = p.c / g.channels_per_group();
  const int64_t r = g.radius();
  Acc acc = Acc(0);
  for (int64_t dy = 0; dy < g.k; ++dy) {
    const int64_t sy = p.y - dy + r;  // source pixel whose window puts tap dy on row p.y
    if (sy < 0 || sy >= g.H) continue;
    for (int64_t dx = 0; dx < g.k; ++dx) {
      const int64_t sx = p.x - dx + r;
      if (sx < 0 || sx >= g.W) continue;
      const int64_t m = g.mask_channel(group, dy, dx);
      for (int64_t py = 0; py < g.s; ++py) {
        const int64_t y = sy * g.s + py;
        for (int64_t px = 0; px < g.s; ++px) {
          const int64_t x = sx * g.s + px;
          acc += static_cast<Acc>(masks[g.mask_index(p.n, m, y, x)]) *
                 static_cast<Acc>(grad_output[g.output_index(p.n, p.c, y, x)]);
        }
      }
    }
  }
  return acc;
}

// d loss / d masks[n, m, y, x] for the flat mask index `index`: a dot product over the
// channels of the mask's group between grad_output at (y, x) and the tap's input pixel.
template <typename T, typename Acc>
CARAFE_HD Acc grad_masks_element(const T* grad_output, const T* features, const Geometry& g,
                                 int64_t index) {
  const Nchw o = unflatten(index, g.mask_channels(), g.out_h(), g.out_w());
  const int64_t group = o.c / g.taps();
  const int64_t tap = o.c % g.taps();
  const int64_t iy = o.y / g.s + tap / g.k - g.radius();
  const int64_t ix = o.x / g.s + tap % g.k - g.radius();
  if (!g.inside(iy, ix)) return Acc(0);
  const int64_t cpg = g.channels_per_group();
  Acc acc = Acc(0);
  for (int64_t c = group * cpg; c < (group + 1) * cpg; ++c) {
    acc += static_cast<Acc>(grad_output[g.output_index(o.n, c, o.y, o.x)]) *
           static_cast<Acc>(features[g.feature_index(o.n, c, iy, ix)]);
  }
  return acc;
}

}  // namespace carafe_index
