"""Tiny but real files of each accepted type (and look-alikes that must be refused), built in code."""

from __future__ import annotations

import struct
import zlib


def png(width: int = 1, height: int = 1, seed: int = 0) -> bytes:
    """A valid PNG: greyscale, `seed` picks the pixel value so different seeds give different bytes."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    raw = b"".join(b"\x00" + bytes([seed % 256]) * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000") + b"\xff\xd9"
WEBP = b"RIFF" + struct.pack("<I", 22) + b"WEBPVP8 " + struct.pack("<I", 10) + bytes(10)
WAV = (
    b"RIFF"
    + struct.pack("<I", 36)
    + b"WAVEfmt "
    + struct.pack("<IHHIIHH", 16, 1, 1, 8000, 8000, 1, 8)
    + b"data\0\0\0\0"
)


def pdf(
    *,
    version: bytes = b"1.4",
    content: bytes = b"BT /F1 12 Tf 72 720 Td (Receipt 42) Tj ET",
    xref_stream: bool = False,
    after_eof: bytes = b"\n",
) -> bytes:
    """A small well-formed PDF: catalogue, page tree, one page with `content`, a cross-reference table
    (or, with xref_stream, a PDF 1.5 cross-reference stream object) and the trailer."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
    ]
    out = b"%PDF-" + version + b"\n%\xe2\xe3\xcf\xd3\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    start = len(out)
    if xref_stream:
        rows = b"".join(b"\x01" + struct.pack(">I", o) + b"\x00" for o in [*offsets, start])
        out += (
            b"%d 0 obj\n<< /Type /XRef /Size %d /Root 1 0 R /W [1 4 1] /Index [1 %d] /Length %d >>\nstream\n"
            % (len(objects) + 1, len(objects) + 2, len(objects) + 1, len(rows))
            + rows
            + b"\nendstream\nendobj\n"
        )
    else:
        out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
        out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
        out += b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(objects) + 1)
    return out + b"startxref\n%d\n%%%%EOF" % start + after_eof


PDF = pdf()
PDF_XREF_STREAM = pdf(version=b"1.7", xref_stream=True)
# What the defect let through: a PDF header, then a web page (served inline, it ran as one).
PDF_THEN_HTML = b"%PDF-1.4\n<html><body><script>fetch('/auth/me')</script></body></html>\n"
# A whole, well-formed PDF carrying a page of HTML in a content stream: still markup a browser would run.
PDF_WITH_HTML_INSIDE = pdf(content=b"<!doctype html><script>alert(document.cookie)</script>")
# Two MPEG-1 Layer III frames, 128 kbit/s, 44.1 kHz: 144 * 128000 // 44100 = 417 bytes each.
MP3_FRAME = (b"\xff\xfb\x90\x64" + bytes(413)) * 2
MP3_ID3 = b"ID3\x04\x00\x00\x00\x00\x02\x01" + bytes(257) + MP3_FRAME  # a 257-byte tag, then the audio


def ftyp(major: bytes, *compatible: bytes) -> bytes:
    body = major + b"\0\0\0\0" + b"".join(compatible)
    return struct.pack(">I", 8 + len(body)) + b"ftyp" + body


def box(kind: bytes, *children: bytes) -> bytes:
    body = b"".join(children)
    return struct.pack(">I", 8 + len(body)) + kind + body


def mp4_with_tracks(
    *handlers: bytes, major: bytes = b"isom", compatible: tuple[bytes, ...] = (b"isom", b"mp42")
) -> bytes:
    traks = [box(b"trak", box(b"mdia", box(b"hdlr", bytes(8) + h + bytes(12)))) for h in handlers]
    return ftyp(major, *compatible) + box(b"moov", box(b"mvhd", bytes(100)), *traks) + box(b"mdat", bytes(16))


HEIC = ftyp(b"heic", b"mif1", b"heic") + box(b"meta", bytes(20))
HEIC_MIF1 = ftyp(b"mif1", b"mif1", b"heic") + box(b"meta", bytes(20))
AVIF = ftyp(b"avif", b"mif1", b"avif") + box(b"meta", bytes(20))
M4A = mp4_with_tracks(b"soun", major=b"M4A ")
M4B_WITH_CHAPTERS = mp4_with_tracks(b"soun", b"text", major=b"M4B ")
# Apple's .m4v video as iTunes and HandBrake write it: it lists M4A among its brands.
M4V = mp4_with_tracks(b"vide", b"soun", major=b"M4V ", compatible=(b"M4V ", b"M4A ", b"mp42", b"isom"))
MP4_AUDIO_ONLY = mp4_with_tracks(b"soun")
MP4_VIDEO = mp4_with_tracks(b"vide", b"soun")


def ogg(first_packet: bytes) -> bytes:
    header = b"OggS\x00\x02" + bytes(8) + b"\x01\0\0\0" + bytes(4) + bytes(4) + bytes([1, len(first_packet)])
    return header + first_packet


OGG_OPUS = ogg(b"OpusHead\x01\x02\x38\x01\x80\xbb\0\0\0\0\0")
OGG_VORBIS = ogg(b"\x01vorbis" + bytes(22))
OGG_THEORA = ogg(b"\x80theora" + bytes(34))


def _ebml(ident: bytes, body: bytes, *, unknown_size: bool = False) -> bytes:
    # An 8-byte size vint: marker 0x01, then 7 bytes of length (all ones: unknown, as live recorders write).
    size = b"\x01" + (b"\xff" * 7 if unknown_size else struct.pack(">Q", len(body))[1:])
    return ident + size + body


def webm(*track_types: int) -> bytes:
    header = _ebml(b"\x1a\x45\xdf\xa3", _ebml(b"\x42\x82", b"webm"))
    info = _ebml(b"\x15\x49\xa9\x66", _ebml(b"\x2a\xd7\xb1", b"\x0f\x42\x40"))
    entries = b"".join(
        _ebml(b"\xae", b"\xd7\x81" + bytes([n + 1]) + b"\x83\x81" + bytes([kind])) for n, kind in enumerate(track_types)
    )
    tracks = _ebml(b"\x16\x54\xae\x6b", entries)
    cluster = _ebml(b"\x1f\x43\xb6\x75", bytes(10), unknown_size=True)
    return header + _ebml(b"\x18\x53\x80\x67", info + tracks + cluster, unknown_size=True)


WEBM_AUDIO = webm(2)
WEBM_VIDEO = webm(1, 2)
