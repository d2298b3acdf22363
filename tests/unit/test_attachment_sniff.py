"""The media type of an upload comes from its bytes: each accepted type, and look-alikes that are refused."""

from __future__ import annotations

import pytest

from backend.attachments.sniff import ACCEPTED, sniff
from tests import attachment_samples as s

ACCEPTED_SAMPLES = [
    ("png", s.png(), "image/png", "image"),
    ("jpeg", s.JPEG, "image/jpeg", "image"),
    ("webp", s.WEBP, "image/webp", "image"),
    ("heic", s.HEIC, "image/heic", "image"),
    ("heic via mif1", s.HEIC_MIF1, "image/heic", "image"),
    ("pdf", s.PDF, "application/pdf", "document"),
    ("pdf 1.7 with a cross-reference stream", s.PDF_XREF_STREAM, "application/pdf", "document"),
    ("pdf with an incremental update's bytes after", s.pdf(after_eof=b"\r\n"), "application/pdf", "document"),
    ("mp3 with ID3", s.MP3_ID3, "audio/mpeg", "audio"),
    ("mp3 frame", s.MP3_FRAME, "audio/mpeg", "audio"),
    ("m4a", s.M4A, "audio/mp4", "audio"),
    ("m4b audiobook with chapters", s.M4B_WITH_CHAPTERS, "audio/mp4", "audio"),
    ("mp4 with only a sound track", s.MP4_AUDIO_ONLY, "audio/mp4", "audio"),
    ("ogg opus", s.OGG_OPUS, "audio/ogg", "audio"),
    ("ogg vorbis", s.OGG_VORBIS, "audio/ogg", "audio"),
    ("wav", s.WAV, "audio/wav", "audio"),
    ("webm audio", s.WEBM_AUDIO, "audio/webm", "audio"),
    ("mp4 with video and sound", s.MP4_VIDEO, "video/mp4", "video"),
    ("m4v video listing m4a", s.M4V, "video/mp4", "video"),
    (
        "quicktime from a phone",
        s.mp4_with_tracks(b"vide", b"soun", b"meta", major=b"qt  ", compatible=(b"qt  ",)),
        "video/quicktime",
        "video",
    ),
    ("webm with video", s.WEBM_VIDEO, "video/webm", "video"),
]


@pytest.mark.parametrize(("name", "data", "media_type", "kind"), ACCEPTED_SAMPLES, ids=[c[0] for c in ACCEPTED_SAMPLES])
def test_accepted_types_are_recognised(name, data, media_type, kind):
    found = sniff(data)
    assert found is not None, name
    assert (found.media_type, found.kind) == (media_type, kind)


def test_every_accepted_type_has_a_sample():
    assert {c[2] for c in ACCEPTED_SAMPLES} == set(ACCEPTED)


