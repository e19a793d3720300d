"""Generated media for the storage tests: nothing binary is checked in."""

from __future__ import annotations

import io
import struct
import zlib

import av
from PIL import Image

RED = (220, 20, 20)
GREEN = (20, 200, 20)
BLUE = (20, 20, 220)


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def noise(size: tuple[int, int]) -> Image.Image:
    """Random-looking RGB pixels: they compress badly, which is what size budgets need."""
    return Image.merge("RGB", [Image.effect_noise(size, 90) for _ in range(3)])


def halves(size: tuple[int, int], left=RED, right=BLUE) -> Image.Image:
    """Left half one colour, right half another: shows which way an image was turned."""
    image = Image.new("RGB", size, right)
    image.paste(left, (0, 0, size[0] // 2, size[1]))
    return image


def jpeg_with_gps_and_orientation(size=(40, 20), orientation: int = 6) -> bytes:
    image = halves(size)
    exif = image.getexif()
    exif[0x0112] = orientation  # Orientation
    exif[0x010F] = "PhoneMaker"  # Make
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (30.0, 15.0, 12.5)  # GPSLatitude
    gps[3] = "E"
    gps[4] = (120.0, 10.0, 3.0)  # GPSLongitude
    return encode(image, "JPEG", exif=exif, comment=b"shot at home", quality=95)


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height``: a decompression bomb's shape."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit grey
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def animated_gif(frames: int = 3, size=(32, 32)) -> bytes:
    colors = [RED, GREEN, BLUE]
    images = [Image.new("RGB", size, colors[i % 3]) for i in range(frames)]
    return encode(
        images[0],
        "GIF",
        save_all=True,
        append_images=images[1:],
        duration=[120] * frames,
        loop=0,
        comment=b"made with secret tool",
    )


def video(
    seconds: float = 2.0,
    fps: int = 10,
    size=(64, 64),
    container: str = "mp4",
    first_second=RED,
    after=GREEN,
) -> bytes:
    """An H.264 video: ``first_second`` colour during the first second, ``after`` colour later."""
    out = io.BytesIO()
    with av.open(out, "w", format=container) as output:
        stream = output.add_stream("libx264", rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        for index in range(int(seconds * fps)):
            color = first_second if index < fps else after
            frame = av.VideoFrame.from_image(Image.new("RGB", size, color))
            for packet in stream.encode(frame):
                output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)
    return out.getvalue()


def audio_only_m4a(seconds: float = 0.5) -> bytes:
    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as output:
        stream = output.add_stream("aac", rate=44100)
        samples = int(44100 * seconds)
        step = 1024
        for start in range(0, samples, step):
            frame = av.AudioFrame(format="fltp", layout="mono", samples=step)
            for plane in frame.planes:
                plane.update(bytes(plane.buffer_size))
            frame.sample_rate = 44100
            frame.pts = start
            for packet in stream.encode(frame):
                output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)
    return out.getvalue()


def close_to(actual, expected, tolerance: int = 40) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual[:3], expected[:3], strict=True))


def described(result) -> tuple[str, str, int | None, int | None]:
    """What inspecting an upload found: (content type, extension, width, height)."""
    return result.content_type, result.ext, result.width, result.height
