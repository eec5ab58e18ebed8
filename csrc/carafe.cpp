// Registers the CPU kernels (cpu/carafe_kernel.cpp, cpu/carafe_backward.cpp) for the carafe ops.
//
//   carafe::carafe(features, masks, kernel_size, group_size, scale_factor) -> output
//   carafe::carafe_backward(grad_output, features, masks, ...) -> (grad_features, grad_masks)
//
// The schema is written once, in Python (carafe/ops/op.py defines it with torch.library before
// this library is loaded), so this file only implements it: the dispatcher checks each kernel's
// C++ signature against that schema when the library loads. The fake (meta) and autograd
// implementations are registered from Python too; the test-only ops are in carafe_testing.cpp.
#include <ATen/ATen.h>
#include <torch/library.h>

#include "carafe_checks.h"
#include "carafe_index.h"
#include "cpu/carafe_cpu.h"

namespace {

using carafe_index::Geometry;

at::Tensor carafe_forward_cpu(const at::Tensor& features, const at::Tensor& masks, int64_t k,
                              int64_t G, int64_t s) {
  const Geometry g = carafe_checks::make_geometry(features, masks, k, G, s);
  return carafe_cpu::forward(features, masks, g);
}

std::tuple<at::Tensor, at::Tensor> carafe_backward_cpu(const at::Tensor& grad_output,
                                                       const at::Tensor& features,
                                                       const at::Tensor& masks, int64_t k,
                                                       int64_t G, int64_t s) {
  const Geometry g = carafe_checks::make_geometry(features, masks, k, G, s);
  carafe_checks::check_grad_output(grad_output, g, features);
  return carafe_cpu::backward(grad_output, features, masks, g);
}

}  // namespace

TORCH_LIBRARY_IMPL(carafe, CPU, m) {
  m.impl("carafe", &carafe_forward_cpu);
  m.impl("carafe_backward", &carafe_backward_cpu);
}
