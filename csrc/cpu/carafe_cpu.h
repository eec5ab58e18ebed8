// CARAFE CPU kernels (see carafe_kernel.cpp). Inputs are validated by the caller.
#pragma once

#include <ATen/ATen.h>

#include <tuple>

#include "../carafe_index.h"

namespace carafe_cpu {

// Returns the NCHW output (N, C, H*s, W*s).
at::Tensor forward(const at::Tensor& features, const at::Tensor& masks,
                   const carafe_index::Geometry& g);

// Returns (grad_features, grad_masks), both NCHW.
std::tuple<at::Tensor, at::Tensor> backward(const at::Tensor& grad_output,
                                            const at::Tensor& features, const at::Tensor& masks,
                                            const carafe_index::Geometry& g);

}  // namespace carafe_cpu
