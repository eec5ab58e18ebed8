"""Bad and unusual uploads: each gives an RGB array or a clear ImageLoadError."""

import io

import numpy as np
import pytest
from PIL import Image

from carafe.inspect.imageio import MIN_SIDE, ImageLoadError, load_image


def _encode(img: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _rgb(h=40, w=60):
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), "RGB")


@pytest.mark.parametrize("mode", ["L", "1", "P", "RGBA", "LA", "CMYK", "I;16", "I", "F"])
def test_modes_convert_to_rgb(mode):
    img = _rgb().convert("L").convert(mode) if mode in ("I;16", "I", "F") else _rgb().convert(mode)
    fmt = "TIFF" if mode in ("CMYK", "I", "F") else "PNG"
    out = load_image(_encode(img, fmt))
    assert out.array.dtype == np.uint8 and out.array.shape == (40, 60, 3)


def test_16bit_keeps_full_range():
    arr = np.linspace(0, 65535, 40 * 60).reshape(40, 60).astype(np.uint16)
    out = load_image(_encode(Image.fromarray(arr))).array
    assert out.min() == 0 and out.max() == 255


def test_rgba_composited_on_white():
    img = Image.new("RGBA", (20, 20), (255, 0, 0, 0))
    out = load_image(_encode(img))
    assert (out.array == 255).all() and any("white" in n for n in out.notes)


def test_exif_rotation_applied():
    img = _rgb(30, 50)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    out = load_image(_encode(img, "JPEG", exif=exif.tobytes()))
    assert out.array.shape == (50, 30, 3)
    assert any("EXIF" in n for n in out.notes)


def test_downscale_large_and_note():
    out = load_image(_encode(_rgb(300, 1200)), max_side=256)
    assert out.array.shape == (64, 256, 3) and any("downscaled" in n for n in out.notes)


@pytest.mark.parametrize(
    "data, match",
    [
        (b"", "empty"),
        (b"hello, this is not an image" * 10, "not an image"),
    ],
)
def test_garbage_rejected(data, match):
    with pytest.raises(ImageLoadError, match=match):
        load_image(data)


def test_truncated_rejected():
    data = _encode(_rgb(200, 200), "JPEG")
    with pytest.raises(ImageLoadError, match="truncated|corrupt"):
        load_image(data[: len(data) // 2])
    png = _encode(_rgb(200, 200))
    with pytest.raises(ImageLoadError):
        load_image(png[: len(png) // 2])


def test_decompression_bomb_rejected():
    data = _encode(Image.new("1", (10000, 10000)))  # 100 MP in a few kB
    with pytest.raises(ImageLoadError, match="megapixels|too large"):
        load_image(data)


def test_too_large_bytes_rejected():
    with pytest.raises(ImageLoadError, match="limit"):
        load_image(b"x" * 100, max_bytes=10)


def test_tiny_images_rejected_with_message():
    with pytest.raises(ImageLoadError, match=f"at least {MIN_SIDE}"):
        load_image(_encode(Image.new("RGB", (1, 1))))


def test_big_exif_rotated_jpeg_is_fast_and_reported_correctly():
    import time

    arr = np.random.default_rng(0).integers(0, 256, (1800, 2400, 3), dtype=np.uint8)
    exif = Image.Exif()
    exif[0x0112] = 6
    data = _encode(Image.fromarray(arr), "JPEG", exif=exif.tobytes())
    t = time.perf_counter()
    out = load_image(data, max_side=256)
    assert time.perf_counter() - t < 5
    assert out.array.shape == (256, 192, 3)  # upright: portrait
    assert (
        "downscaled from 2400×1800 to 256×192 pixels (rows × columns; maximum side 256 px)"
        in out.notes
    )
    assert any("EXIF" in n for n in out.notes)


def test_small_images_are_upscaled_into_the_working_range_and_say_so():
    out = load_image(_encode(_rgb(12, 12)), min_long_side=128)
    assert out.array.shape == (128, 128, 3)
    assert any("upscaled from 12×12 to 128×128" in n and "128 px" in n for n in out.notes)
    strip = load_image(_encode(_rgb(24, 60)), min_long_side=128)
    assert strip.array.shape == (51, 128, 3)  # the long side reaches 128, the aspect is kept


def test_images_inside_the_working_range_keep_their_size():
    out = load_image(_encode(_rgb(200, 300)), min_long_side=128)
    assert out.array.shape == (200, 300, 3) and not any("scaled" in n for n in out.notes)
    assert load_image(_encode(_rgb(12, 12))).array.shape == (12, 12, 3)  # default: no upscaling


def test_images_too_small_to_upsample_are_refused_before_any_upscaling():
    with pytest.raises(ImageLoadError, match="at least"):
        load_image(_encode(_rgb(1, 1)), min_long_side=128)
    with pytest.raises(ImageLoadError, match="at least"):
        load_image(_encode(_rgb(4, 100)), min_long_side=128)
