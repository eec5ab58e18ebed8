// Torch-free interface of the CARAFE CUDA kernels (carafe_kernel.cu), called by the binding
// (carafe_cuda.cpp). Raw pointers to contiguous NCHW tensors, the geometry and a stream.
#pragma once

#include <cuda_runtime_api.h>

#include "../carafe_index.h"

namespace carafe_cuda {

enum class Dtype : int { kFloat32 = 0, kFloat64 = 1, kFloat16 = 2, kBFloat16 = 3 };

// output (N, C, H*s, W*s) = CARAFE(features, masks). Returns the launch status.
cudaError_t forward(Dtype dtype, const void* features, const void* masks, void* output,
                    const carafe_index::Geometry& g, cudaStream_t stream);

// grad_features (N, C, H, W) and grad_masks (N, G*k*k, H*s, W*s); either may be null to skip it.
cudaError_t backward(Dtype dtype, const void* grad_output, const void* features, const void* masks,
                     void* grad_features, void* grad_masks, const carafe_index::Geometry& g,
                     cudaStream_t stream);

}  // namespace carafe_cuda
