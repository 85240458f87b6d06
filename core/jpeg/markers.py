"""Metadata segments for encoders that cannot write them: EXIF, XMP, ICC profile, JFIF density and comment, added to a
finished JPEG file the way Pillow's JPEG save writes them.

The segments go after SOI and before the first table, in Pillow's order: JFIF APP0, EXIF APP1, XMP APP1, ICC APP2
chunks, COM. The encoder's own JFIF segment is replaced when ``dpi`` is given and kept otherwise.
"""

from __future__ import annotations

import struct

from PIL import Image

from ..pillow_options import check_metadata_types

METADATA_OPTIONS = frozenset({"exif", "icc_profile", "dpi", "comment", "xmp"})
_MAX_PAYLOAD = 65533  # a segment's length field counts itself: 65535 − 2
_ICC_CHUNK = _MAX_PAYLOAD - 14  # "ICC_PROFILE\0", sequence number, count
_XMP_ID = b"http://ns.adobe.com/xap/1.0/\x00"


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def _c_int(value: int) -> int:
    """``value`` as a C int holds it (Pillow hands the density to libjpeg through one)."""
    return (value + 2**31) % 2**32 - 2**31


def metadata_segments(exif=None, icc_profile=None, dpi=None, comment=None, xmp=None) -> list[bytes]:
    """The segments for these options, with Pillow's types (TypeError otherwise), limits and density arithmetic."""
    check_metadata_types({"exif": exif, "icc_profile": icc_profile, "comment": comment, "xmp": xmp})
    out = []
    x, y = (_c_int(round(v)) for v in dpi) if dpi is not None else (0, 0)
    if x > 0 and y > 0:  # as Pillow: dots per inch only when both are positive, stored in 16 bits
        out.append(_segment(0xE0, b"JFIF\x00\x01\x01\x01" + struct.pack(">HH", x & 0xFFFF, y & 0xFFFF) + b"\x00\x00"))
    if isinstance(exif, Image.Exif):
        exif = exif.tobytes()
    if exif:
        if len(exif) > _MAX_PAYLOAD:
            raise ValueError("EXIF data is too long")
        out.append(_segment(0xE1, exif))
    if xmp:
        if len(xmp) + len(_XMP_ID) > _MAX_PAYLOAD:
            raise ValueError("XMP data is too long")
        out.append(_segment(0xE1, _XMP_ID + bytes(xmp)))
    if icc_profile:
        chunks = [icc_profile[i : i + _ICC_CHUNK] for i in range(0, len(icc_profile), _ICC_CHUNK)]
        if len(chunks) > 255:
            raise ValueError("ICC profile is too long for JPEG (more than 255 segments)")
        out += [_segment(0xE2, b"ICC_PROFILE\x00" + bytes([i, len(chunks)]) + chunk)
                for i, chunk in enumerate(chunks, 1)]  # fmt: skip
    if comment:
        comment = comment.encode() if isinstance(comment, str) else comment
        if len(comment) > _MAX_PAYLOAD:
            raise ValueError("Comment is too long")  # Pillow's words
        out.append(_segment(0xFE, comment))
    return out


def add_metadata(data: bytes, **metadata) -> bytes:
    """``data`` (a JPEG file without metadata) with the segments of :func:`metadata_segments` added.

    Example:
        >>> from rdjpeg.jpeg.backends import pillow_jpeg_bytes
        >>> plain = pillow_jpeg_bytes(Image.new("RGB", (8, 8)))
        >>> Image.open(__import__("io").BytesIO(add_metadata(plain, dpi=(300, 300)))).info["dpi"]
        (300, 300)
    """
    segments = metadata_segments(**metadata)
    if not segments:
        return data
    head = 2
    has_jfif = data[2:4] == b"\xff\xe0" and data[6:11] == b"JFIF\x00"
    if has_jfif:
        head += 2 + struct.unpack(">H", data[4:6])[0]
    if has_jfif and segments[0][1] == 0xE0:  # dpi: our JFIF replaces the encoder's
        return data[:2] + b"".join(segments) + data[head:]
    return data[:head] + b"".join(segments) + data[head:]
