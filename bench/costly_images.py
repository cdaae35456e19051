#!/usr/bin/python3
"""Write the costliest images each decoder accepts within predictd's default limits.

  costly_images.py OUT_DIR [--side 4096]

Each file is one colour (so it compresses to almost nothing) at the largest size the default
max_image_pixels (4096 x 4096) allows: what an attacker sends to buy the most worker time per
byte of body (issue 12's table). Formats: PNG 8-bit RGB and RGBA, PNG and TIFF 16-bit RGBA
(deflate; at 4096², over the default decode budget, and at 2896², the largest within it),
baseline and progressive JPEG, lossless and lossy WebP, BMP RLE8 (hand-written: OpenCV cannot
write it), and a wide JPEG (65 500 x 256). Prints one line per file: name, bytes.
Used by bench/decode_cost (by hand) and tests/load/test_costly_requests.cpp.
"""
import argparse
import os
import struct

import cv2
import numpy as np


def bmp_rle8(width, height):
    """An 8-bit BMP compressed with RLE8: every row one run-length of palette index 0."""
    rows = bytearray()
    for _ in range(height):
        left = width
        while left > 0:
            run = min(255, left)
            rows += bytes((run, 0))
            left -= run
        rows += b"\x00\x00"  # end of line
    rows += b"\x00\x01"  # end of bitmap
    palette = b"".join(struct.pack("<BBBB", i, 255 - i, i // 2, 0) for i in range(256))
    offset = 14 + 40 + len(palette)
    header = struct.pack("<2sIHHI", b"BM", offset + len(rows), 0, 0, offset)
    dib = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 8, 1, len(rows), 2835, 2835, 256, 0)
    return header + dib + palette + bytes(rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--side", type=int, default=4096)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    s = args.side
    rgb8 = np.full((s, s, 3), (40, 120, 200), np.uint8)
    rgba16 = np.full((s, s, 4), (10000, 30000, 50000, 65535), np.uint16)
    # The largest 16-bit RGBA image the default decode budget accepts: 2896² × 4 × 2 ≤ 64 MiB.
    a16 = int((64 * 2**20 / 8) ** 0.5)
    rgba16_budget = np.full((a16, a16, 4), (10000, 30000, 50000, 40000), np.uint16)
    rgba8 = np.full((s, s, 4), (40, 120, 200, 128), np.uint8)
    files = {
        "png8-rgb.png": cv2.imencode(".png", rgb8, [cv2.IMWRITE_PNG_COMPRESSION, 9])[1],
        "png16-rgba.png": cv2.imencode(".png", rgba16, [cv2.IMWRITE_PNG_COMPRESSION, 9])[1],
        "png8-rgba.png": cv2.imencode(".png", rgba8, [cv2.IMWRITE_PNG_COMPRESSION, 9])[1],
        "png16-rgba-2896.png": cv2.imencode(".png", rgba16_budget,
                                            [cv2.IMWRITE_PNG_COMPRESSION, 9])[1],
        "tiff16-rgba-2896.tiff": cv2.imencode(".tiff", rgba16_budget,
                                              [cv2.IMWRITE_TIFF_COMPRESSION, 8])[1],
        "tiff16-rgba.tiff": cv2.imencode(".tiff", rgba16, [cv2.IMWRITE_TIFF_COMPRESSION, 8])[1],
        "jpeg-baseline.jpg": cv2.imencode(".jpg", rgb8, [cv2.IMWRITE_JPEG_QUALITY, 90])[1],
        "jpeg-progressive.jpg": cv2.imencode(
            ".jpg", rgb8, [cv2.IMWRITE_JPEG_QUALITY, 90, cv2.IMWRITE_JPEG_PROGRESSIVE, 1])[1],
        "jpeg-wide.jpg": cv2.imencode(
            ".jpg", np.full((256, 65500, 3), 90, np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 90])[1],
        "webp-lossless.webp": cv2.imencode(".webp", rgb8, [cv2.IMWRITE_WEBP_QUALITY, 101])[1],
        "webp-lossy.webp": cv2.imencode(".webp", rgb8, [cv2.IMWRITE_WEBP_QUALITY, 90])[1],
    }
    for name, data in files.items():
        with open(os.path.join(args.out, name), "wb") as f:
            f.write(data.tobytes())
    with open(os.path.join(args.out, "bmp-rle8.bmp"), "wb") as f:
        f.write(bmp_rle8(s, s))
    for name in sorted(os.listdir(args.out)):
        print(name, os.path.getsize(os.path.join(args.out, name)))


if __name__ == "__main__":
    main()
