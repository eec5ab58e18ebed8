// CARAFE CPU kernels: forward in carafe_kernel.cpp, backward in carafe_backward.cpp. Inputs are
// validated by the caller.
#pragma once

#include <ATen/ATen.h>

#include <tuple>

#include "../carafe_index.h"

namespace carafe_cpu {

// Half types are computed in float32 on the CPU (the kernels are written for float/double).
inline bool needs_upcast(const at::Tensor& t) {
  return t.scalar_type() == at::kHalf || t.scalar_type() == at::kBFloat16;
}

// Returns the NCHW output (N, C, H*s, W*s).
at::Tensor forward(const at::Tensor& features, const at::Tensor& masks,
                   const carafe_index::Geometry& g);

// Returns (grad_features, grad_masks), both NCHW.
std::tuple<at::Tensor, at::Tensor> backward(const at::Tensor& grad_output,
                                            const at::Tensor& features, const at::Tensor& masks,
                                            const carafe_index::Geometry& g);

}  // namespace carafe_cpu
