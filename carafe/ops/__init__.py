"""The CARAFE operator: the registered op (C++/CUDA kernels built at first use), its plain-PyTorch
reference, and the index geometry both share."""

from carafe.ops.op import backend, carafe

__all__ = ["backend", "carafe"]
