"""CARAFE's index geometry in Python: the twin of ``csrc/carafe_index.h``'s ``Geometry``.

Every formula that maps an output pixel to its source pixel, its k×k window, its kernel, its
group's channels or its content-encoder channels lives here, once. The convention is the op's
(the paper's official code and mmcv):

* features (N, C, H, W); masks (N, G·k², H·s, W·s); output (N, C, H·s, W·s);
* mask channel ``(g·k + dy)·k + dx`` weighs tap (dy, dx) of group g;
* channel c belongs to group ``c // (C/G)``;
* output pixel (y, x) reads the window centred on source pixel ``(y // s, x // s)``; taps
  outside the map read zero (zero padding);
* the content encoder predicts channel ``(g·k² + tap)·s² + a·s + b`` at source pixel (i, j)
  for the kernel of output pixel (s·i + a, s·j + b) (pixel shuffle).

Strides place a map on the image: one input-map pixel covers ``stride_in`` × ``stride_in``
image pixels, one output-map pixel ``stride_out`` × ``stride_out``. The model pads the image
(bottom/right, replicating its last row and column) to a multiple of its coarsest stride, so
maps can reach past the image;
:meth:`Geometry.visible_output_hw` and :attr:`Window.in_image` say which part is real.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Geometry", "Window", "kernel_lean", "pixel_centre", "taps_inside_map", "visible_extent"]


def pixel_centre(index, stride: int):
    """The image pixel at the centre of map pixel ``index`` on a map of ``stride`` (ints, numpy
    arrays or tensors): where a map pixel reads the image's labels or colours."""
    return index * stride + stride // 2


def kernel_lean(kernels: np.ndarray) -> np.ndarray:
    """Centre of mass (dy, dx) of (..., k, k) kernels, from the window centre in input pixels
    (positive = down / right), as a (..., 2) array."""
    k = kernels.shape[-1]
    offsets = np.arange(k, dtype=np.float64) - (k - 1) / 2
    p = np.asarray(kernels, dtype=np.float64)
    return np.stack([(p.sum(-1) * offsets).sum(-1), (p.sum(-2) * offsets).sum(-1)], axis=-1)


def taps_inside_map(k: int, s: int, h: int, w: int, out_hw=None) -> np.ndarray:
    """(k², h·s, w·s) bool (or (k², *out_hw)): whether tap (dy, dx) (mask channel dy·k + dx) of
    output pixel (y, x) reads a pixel of the first h×w of the input map, not what lies beyond
    (the op's zero padding when h×w is the whole map; pass the visible part to exclude the
    area the model padded too)."""
    r = (k - 1) // 2
    oh, ow = out_hw if out_hw is not None else (h * s, w * s)
    offsets = np.arange(k) - r
    rows = np.arange(oh) // s + offsets[:, None]  # (k, oh) input row of tap row dy
    cols = np.arange(ow) // s + offsets[:, None]
    inside_y = (rows >= 0) & (rows < h)
    inside_x = (cols >= 0) & (cols < w)
    return (inside_y[:, None, :, None] & inside_x[None, :, None, :]).reshape(k * k, oh, ow)


