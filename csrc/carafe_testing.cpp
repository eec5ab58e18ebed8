// Test-only ops, built into a library of their own (carafe_testing_<key>.so) only when the
// tests load it (carafe.ops._build.load_testing_ops); the production library never holds them.
//
//   carafe_testing::index_forward(features, masks, kernel_size, group_size, scale_factor)
//   carafe_testing::index_backward(grad_output, features, masks, ...) -> (grad_f, grad_m)
//
// They evaluate the per-element functions of carafe_index.h (the ones the CUDA kernels run) on
// the CPU, one element at a time, so the tests check the CUDA index maths against the reference
// on machines without a GPU. Slow; their schema lives here, the only place that defines them.
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <torch/library.h>

#include "carafe_checks.h"
#include "carafe_index.h"

namespace {

using carafe_index::Geometry;

// Runs `element(flat_index)` for every element of `out` (contiguous, same dtype as inputs).
template <typename scalar_t, typename Element>
void fill_elementwise(at::Tensor& out, const Element& element) {
  scalar_t* dst = out.mutable_data_ptr<scalar_t>();
  for (int64_t i = 0; i < out.numel(); ++i) dst[i] = static_cast<scalar_t>(element(i));
}

at::Tensor index_forward(const at::Tensor& features_in, const at::Tensor& masks_in, int64_t k,
                         int64_t G, int64_t s) {
  const Geometry g = carafe_checks::make_geometry(features_in, masks_in, k, G, s);
  const auto features = features_in.contiguous();
  const auto masks = masks_in.contiguous();
  auto out = at::empty({g.N, g.C, g.out_h(), g.out_w()}, features.options());
  AT_DISPATCH_FLOATING_TYPES(features.scalar_type(), "carafe_index_forward", [&] {
    const scalar_t* f = features.const_data_ptr<scalar_t>();
    const scalar_t* m = masks.const_data_ptr<scalar_t>();
    fill_elementwise<scalar_t>(out, [&](int64_t i) {
      return carafe_index::forward_element<scalar_t, double>(f, m, g, i);
    });
  });
  return out;
}

std::tuple<at::Tensor, at::Tensor> index_backward(const at::Tensor& grad_output_in,
                                                  const at::Tensor& features_in,
                                                  const at::Tensor& masks_in, int64_t k, int64_t G,
                                                  int64_t s) {
  const Geometry g = carafe_checks::make_geometry(features_in, masks_in, k, G, s);
  carafe_checks::check_grad_output(grad_output_in, g, features_in);
  const auto grad_output = grad_output_in.contiguous();
  const auto features = features_in.contiguous();
  const auto masks = masks_in.contiguous();
  auto grad_features = at::empty_like(features);
  auto grad_masks = at::empty_like(masks);
  AT_DISPATCH_FLOATING_TYPES(features.scalar_type(), "carafe_index_backward", [&] {
    const scalar_t* go = grad_output.const_data_ptr<scalar_t>();
    const scalar_t* f = features.const_data_ptr<scalar_t>();
    const scalar_t* m = masks.const_data_ptr<scalar_t>();
    fill_elementwise<scalar_t>(grad_features, [&](int64_t i) {
      return carafe_index::grad_features_element<scalar_t, double>(go, m, g, i);
    });
    fill_elementwise<scalar_t>(grad_masks, [&](int64_t i) {
      return carafe_index::grad_masks_element<scalar_t, double>(go, f, g, i);
    });
  });
  return {grad_features, grad_masks};
}

}  // namespace

TORCH_LIBRARY(carafe_testing, m) {
  m.def("index_forward(Tensor features, Tensor masks, int kernel_size, int group_size, "
        "int scale_factor) -> Tensor");
  m.def("index_backward(Tensor grad_output, Tensor features, Tensor masks, int kernel_size, "
        "int group_size, int scale_factor) -> (Tensor, Tensor)");
}

TORCH_LIBRARY_IMPL(carafe_testing, CPU, m) {
  m.impl("index_forward", &index_forward);
  m.impl("index_backward", &index_backward);
}
