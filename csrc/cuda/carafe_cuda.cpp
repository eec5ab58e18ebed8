// Registers the CUDA kernels (carafe_kernel.cu) for the CUDA dispatch key. Compiled only
// where a CUDA build of torch exists; the kernels themselves include no torch header.
#include <ATen/ATen.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/library.h>

#include "../carafe_checks.h"
#include "carafe_cuda.h"

namespace {

carafe_cuda::Dtype dtype_code(const at::Tensor& t) {
  switch (t.scalar_type()) {
    case at::kFloat: return carafe_cuda::Dtype::kFloat32;
    case at::kDouble: return carafe_cuda::Dtype::kFloat64;
    case at::kHalf: return carafe_cuda::Dtype::kFloat16;
    case at::kBFloat16: return carafe_cuda::Dtype::kBFloat16;
    default: TORCH_CHECK_TYPE(false, "CARAFE on CUDA supports float32, float64, float16 and "
                                     "bfloat16, got ", t.scalar_type());
  }
  return carafe_cuda::Dtype::kFloat32;  // unreachable
}

void check_launch(cudaError_t err, const char* what) {
  TORCH_CHECK(err == cudaSuccess, "CARAFE CUDA ", what, " failed: ", cudaGetErrorString(err));
}

at::Tensor carafe_forward_cuda(const at::Tensor& features, const at::Tensor& masks, int64_t k,
                               int64_t G, int64_t s) {
  const auto g = carafe_checks::make_geometry(features, masks, k, G, s);
  const c10::cuda::CUDAGuard guard(features.device());
  const auto f = features.contiguous();
  const auto m = masks.contiguous();
  auto out = at::empty({g.N, g.C, g.out_h(), g.out_w()}, f.options());
  check_launch(carafe_cuda::forward(dtype_code(f), f.const_data_ptr(), m.const_data_ptr(),
                                    out.mutable_data_ptr(), g,
                                    c10::cuda::getCurrentCUDAStream(f.get_device()).stream()),
               "forward");
  return out;
}

std::tuple<at::Tensor, at::Tensor> carafe_backward_cuda(const at::Tensor& grad_output,
                                                        const at::Tensor& features,
                                                        const at::Tensor& masks, int64_t k,
                                                        int64_t G, int64_t s) {
  const auto g = carafe_checks::make_geometry(features, masks, k, G, s);
  carafe_checks::check_grad_output(grad_output, g, features);
  const c10::cuda::CUDAGuard guard(features.device());
  const auto go = grad_output.contiguous();
  const auto f = features.contiguous();
  const auto m = masks.contiguous();
  auto grad_features = at::empty_like(f);
  auto grad_masks = at::empty_like(m);
  check_launch(carafe_cuda::backward(dtype_code(f), go.const_data_ptr(), f.const_data_ptr(),
                                     m.const_data_ptr(), grad_features.mutable_data_ptr(),
                                     grad_masks.mutable_data_ptr(), g,
                                     c10::cuda::getCurrentCUDAStream(f.get_device()).stream()),
               "backward");
  return {grad_features, grad_masks};
}

}  // namespace

TORCH_LIBRARY_IMPL(carafe, CUDA, m) {
  m.impl("carafe", &carafe_forward_cuda);
  m.impl("carafe_backward", &carafe_backward_cuda);
}
