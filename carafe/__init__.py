"""CARAFE Explorer: the CARAFE operator (CPU/CUDA/reference), models and inspection tools.

Wang et al., "CARAFE: Content-Aware ReAssembly of FEatures", ICCV 2019 (arXiv 1905.02188).
"""

__version__ = "0.1.0"
