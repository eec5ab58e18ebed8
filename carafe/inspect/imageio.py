"""Safe image loading for the app: any upload becomes an H×W×3 uint8 RGB array or a clear error.

Everything a user can throw at an upload box is handled here, so the UI only has to show
either the picture or ``ImageLoadError``'s message:

* not an image / truncated / corrupt file  -> ``ImageLoadError`` with a plain-English message;
* decompression bombs (huge pixel counts in a tiny file) -> refused before decoding;
* 16-bit (``I;16``, ``I``), float (``F``), CMYK, palette (``P``), ``RGBA``/``LA`` (composited on
  white), grayscale (``L``) and bilevel (``1``) images -> converted to 8-bit RGB;
* EXIF-rotated photos -> turned upright (``ImageOps.exif_transpose``);
* images larger than ``max_side`` -> downscaled (Lanczos) so the long side is ``max_side``;
  images smaller than ``MIN_SIDE`` on a side -> refused (nothing to upsample).

Every conversion is reported in ``LoadedImage.notes`` so the app can say what it did.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from carafe.assets import SAMPLES_DIR
from carafe.training.sizes import WORKING_RANGE

__all__ = [
    "DEFAULT_MAX_SIDE",
    "MAX_UPLOAD_BYTES",
    "MAX_PIXELS",
    "MIN_SIDE",
    "MODEL_MIN_SIDE",
    "ImageLoadError",
    "LoadedImage",
    "load_image",
    "load_image_file",
    "sample_scene",
]

#: Long side (pixels) images are downscaled to before analysis: the top of the shipped models'
#: working range (carafe.training.sizes.WORKING_RANGE); it also keeps one analysis ≤ 2 s on a
#: 2-core CPU.
DEFAULT_MAX_SIDE = WORKING_RANGE[1]
#: Long side smaller images are upscaled to before the model sees them (the range's bottom).
MODEL_MIN_SIDE = WORKING_RANGE[0]
#: Uploads larger than this many bytes are refused before decoding.
MAX_UPLOAD_BYTES = 25 * 1024 * 1024
#: Images with more pixels than this are refused (decompression-bomb guard; 40 megapixels).
MAX_PIXELS = 40_000_000
#: Images with a side shorter than this (after downscaling) are refused.
MIN_SIDE = 8


class ImageLoadError(ValueError):
    """The upload cannot be used; ``str(err)`` is a message meant for the user."""


@dataclass
class LoadedImage:
    """A decoded, upright, 8-bit RGB image plus what was done to get it."""

    array: np.ndarray  # (H, W, 3) uint8
    original_size: tuple[int, int]  # (width, height) as stored in the file (before EXIF rotation)
    original_mode: str
    format: str | None
    notes: list[str] = field(default_factory=list)


def _to_rgb(img: Image.Image, notes: list[str]) -> Image.Image:
    """Convert any PIL mode to 8-bit RGB, recording what happened."""
    mode = img.mode
    if mode == "RGB":
        return img
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(np.min(arr)), float(np.max(arr))
        if mode.startswith("I;16"):
            lo, hi = 0.0, 65535.0
        elif hi <= 255 and lo >= 0:
            lo, hi = 0.0, 255.0
        scaled = np.zeros_like(arr) if hi <= lo else (arr - lo) / (hi - lo)
        gray = np.clip(np.round(scaled * 255.0), 0, 255).astype(np.uint8)
        notes.append(f"converted {mode} (high bit depth) to 8-bit RGB")
        return Image.fromarray(np.stack([gray] * 3, axis=-1), "RGB")
    if mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        notes.append(f"composited the transparent {img.mode} image on white")
        return Image.alpha_composite(white, rgba).convert("RGB")
    notes.append(f"converted {mode} to RGB")
    return img.convert("RGB")


def load_image(
    data: bytes,
    max_side: int = DEFAULT_MAX_SIDE,
    max_bytes: int = MAX_UPLOAD_BYTES,
    max_pixels: int = MAX_PIXELS,
    min_long_side: int = 0,
) -> LoadedImage:
    """Decode ``data`` (the bytes of an image file) into a safe RGB array.

    Images with a long side over ``max_side`` are downscaled to it; with ``min_long_side``
    (the model's working range starts there), smaller ones are upscaled to it, and a note says
    so with the size used.

    Raises ``ImageLoadError`` with a user-facing message for anything unusable.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ImageLoadError("Expected the bytes of an image file.")
    data = bytes(data)
    if len(data) == 0:
        raise ImageLoadError("The file is empty.")
    if len(data) > max_bytes:
        raise ImageLoadError(
            f"The file is {len(data) / 2**20:.1f} MB; the limit is {max_bytes / 2**20:.0f} MB."
        )
    notes: list[str] = []
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            width, height = img.size
            if width * height > max_pixels:
                raise ImageLoadError(
                    f"The image is {height}×{width} pixels (rows × columns) = "
                    f"{width * height / 1e6:.0f} megapixels; "
                    f"the limit is {max_pixels / 1e6:.0f} megapixels (decompression-bomb guard)."
                )
            fmt, mode = img.format, img.mode
            if getattr(img, "n_frames", 1) > 1:
                notes.append("used the first frame of a multi-frame image")
            orientation = img.getexif().get(0x0112, 1)
            if fmt == "JPEG" and min(width, height) > 2 * max_side:
                img.draft("RGB", (max_side, max_side))  # decode big JPEGs at 1/2..1/8 scale
            img.load()
            img = ImageOps.exif_transpose(img) or img
            if orientation in (2, 3, 4, 5, 6, 7, 8):
                notes.append("rotated/flipped upright according to its EXIF orientation")
            img = _to_rgb(img, notes)
    except ImageLoadError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise ImageLoadError(f"The image is too large to decode safely: {err}") from None
    except UnidentifiedImageError:
        raise ImageLoadError(
            "This file is not an image Pillow can read. Please upload a PNG, JPEG, BMP, GIF, "
            "TIFF or WebP file."
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError) as err:
        msg = str(err) or type(err).__name__
        if "truncated" in msg.lower():
            raise ImageLoadError(
                "The image file is truncated (incomplete); please upload the full file."
            ) from None
        raise ImageLoadError(f"The image file is corrupt or unsupported ({msg}).") from None
    except Exception as err:  # noqa: BLE001 - any decoder failure is a bad file for the user
        raise ImageLoadError(
            f"The image could not be decoded ({type(err).__name__}: {err})."
        ) from None

    w, h = img.size
    upright = (height, width) if orientation in (5, 6, 7, 8) else (width, height)
    if max(w, h) > max_side:
        factor = max_side / max(upright)
        new_size = (max(1, round(upright[0] * factor)), max(1, round(upright[1] * factor)))
        img = img.resize(new_size, Image.Resampling.LANCZOS)
        notes.append(
            f"downscaled from {upright[1]}×{upright[0]} to {new_size[1]}×{new_size[0]} pixels "
            f"(rows × columns; maximum side {max_side} px)"
        )
    w, h = img.size
    if min(w, h) < MIN_SIDE:
        raise ImageLoadError(
            f"The image is {h}×{w} pixels (rows × columns, after downscaling to a maximum side "
            f"of {max_side}); "
            f"both sides must be at least {MIN_SIDE} pixels to show any upsampling."
        )
    w, h = img.size
    if 0 < max(w, h) < min_long_side:
        factor = min_long_side / max(w, h)
        new_size = (max(1, round(w * factor)), max(1, round(h * factor)))
        img = img.resize(new_size, Image.Resampling.BICUBIC)
        notes.append(
            f"upscaled from {h}×{w} to {new_size[1]}×{new_size[0]} pixels (rows × columns; the "
            f"model was trained and measured on long sides of {min_long_side} px and more)"
        )
    array = np.ascontiguousarray(np.asarray(img, dtype=np.uint8))
    return LoadedImage(
        array=array, original_size=(width, height), original_mode=mode, format=fmt, notes=notes
    )


def load_image_file(path, max_side: int = DEFAULT_MAX_SIDE) -> LoadedImage:
    """``load_image`` for a file on disk (used for the bundled samples)."""
    with open(path, "rb") as fh:
        return load_image(fh.read(), max_side=max_side)


SAMPLE_SUFFIXES = (".png", ".jpg", ".jpeg")

#: The shapes samples are held-out scenes: (file, size px, i) for make_scene(rng([4242, i])),
#: i the first seeds whose scene holds all five classes (so their masks can be regenerated).
SAMPLE_SCENES = {"shapes_1.png": (256, 0), "shapes_2.png": (384, 2)}
SAMPLE_SEED = 4242


def sample_scene(name: str) -> tuple[np.ndarray, np.ndarray] | None:
    """(image (H, W, 3) uint8, true labels (H, W)) of a shapes sample; None for photos."""
    if name not in SAMPLE_SCENES:
        return None
    from carafe.training.data import make_scene

    size, i = SAMPLE_SCENES[name]
    return make_scene(np.random.default_rng([SAMPLE_SEED, i]), size, "heldout")


def sample_images() -> dict[str, Path]:
    """The bundled sample images (assets/samples) by file name, training-like scenes first."""
    paths = [p for p in SAMPLES_DIR.iterdir() if p.suffix.lower() in SAMPLE_SUFFIXES]
    return {
        p.name: p for p in sorted(paths, key=lambda p: (not p.name.startswith("shapes"), p.name))
    }