REFUSED = [
    ("empty", b""),
    ("text", b"hello, this is a text file renamed to photo.jpg\n"),
    ("html", b"<!doctype html><html></html>"),
    ("jpeg cut after two bytes", s.JPEG[:2]),
    ("jpeg start of image only", s.JPEG[:3]),
    ("jpeg cut inside its first segment", s.JPEG[:12]),
    ("jpeg soi then no marker", b"\xff\xd8\xff\x00" + bytes(20)),
    ("m4a brand without a sound track", s.ftyp(b"M4A ", b"M4A ") + s.box(b"mdat", bytes(16))),
    ("m4a brand with a video track", s.mp4_with_tracks(b"soun", b"vide", major=b"M4A ")),
    ("generic mp4 with a chapter track", s.mp4_with_tracks(b"soun", b"text")),
    ("png signature only", s.png()[:8]),
    ("riff without a form type", b"RIFF\x10\0\0\0"),
    ("riff avi", b"RIFF\x10\0\0\0AVI LIST"),
    ("ftyp truncated", s.HEIC[:10]),
    ("ftyp box larger than the data", s.M4A[:12]),
    ("avif", s.AVIF),
    ("mp4 with video and an unknown track", s.mp4_with_tracks(b"vide", b"zzzz")),
    ("mp4 without tracks", s.ftyp(b"isom", b"mp42") + s.box(b"mdat", bytes(8))),
    ("ogg theora video", s.OGG_THEORA),
    ("ogg page header only", s.OGG_OPUS[:20]),
    ("webm with video and an unknown track", s.webm(1, 17)),
    ("webm cut inside the header", s.WEBM_AUDIO[:6]),
    ("webm without tracks", s.WEBM_AUDIO[:40]),
    ("mpeg sync with reserved version", b"\xff\xe8\x90\x64" + bytes(8)),
    ("mpeg sync with bad bitrate", b"\xff\xfb\xf0\x64" + bytes(8)),
    ("adts aac (layer 0)", b"\xff\xf1\x50\x80" + bytes(8)),
    ("id3 cut short", b"ID3\x04"),
    ("zeros", bytes(64)),
    ("zip", b"PK\x03\x04" + bytes(30)),
    ("gif", b"GIF89a" + bytes(20)),
    # Text that happens to begin like audio: UTF-16's byte-order mark passes an MPEG frame sync.
    ("utf-16 text", b"\xff\xfe" + "Hello, notes from the visit".encode("utf-16-le")),
    ("text starting with ID3", b"ID3 notes: the shop was closed at 5pm\n"),
    ("id3 tag with nothing after it", b"ID3\x04\x00\x00\x00\x00\x00\x00"),
    ("one mp3 frame header and zeros", b"\xff\xfb\x90\x64" + bytes(500)),
    ("mp3 cut inside its second frame", s.MP3_FRAME[:-1]),
    # Truncated headers.
    ("png cut after the IHDR tag", s.png()[:16]),
    ("png with a bad IHDR crc", s.png()[:29] + b"\0\0\0\0" + s.png()[33:]),
    ("webp header only", s.WEBP[:12]),
    ("webp cut inside its first chunk", s.WEBP[:25]),
    ("wav header only", s.WAV[:12]),
    ("wav without fmt", b"RIFF" + b"\x1c\0\0\0" + b"WAVE" + b"data\x04\0\0\0" + bytes(4)),
    ("heic ftyp only", s.ftyp(b"heic", b"mif1", b"heic")),
    # Video under an image or audio label.
    ("video with a heic major brand", s.mp4_with_tracks(b"vide", b"soun", major=b"heic")),
    ("ogg vorbis then theora", s.OGG_VORBIS + s.OGG_THEORA),
    # PDF: the header alone is not enough.
    ("pdf header then a web page", s.PDF_THEN_HTML),
    ("whole pdf carrying html", s.PDF_WITH_HTML_INSIDE),
    ("pdf header, objects, no startxref", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"),
    ("pdf without %%EOF", s.PDF.rstrip().removesuffix(b"%%EOF")),
    ("pdf whose startxref points at nothing", s.PDF.replace(b"startxref\n299", b"startxref\n12")),
    ("pdf whose startxref is past the end", s.PDF.replace(b"startxref\n299", b"startxref\n99999")),
    ("pdf with 2 kB after %%EOF", s.PDF + b" " * 2048),
    ("pdf with an unknown version", s.PDF.replace(b"%PDF-1.4", b"%PDF-9.9")),
    ("html before a pdf", b"<html>" + s.PDF),
    ("pdf then an svg", s.PDF[:-1] + b"<svg onload=alert(1)>" + s.PDF[-1:]),
]


@pytest.mark.parametrize(("name", "data"), REFUSED, ids=[c[0] for c in REFUSED])
def test_other_or_truncated_bytes_are_refused(name, data):
    assert sniff(data) is None, name


@pytest.mark.parametrize(
    "data",
    [
        s.png(),
        s.JPEG,
        s.PDF,
        s.PDF_XREF_STREAM,
        s.WEBM_AUDIO,
        s.MP4_AUDIO_ONLY,
        s.OGG_OPUS,
        s.MP3_ID3,
        s.WAV,
        s.WEBP,
        s.HEIC,
        s.OGG_VORBIS + s.OGG_THEORA,
    ],
)
def test_no_prefix_of_a_file_crashes_the_sniffer(data):
    for end in range(len(data) + 1):
        sniff(data[:end])  # refused or recognised, never an exception
