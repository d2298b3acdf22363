"""Which accepted media type some bytes are, from their magic numbers alone (the declared Content-Type is never trusted).

Pure: imports neither Litestar nor Piccolo. Recognised, by kind:

=========  ======================================================================================
image      image/jpeg (FF D8 FF and a whole first segment), image/png (signature + a whole IHDR chunk
           with its CRC), image/webp (RIFF…WEBP and a whole first VP8/VP8L/VP8X chunk),
           image/heic (ISO-BMFF ``ftyp`` with a HEIF brand: heic, heix, heim, heis, hevc, hevx, or
           mif1/msf1 listing one of them; then a ``meta`` box or image-sequence tracks, and no
           video or sound track)
document   application/pdf (a ``%PDF-1.x``/``%PDF-2.0`` header line; ``startxref`` and ``%%EOF`` in the
           last 1,024 bytes, the offset pointing at an ``xref`` table or a cross-reference stream
           object; and nothing in the file that looks like HTML: a PDF that is also a web page
           would run as one wherever a browser is led to sniff it)
audio      audio/mpeg (two consecutive valid MPEG-audio frames, after an ID3v2 tag if there is one),
           audio/mp4 (``ftyp`` with an
           M4A/M4B or generic MP4 brand, a sound track and no other, except chapter text tracks under
           M4A/M4B: Apple's .m4v video lists M4A too), audio/ogg (``OggS`` whose every beginning-of-
           stream packet is Vorbis, Opus, FLAC or Speex), audio/wav (RIFF…WAVE with a whole ``fmt ``
           chunk), audio/webm (EBML whose tracks are all audio, as browsers' MediaRecorder writes)
video      video/mp4 (``ftyp`` with a generic MP4 or M4V brand, not an M4A/M4B or HEIF one, a video
           track and otherwise only sound, text, timecode, hint or metadata tracks), video/quicktime
           (the same under the ``qt`` brand, as iPhones record), video/webm (EBML with a video track
           and otherwise only audio tracks). Only a file question with accept="video" takes one
           (XLSForm's video type).
=========  ======================================================================================

Anything else — including Ogg Theora video, truncated headers and empty input — is not accepted
(``sniff`` returns None).
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final, Literal

Kind = Literal["image", "document", "audio", "video"]


@dataclass(frozen=True, slots=True)
class Sniffed:
    media_type: str
    kind: Kind


ACCEPTED: Final[dict[str, Kind]] = {
    "image/jpeg": "image",
    "image/png": "image",
    "image/webp": "image",
    "image/heic": "image",
    "application/pdf": "document",
    "audio/mpeg": "audio",
    "audio/mp4": "audio",
    "audio/ogg": "audio",
    "audio/wav": "audio",
    "audio/webm": "audio",
    "video/mp4": "video",
    "video/quicktime": "video",
    "video/webm": "video",
}

_HEIF_BRANDS: Final = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"})
_HEIF_STRUCTURAL: Final = frozenset({b"mif1", b"msf1"})
_M4A_BRANDS: Final = frozenset({b"M4A ", b"M4B "})
# Generic MP4 brands: audio or video, told apart by the tracks' handler types.
_MP4_GENERIC: Final = frozenset({b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"dash"})
_VIDEO_BRANDS: Final = frozenset({b"M4V ", b"qt  "})
# A video track, and beside it only what recorders add: sound, subtitles/chapters, timecode, hints, metadata.
_VIDEO_TRACKS: Final = frozenset({b"vide", b"soun", b"text", b"sbtl", b"tmcd", b"hint", b"meta"})
_OGG_AUDIO_CODECS: Final = (b"\x01vorbis", b"OpusHead", b"\x7fFLAC", b"Speex   ")


def sniff(data: bytes) -> Sniffed | None:
    """The accepted media type of `data`, or None when it is not one we accept."""
    media_type = _media_type(data)
    return Sniffed(media_type, ACCEPTED[media_type]) if media_type else None


def _media_type(data: bytes) -> str | None:
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg" if _jpeg_first_segment(data) else None
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png" if _png_header(data) else None
    if data[:4] == b"RIFF" and len(data) >= 12:
        return _riff(data)
    if data[4:8] == b"ftyp":
        return _iso_bmff(data)
    if data.startswith(b"%PDF-"):
        return "application/pdf" if _pdf_structure(data) else None
    if data.startswith(b"ID3"):
        return "audio/mpeg" if _mpeg_frames(data, _id3_end(data)) else None
    if _mpeg_frames(data, 0):
        return "audio/mpeg"
    if data.startswith(b"OggS"):
        return "audio/ogg" if _ogg_audio(data) else None
    if data.startswith(b"\x1a\x45\xdf\xa3"):
        tracks = _ebml_tracks(data)
        if tracks == {2}:
            return "audio/webm"
        return "video/webm" if 1 in tracks and tracks <= {1, 2} else None
    return None


_PDF_HEADER: Final = re.compile(rb"%PDF-(?:1\.[0-7]|2\.0)[\r\n]")
# The trailer: startxref, its byte offset, then %%EOF, all in the last 1,024 bytes (as readers look for it).
_PDF_TAIL: Final = re.compile(rb"startxref[\r\n\t ]+(\d{1,10})[\r\n\t ]+%%EOF[\r\n\t ]*$")
_PDF_XREF: Final = re.compile(rb"[\r\n\t ]*(?:xref|\d{1,10}[\r\n\t ]+\d{1,5}[\r\n\t ]+obj)")
# Markup a browser would act on: "<" and an HTML tag name, then white space, ">" or "/". Random bytes
# (compressed streams) match that by chance about once in a thousand 10 MB files.
_HTML: Final = re.compile(
    rb"<(?:!doctype|html|head|body|script|iframe|frame|frameset|object|embed|meta|link|style|form|base|svg|math"
    rb"|template|img)[\s>/]",
    re.IGNORECASE,
)


def _pdf_structure(data: bytes) -> bool:
    """A header line, the trailer's startxref/%%EOF at the end, its offset at a cross-reference section,
    and no HTML anywhere. The last section an incremental update appended is the one checked."""
    if not _PDF_HEADER.match(data):
        return False
    tail = _PDF_TAIL.search(data[-1024:])
    if tail is None:
        return False
    offset = int(tail.group(1))
    if not 0 < offset < len(data) or not _PDF_XREF.match(data, offset):
        return False
    return _HTML.search(data) is None


def _jpeg_first_segment(data: bytes) -> bool:
    """SOI, then a whole marker segment (APPn, DQT, SOFn, DHT, COM, …: a marker with a length)."""
    if len(data) < 6:
        return False
    marker = data[3]
    if marker < 0xC0 or marker == 0xFF or 0xD0 <= marker <= 0xD9:  # RSTn, SOI, EOI have no length
        return False
    length = int.from_bytes(data[4:6], "big")
    return length >= 2 and len(data) >= 4 + length


def _png_header(data: bytes) -> bool:
    """The signature, then a whole IHDR chunk (13 bytes of data) whose CRC is right."""
    return (
        len(data) >= 33
        and data[8:16] == b"\x00\x00\x00\x0dIHDR"
        and zlib.crc32(data[12:29]) == int.from_bytes(data[29:33], "big")
    )


def _riff(data: bytes) -> str | None:
    """WebP with a whole first VP8/VP8L/VP8X chunk; WAVE with a whole fmt chunk (after any others)."""
    form = data[8:12]
    for chunk, start, end in _riff_chunks(data):
        if form == b"WEBP":
            return "image/webp" if chunk in (b"VP8 ", b"VP8L", b"VP8X") else None
        if form == b"WAVE" and chunk == b"fmt ":
            return "audio/wav" if end - start >= 16 else None
    return None


def _riff_chunks(data: bytes) -> Iterator[tuple[bytes, int, int]]:
    """(id, data start, data end) of each whole chunk after the RIFF header; stops at a partial one."""
    pos = 12
    while pos + 8 <= len(data):
        chunk, size = data[pos : pos + 4], int.from_bytes(data[pos + 4 : pos + 8], "little")
        if pos + 8 + size > len(data):
            return
        yield chunk, pos + 8, pos + 8 + size
        pos += 8 + size + (size & 1)  # chunks are padded to an even length


def _id3_end(data: bytes) -> int:
    """Where the audio starts after an ID3v2 tag (v2.2–2.4, sizes as 7-bit bytes, optional footer); -1 if malformed."""
    if len(data) < 10 or data[3] not in (2, 3, 4) or data[4] == 0xFF or any(b & 0x80 for b in data[6:10]):
        return -1
    size = (data[6] << 21) | (data[7] << 14) | (data[8] << 7) | data[9]
    return 10 + size + (10 if data[3] == 4 and data[5] & 0x10 else 0)


_MPEG_BITRATES: Final = {  # kbit/s by (MPEG-1?, layer) for bitrate indexes 1-14
    (True, 1): (32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 3): (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 1): (32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (False, 3): (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_MPEG_RATES: Final = {0b11: (44100, 48000, 32000), 0b10: (22050, 24000, 16000), 0b00: (11025, 12000, 8000)}


def _mpeg_frame_length(data: bytes, pos: int) -> int | None:
    """The length of the MPEG-1/2/2.5 Layer I–III frame whose header is at pos, or None when there is no
    valid header there (a reserved or free-format field; JPEG's FF D8 and UTF-16's FF FE fail here)."""
    if pos < 0 or pos + 4 > len(data) or data[pos] != 0xFF or data[pos + 1] & 0xE0 != 0xE0:
        return None
    version, layer_bits = (data[pos + 1] >> 3) & 0b11, (data[pos + 1] >> 1) & 0b11
    bitrate_index, rate_index, padding = data[pos + 2] >> 4, (data[pos + 2] >> 2) & 0b11, (data[pos + 2] >> 1) & 1
    if version == 0b01 or layer_bits == 0 or bitrate_index in (0, 0b1111) or rate_index == 0b11:
        return None
    layer, mpeg1 = 4 - layer_bits, version == 0b11
    bitrate = _MPEG_BITRATES[(mpeg1, layer)][bitrate_index - 1] * 1000
    rate = _MPEG_RATES[version][rate_index]
    if layer == 1:
        return (12 * bitrate // rate + padding) * 4
    return (144 if mpeg1 or layer == 2 else 72) * bitrate // rate + padding


def _mpeg_frames(data: bytes, pos: int) -> bool:
    """Two whole consecutive frames from pos: one valid-looking header alone is too easy to hit by chance."""
    first = _mpeg_frame_length(data, pos)
    if first is None:
        return False
    second = _mpeg_frame_length(data, pos + first)
    return second is not None and pos + first + second <= len(data)


# ---------------------------------------------------------------- ISO base media (MP4, M4A, HEIF)


def _boxes(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of each box in data[start:end]; stops at a malformed one."""
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            if pos + 16 > end:
                return
            size = struct.unpack_from(">Q", data, pos + 8)[0]
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            return
        yield kind, pos + header, pos + size
        pos += size