def visible_extent(image_size: int, stride: int) -> int:
    """Map pixels (along one axis) that cover at least one real image pixel: ⌈size / stride⌉."""
    return -(-int(image_size) // int(stride))


@dataclass(frozen=True)
class Window:
    """The k×k source window of one output pixel.

    source:   (sy, sx), the source pixel in the input map.
    rows, cols: (k,) input-map row / column of each tap (may be < 0 or ≥ H, W).
    inside:   (k, k) bool, the tap lies inside the input map (else it reads zero padding).
    in_image: (k, k) bool, the tap lies inside the map *and* covers real image pixels (not the
              area the model padded to a multiple of its stride); equals ``inside`` when the
              geometry was built without an image size.
    """

    source: tuple[int, int]
    rows: np.ndarray
    cols: np.ndarray
    inside: np.ndarray
    in_image: np.ndarray

    @property
    def outside_image(self) -> np.ndarray:
        """(k, k) bool: taps that read zero padding or padded image area."""
        return ~self.in_image


@dataclass(frozen=True)
class Geometry:
    """Sizes of one CARAFE step, mirroring ``carafe_index::Geometry`` (batch left out).

    k, G, s: kernel size, groups, scale factor. C, H, W: channels and size of the input map.
    stride_in / stride_out: image pixels per input / output map pixel.
    image_hw: size of the real (unpadded) image in pixels, or None when the maps are all real.
    """

    k: int
    G: int
    s: int
    C: int
    H: int
    W: int
    stride_in: int = 2
    stride_out: int = 1
    image_hw: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if self.k < 1 or self.k % 2 == 0:
            raise ValueError(f"k must be a positive odd integer, got {self.k}")
        if self.G < 1 or self.C % self.G:
            raise ValueError(f"C ({self.C}) must be divisible by G ({self.G})")
        if self.s < 1:
            raise ValueError(f"s must be >= 1, got {self.s}")

    # --- sizes, as in carafe_index.h -------------------------------------------------------
    @property
    def radius(self) -> int:
        return (self.k - 1) // 2

    @property
    def taps(self) -> int:
        return self.k * self.k

    @property
    def channels_per_group(self) -> int:
        return self.C // self.G

    @property
    def out_hw(self) -> tuple[int, int]:
        """Size of the uncropped output map (H·s, W·s)."""
        return self.H * self.s, self.W * self.s

    @property
    def mask_channels(self) -> int:
        return self.G * self.taps

    def mask_channel(self, g: int, dy: int, dx: int) -> int:
        """Mask channel of tap (dy, dx), 0 ≤ dy, dx < k, of group g."""
        return (g * self.k + dy) * self.k + dx

    def group_of_channel(self, c: int) -> int:
        """The kernel group that feature channel c uses."""
        return int(c) // self.channels_per_group

    def channels_of_group(self, g: int) -> range:
        """The feature channels that group g's kernel reassembles."""
        cpg = self.channels_per_group
        return range(g * cpg, (g + 1) * cpg)

    # --- one output pixel -----------------------------------------------------------------
    def source_pixel(self, y: int, x: int) -> tuple[int, int]:
        """The input-map pixel whose window output pixel (y, x) reads: (⌊y/s⌋, ⌊x/s⌋)."""
        return int(y) // self.s, int(x) // self.s

    def sub_pixel(self, y: int, x: int) -> tuple[int, int]:
        """(a, b) = (y mod s, x mod s): which of its source pixel's s×s outputs (y, x) is."""
        return int(y) % self.s, int(x) % self.s

    def window(self, y: int, x: int) -> Window:
        """The k×k window of output pixel (y, x), with which taps fall outside the map/image."""
        sy, sx = self.source_pixel(y, x)
        offsets = np.arange(self.k) - self.radius
        rows, cols = sy + offsets, sx + offsets
        row_in = (rows >= 0) & (rows < self.H)
        col_in = (cols >= 0) & (cols < self.W)
        inside = row_in[:, None] & col_in[None, :]
        vh, vw = self.visible_input_hw()
        in_image = inside & (rows < vh)[:, None] & (cols < vw)[None, :]
        return Window((sy, sx), rows, cols, inside, in_image)

    def whole_input_hw(self) -> tuple[int, int]:
        """Rows/columns of the input map whose pixels lie wholly on the real image (a partly
        covered last row or column, half image and half padded area, does not count)."""
        if self.image_hw is None:
            return self.H, self.W
        h, w = self.image_hw
        return min(self.H, h // self.stride_in), min(self.W, w // self.stride_in)

    def window_fully_in_image(self) -> np.ndarray:
        """(H·s, W·s) bool over the output map: every input pixel of the pixel's window lies
        wholly on the real image."""
        vh, vw = self.whole_input_hw()
        r = self.radius
        sy = np.arange(self.out_hw[0]) // self.s
        sx = np.arange(self.out_hw[1]) // self.s
        ok_y = (sy - r >= 0) & (sy + r < vh)
        ok_x = (sx - r >= 0) & (sx + r < vw)
        return ok_y[:, None] & ok_x[None, :]

    def kernel_at(self, kernels: np.ndarray, y: int, x: int, g: int = 0) -> np.ndarray:
        """Group g's k×k kernel of output pixel (y, x) from a (G·k², H', W') mask array."""
        start = self.mask_channel(g, 0, 0)
        return np.asarray(kernels[start : start + self.taps, y, x]).reshape(self.k, self.k)

    def encoder_channel(self, g, tap, a, b):
        """Content-encoder channel that becomes tap ``tap`` of group g's kernel of sub-pixel
        (a, b) after the pixel shuffle: (g·k² + tap)·s² + a·s + b. Works on numpy arrays."""
        return (g * self.taps + tap) * self.s * self.s + a * self.s + b

    def encoder_channels(self, y: int, x: int, g: int = 0) -> np.ndarray:
        """(k, k) encoder channel feeding each tap of output pixel (y, x)'s group-g kernel."""
        a, b = self.sub_pixel(y, x)
        return self.encoder_channel(g, np.arange(self.taps), a, b).reshape(self.k, self.k)

    # --- maps on the image ----------------------------------------------------------------
    def visible_input_hw(self) -> tuple[int, int]:
        """Rows/columns of the input map that cover real image pixels."""
        if self.image_hw is None:
            return self.H, self.W
        h, w = self.image_hw
        return (
            min(self.H, visible_extent(h, self.stride_in)),
            min(self.W, visible_extent(w, self.stride_in)),
        )

    def visible_output_hw(self, output_hw: tuple[int, int] | None = None) -> tuple[int, int]:
        """Rows/columns of the output map (``output_hw``, default H·s × W·s) covering the image."""
        oh, ow = output_hw if output_hw is not None else self.out_hw
        if self.image_hw is None:
            return int(oh), int(ow)
        h, w = self.image_hw
        return (
            min(int(oh), visible_extent(h, self.stride_out)),
            min(int(ow), visible_extent(w, self.stride_out)),
        )

    def output_pixel_at(self, iy: int, ix: int) -> tuple[int, int]:
        """The output-map pixel that covers image pixel (iy, ix)."""
        return int(iy) // self.stride_out, int(ix) // self.stride_out

    def image_centre(self, y, x):
        """The image pixel at the centre of output pixel (y, x) (ints or numpy arrays)."""
        return pixel_centre(y, self.stride_out), pixel_centre(x, self.stride_out)

    def output_box(self, y: int, x: int) -> tuple[int, int, int, int]:
        """Image pixels [y0, y1) × [x0, x1) that output pixel (y, x) covers."""
        so = self.stride_out
        return y * so, x * so, (y + 1) * so, (x + 1) * so

    def window_box(self, y: int, x: int) -> tuple[int, int, int, int]:
        """Image pixels [y0, y1) × [x0, x1) that output pixel (y, x)'s window covers
        (unclipped: it may reach past the image, into zero padding)."""
        sy, sx = self.source_pixel(y, x)
        r, si = self.radius, self.stride_in
        return (sy - r) * si, (sx - r) * si, (sy + r + 1) * si, (sx + r + 1) * si

    def map_window(self, y: int, x: int) -> tuple[int, int, int, int]:
        """Input-map pixels [y0, y1) × [x0, x1) of output pixel (y, x)'s window (unclipped)."""
        sy, sx = self.source_pixel(y, x)
        r = self.radius
        return sy - r, sx - r, sy + r + 1, sx + r + 1
