"""The CARAFE operator: the registered op (C++/CUDA kernels built at first use), its plain-PyTorch
reference, the index geometry both share, and the window similarity built on the op."""

from carafe.ops.op import backend, carafe
from carafe.ops.similarity import window_similarity

__all__ = ["backend", "carafe", "window_similarity"]