def _iso_bmff(data: bytes) -> str | None:
    size = struct.unpack_from(">I", data, 0)[0]
    if size < 16 or size > len(data):
        return None
    brands = {data[8:12]} | {data[i : i + 4] for i in range(16, size - 3, 4)}
    if data[8:12] in _HEIF_BRANDS or (data[8:12] in _HEIF_STRUCTURAL and brands & _HEIF_BRANDS):
        # Still images keep their items in a meta box; image sequences have pict tracks. A video
        # (vide, soun) under a HEIF brand is still video.
        handlers = _mp4_handlers(data)
        has_meta = any(kind == b"meta" for kind, _, _ in _boxes(data, 0, len(data)))
        return "image/heic" if (has_meta or handlers) and handlers <= {b"pict"} else None
    if data[8:12] not in _M4A_BRANDS and brands & (_MP4_GENERIC | _VIDEO_BRANDS):
        handlers = _mp4_handlers(data)
        if b"vide" in handlers and handlers <= _VIDEO_TRACKS:
            return "video/quicktime" if data[8:12] == b"qt  " else "video/mp4"
    if not brands & (_M4A_BRANDS | _MP4_GENERIC):
        return None
    handlers = _mp4_handlers(data)
    allowed = {b"soun", b"text"} if brands & _M4A_BRANDS else {b"soun"}  # audiobooks carry chapter tracks
    return "audio/mp4" if b"soun" in handlers and handlers <= allowed else None


