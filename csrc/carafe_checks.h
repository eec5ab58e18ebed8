// Argument checks shared by the CPU and CUDA registrations. They raise the same ValueError /
// TypeError messages as carafe/reference.py's check_carafe_args, so a direct call of
// torch.ops.carafe.carafe is as safe as carafe.ops.carafe.
#pragma once

#include <ATen/ATen.h>

#include "carafe_index.h"

namespace carafe_checks {

inline carafe_index::Geometry make_geometry(const at::Tensor& features, const at::Tensor& masks,
                                            int64_t k, int64_t G, int64_t s) {
  TORCH_CHECK_VALUE(k >= 1 && k % 2 == 1, "kernel_size must be a positive odd integer, got ", k);
  TORCH_CHECK_VALUE(G >= 1, "group_size must be >= 1, got ", G);
  TORCH_CHECK_VALUE(s >= 1, "scale_factor must be >= 1, got ", s);
  TORCH_CHECK_VALUE(features.dim() == 4, "features must be 4-D (N, C, H, W), got ",
                    features.dim(), "-D shape ", features.sizes());
  TORCH_CHECK_VALUE(masks.dim() == 4, "masks must be 4-D (N, G*k*k, H*s, W*s), got ",
                    masks.dim(), "-D shape ", masks.sizes());
  TORCH_CHECK_TYPE(at::isFloatingType(features.scalar_type()),
                   "features must be a floating-point tensor, got dtype ", features.scalar_type());
  TORCH_CHECK_TYPE(masks.scalar_type() == features.scalar_type(), "masks dtype ",
                   masks.scalar_type(), " does not match features dtype ", features.scalar_type());
  TORCH_CHECK_VALUE(masks.device() == features.device(), "masks are on ", masks.device(),
                    " but features are on ", features.device());
  const carafe_index::Geometry g{features.size(0), features.size(1), features.size(2),
                                 features.size(3), k, G, s};
  TORCH_CHECK_VALUE(g.C % G == 0, "features channels (", g.C, ") must be divisible by group_size (",
                    G, ")");
  TORCH_CHECK_VALUE(masks.size(1) == g.mask_channels(), "masks must have group_size*kernel_size**2 = ",
                    g.mask_channels(), " channels (group_size=", G, ", kernel_size=", k,
                    "), got ", masks.size(1));
  TORCH_CHECK_VALUE(masks.size(0) == g.N, "masks batch size (", masks.size(0),
                    ") != features batch size (", g.N, ")");
  TORCH_CHECK_VALUE(masks.size(2) == g.out_h() && masks.size(3) == g.out_w(),
                    "masks spatial size must be scale_factor x features' = (", g.out_h(), ", ",
                    g.out_w(), "), got (", masks.size(2), ", ", masks.size(3), ")");
  return g;
}

inline void check_grad_output(const at::Tensor& grad_output, const carafe_index::Geometry& g,
                              const at::Tensor& features) {
  TORCH_CHECK_VALUE(grad_output.dim() == 4 && grad_output.size(0) == g.N &&
                        grad_output.size(1) == g.C && grad_output.size(2) == g.out_h() &&
                        grad_output.size(3) == g.out_w(),
                    "grad_output must have the output's shape (", g.N, ", ", g.C, ", ", g.out_h(),
                    ", ", g.out_w(), "), got ", grad_output.sizes());
  TORCH_CHECK_TYPE(grad_output.scalar_type() == features.scalar_type(), "grad_output dtype ",
                   grad_output.scalar_type(), " does not match features dtype ",
                   features.scalar_type());
  TORCH_CHECK_VALUE(grad_output.device() == features.device(),
                    "grad_output is on another device than features");
}

}  // namespace carafe_checks
