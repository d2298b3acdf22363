"""Attachments: the document describing some uploaded content."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import msgspec

Sha256 = Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the content, lowercase hex.")]


class AttachmentKind(str, Enum):
    image = "image"
    document = "document"
    audio = "audio"
    video = "video"


class Attachment(msgspec.Struct, kw_only=True):
    """Uploaded content. `media_type` is detected from the bytes, not taken from the upload's Content-Type."""

    sha256: Sha256
    size: int
    media_type: str
    kind: AttachmentKind