def _mp4_handlers(data: bytes) -> set[bytes]:
    """The handler type (soun, vide, …) of every track: moov → trak → mdia → hdlr."""
    handlers: set[bytes] = set()
    for kind, start, end in _boxes(data, 0, len(data)):
        if kind != b"moov":
            continue
        for trak, t_start, t_end in _boxes(data, start, end):
            if trak != b"trak":
                continue
            found = None
            for mdia, m_start, m_end in _boxes(data, t_start, t_end):
                if mdia != b"mdia":
                    continue
                for hdlr, h_start, h_end in _boxes(data, m_start, m_end):
                    if hdlr == b"hdlr" and h_end - h_start >= 12:
                        found = data[h_start + 8 : h_start + 12]  # version/flags, pre_defined, handler_type
            handlers.add(found or b"????")
    return handlers


# ---------------------------------------------------------------- Ogg


def _ogg_audio(data: bytes) -> bool:
    """Every stream's first packet names an audio codec. The beginning-of-stream pages of all the
    streams of a file come first (RFC 3533); a Theora video stream among them is refused."""
    pos, streams = 0, 0
    while pos + 27 <= len(data) and data[pos : pos + 4] == b"OggS" and data[pos + 5] & 0x02:
        segments = data[pos + 26]
        body = pos + 27 + segments
        if body > len(data):
            return False
        if not any(data[body : body + len(codec)] == codec for codec in _OGG_AUDIO_CODECS):
            return False
        streams += 1
        pos = body + sum(data[pos + 27 : body])
    return streams > 0


