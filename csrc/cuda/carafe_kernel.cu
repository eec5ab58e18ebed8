// CARAFE CUDA kernels. No torch header on purpose: this file compiles with a bare nvcc, so
// tests/ops/test_build.py compiles it for sm_80 and sm_90 wherever nvcc is on PATH, with no GPU
// and no CUDA build of torch (the test skips where nvcc is missing).
//
// One thread per output element (forward), per feature element (grad wrt features: a gather,
// so no atomics) and per mask element (grad wrt masks: a dot product over the group's
// channels). The per-element maths lives in carafe_index.h, which the CPU test build also
// compiles and checks against the reference. Half types accumulate in float32; all indices
// are 64-bit; there is no shared-memory tile, so k*k*G has no fixed limit.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "../carafe_index.h"
#include "carafe_cuda.h"

namespace carafe_cuda {
namespace {

using carafe_index::Geometry;

template <typename T>
struct Accumulator {
  using type = float;
};
template <>
struct Accumulator<double> {
  using type = double;
};

constexpr int kThreads = 256;

// Enough blocks to fill the device several times over; the kernels loop (grid-stride) beyond.
inline unsigned int blocks_for(int64_t n) {
  const int64_t blocks = (n + kThreads - 1) / kThreads;
  return static_cast<unsigned int>(blocks < 65535 * 8 ? blocks : 65535 * 8);
}

__device__ __forceinline__ int64_t first_index() {
  return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ int64_t grid_stride() {
  return static_cast<int64_t>(gridDim.x) * blockDim.x;
}

template <typename T>
__global__ void forward_kernel(const T* __restrict__ features, const T* __restrict__ masks,
                               T* __restrict__ output, const Geometry g) {
  using Acc = typename Accumulator<T>::type;
  const int64_t n = g.output_numel();
  for (int64_t i = first_index(); i < n; i += grid_stride())
    output[i] = static_cast<T>(carafe_index::forward_element<T, Acc>(features, masks, g, i));
}

template <typename T>
__global__ void grad_features_kernel(const T* __restrict__ grad_output,
                                     const T* __restrict__ masks, T* __restrict__ grad_features,
                                     const Geometry g) {
  using Acc = typename Accumulator<T>::type;
  const int64_t n = g.feature_numel();
  for (int64_t i = first_index(); i < n; i += grid_stride())
    grad_features[i] =
        static_cast<T>(carafe_index::grad_features_element<T, Acc>(grad_output, masks, g, i));
}

template <typename T>
__global__ void grad_masks_kernel(const T* __restrict__ grad_output,
                                  const T* __restrict__ features, T* __restrict__ grad_masks,
                                  const Geometry g) {
  using Acc = typename Accumulator<T>::type;
  const int64_t n = g.mask_numel();
  for (int64_t i = first_index(); i < n; i += grid_stride())
    grad_masks[i] =
        static_cast<T>(carafe_index::grad_masks_element<T, Acc>(grad_output, features, g, i));
}

template <typename T>
cudaError_t launch_forward(const void* features, const void* masks, void* output,
                           const Geometry& g, cudaStream_t stream) {
  const int64_t n = g.output_numel();
  if (n == 0) return cudaSuccess;
  forward_kernel<T><<<blocks_for(n), kThreads, 0, stream>>>(
      static_cast<const T*>(features), static_cast<const T*>(masks), static_cast<T*>(output), g);
  return cudaGetLastError();
}

template <typename T>
cudaError_t launch_backward(const void* grad_output, const void* features, const void* masks,
                            void* grad_features, void* grad_masks, const Geometry& g,
                            cudaStream_t stream) {
  const T* go = static_cast<const T*>(grad_output);
  if (grad_features != nullptr && g.feature_numel() > 0) {
    grad_features_kernel<T><<<blocks_for(g.feature_numel()), kThreads, 0, stream>>>(
        go, static_cast<const T*>(masks), static_cast<T*>(grad_features), g);
    const cudaError_t err = cudaGetLastError();
    if (err != cudaSuccess) return err;
  }
  if (grad_masks != nullptr && g.mask_numel() > 0) {
    grad_masks_kernel<T><<<blocks_for(g.mask_numel()), kThreads, 0, stream>>>(
        go, static_cast<const T*>(features), static_cast<T*>(grad_masks), g);
  }
  return cudaGetLastError();
}

}  // namespace

cudaError_t forward(Dtype dtype, const void* features, const void* masks, void* output,
                    const Geometry& g, cudaStream_t stream) {
  switch (dtype) {
    case Dtype::kFloat32: return launch_forward<float>(features, masks, output, g, stream);
    case Dtype::kFloat64: return launch_forward<double>(features, masks, output, g, stream);
    case Dtype::kFloat16: return launch_forward<__half>(features, masks, output, g, stream);
    case Dtype::kBFloat16: return launch_forward<__nv_bfloat16>(features, masks, output, g, stream);
  }
  return cudaErrorInvalidValue;
}

cudaError_t backward(Dtype dtype, const void* grad_output, const void* features, const void* masks,
                     void* grad_features, void* grad_masks, const Geometry& g,
                     cudaStream_t stream) {
  switch (dtype) {
    case Dtype::kFloat32:
      return launch_backward<float>(grad_output, features, masks, grad_features, grad_masks, g, stream);
    case Dtype::kFloat64:
      return launch_backward<double>(grad_output, features, masks, grad_features, grad_masks, g, stream);
    case Dtype::kFloat16:
      return launch_backward<__half>(grad_output, features, masks, grad_features, grad_masks, g, stream);
    case Dtype::kBFloat16:
      return launch_backward<__nv_bfloat16>(grad_output, features, masks, grad_features, grad_masks,
                                            g, stream);
  }
  return cudaErrorInvalidValue;
}

}  // namespace carafe_cuda
