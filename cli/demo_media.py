"""Media generated on the spot for demos and benchmarks (nothing binary is shipped)."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw


def demo_cover_jpeg(size: tuple[int, int] = (1200, 640)) -> bytes:
    image = Image.new("RGB", size, (24, 92, 160))
    draw = ImageDraw.Draw(image)
    for i in range(0, size[0], 40):
        draw.line([(i, 0), (i - size[1], size[1])], fill=(40, 120, 190), width=12)
    draw.rectangle([60, size[1] - 180, size[0] - 60, size[1] - 60], fill=(250, 250, 250))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=88)
    return out.getvalue()


def demo_video_mp4(seconds: float = 3.0, fps: int = 15, size: tuple[int, int] = (320, 568)) -> bytes:
    import av

    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        for index in range(int(seconds * fps)):
            shade = 60 + int(150 * index / (seconds * fps))
            frame = av.VideoFrame.from_image(Image.new("RGB", size, (shade, 90, 200 - shade // 2)))
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()