# ---------------------------------------------------------------- EBML (WebM, Matroska)

_SEGMENT, _TRACKS, _TRACK_ENTRY, _TRACK_TYPE, _CLUSTER = 0x18538067, 0x1654AE6B, 0xAE, 0x83, 0x1F43B675


def _vint(data: bytes, pos: int, *, keep_marker: bool) -> tuple[int, int, bool] | None:
    """(value, next position, is the 'unknown size' value) of the EBML variable-length integer at pos."""
    if pos >= len(data) or data[pos] == 0:
        return None
    length = 8 - data[pos].bit_length() + 1
    if pos + length > len(data):
        return None
    value = int.from_bytes(data[pos : pos + length], "big")
    if not keep_marker:
        value &= (1 << (7 * length)) - 1
    unknown = not keep_marker and value == (1 << (7 * length)) - 1
    return value, pos + length, unknown


def _element(data: bytes, pos: int) -> tuple[int, int, int | None] | None:
    """(id, payload start, payload end or None when the size is unknown) of the element at pos."""
    ident = _vint(data, pos, keep_marker=True)
    if ident is None:
        return None
    size = _vint(data, ident[1], keep_marker=False)
    if size is None:
        return None
    return ident[0], size[1], None if size[2] else size[1] + size[0]


def _ebml_tracks(data: bytes) -> set[int]:
    """The TrackType of every track (1 video, 2 audio, …); empty when the tracks cannot be found."""
    header = _element(data, 0)
    if header is None or header[2] is None or header[2] > len(data):
        return set()
    segment = _element(data, header[2])
    if segment is None or segment[0] != _SEGMENT:
        return set()
    pos, end = segment[1], min(segment[2] or len(data), len(data))
    while pos < end:
        child = _element(data, pos)
        if child is None:
            return set()
        ident, start, stop = child
        if ident == _CLUSTER or stop is None:
            return set()  # tracks come before the first cluster; an unknown-size element cannot be skipped
        if ident == _TRACKS:
            return _track_types(data, start, min(stop, len(data)))
        pos = stop
    return set()


def _track_types(data: bytes, start: int, end: int) -> set[int]:
    types: set[int] = set()
    pos = start
    while pos < end:
        entry = _element(data, pos)
        if entry is None:
            return set()
        ident, e_start, e_stop = entry
        if e_stop is None:
            return set()
        if ident == _TRACK_ENTRY:
            track_type = 0
            inner = e_start
            while inner < min(e_stop, end):
                field = _element(data, inner)
                if field is None:
                    return set()
                f_ident, f_start, f_stop = field
                if f_stop is None:
                    return set()
                if f_ident == _TRACK_TYPE:
                    track_type = int.from_bytes(data[f_start:f_stop], "big")
                inner = f_stop
            types.add(track_type)
        pos = e_stop
    return types
