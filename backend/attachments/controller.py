"""Attachments HTTP API: upload raw bytes (retry-safe), read them back, read their document."""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Controller, Response, get, post
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency, Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, Operation, Reference, RequestBody, Schema
from litestar.openapi.spec.enums import OpenAPIFormat, OpenAPIType
from litestar.params import FromPath, RawBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from api_schemas.accounts import Role
from api_schemas.attachments import Attachment, AttachmentKind
from backend.accounts.guards import requires_roles, roles
from backend.attachments import service
from backend.attachments.sniff import ACCEPTED
from backend.attachments.store import AttachmentStore, LocalDirectoryStore
from backend.deps import ActorDep, SettingsDep
from backend.openapi import problems

# Above the largest per-kind limit (audio and video, 25 MiB) so the per-kind check gives the precise answer.
MAX_BODY_BYTES = 26 * 1024 * 1024
READERS = (Role.admin, Role.coordinator, Role.manager, Role.shopper)


@dataclass
class _RawUploadOperation(Operation):
    """Documents the raw body, which Litestar leaves out of the schema for a `RawBody` parameter."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            required=True,
            description="The file's bytes as they are. Any Content-Type is accepted: the type is detected from "
            f"the bytes. Accepted: {', '.join(sorted(ACCEPTED))}.",
            content={
                "application/octet-stream": OpenAPIMediaType(
                    schema=Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)
                )
            },
        )


@dataclass
class _DownloadOperation(Operation):
    """Documents the media types the bytes are served as: the one detected at upload, one of ACCEPTED."""

    def __post_init__(self) -> None:
        ok = (self.responses or {}).get("200")
        if ok is not None and not isinstance(ok, Reference):
            ok.content = {
                media_type: OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY))
                for media_type in sorted(ACCEPTED)
            }


# Uploaded bytes are the uploader's, not ours: whatever a browser makes of them must not run as this
# site. So only images are shown inline; everything else downloads, and every response is sandboxed
# with nothing allowed to load (a PDF viewer or a mis-sniffed document gets no script, no origin).
_CSP = "sandbox; default-src 'none'"
_EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/heic": "heic",
    "application/pdf": "pdf",
    "audio/mpeg": "mp3",
    "audio/mp4": "m4a",
    "audio/ogg": "ogg",
    "audio/wav": "wav",
    "audio/webm": "webm",
    "video/mp4": "mp4",
    "video/quicktime": "mov",
    "video/webm": "webm",
}
_SERVED_HEADERS = [
    ResponseHeader(
        name="Content-Disposition",
        documentation_only=True,
        required=True,
        description="inline for images, attachment (a download) for everything else; the file is named by its sha256",
    ),
    ResponseHeader(
        name="Content-Security-Policy", documentation_only=True, required=True, description=f"always `{_CSP}`"
    ),
    ResponseHeader(
        name="X-Content-Type-Options", documentation_only=True, required=True, description="always `nosniff`"
    ),
]


def served_headers(document: Attachment) -> dict[str, str]:
    disposition = "inline" if document.kind == AttachmentKind.image else "attachment"
    filename = f"{document.sha256}.{_EXTENSIONS.get(document.media_type, 'bin')}"
    return {
        "Content-Disposition": f'{disposition}; filename="{filename}"',
        "Content-Security-Policy": _CSP,
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, max-age=31536000, immutable",
    }


def provide_attachment_store(settings: SettingsDep) -> AttachmentStore:
    return LocalDirectoryStore(settings.data_dir / "attachments")


class AttachmentController(Controller):
    path = "/attachments"
    tags = ["attachments"]
    guards = [requires_roles]
    dependencies = {"attachment_store": Provide(provide_attachment_store, sync_to_thread=False)}

    @post(
        "/",
        operation_id="UploadAttachment",
        opt=roles(*service.UPLOADERS),
        responses={
            **problems(413, 422),
            200: ResponseSpec(
                data_container=Attachment, description="These bytes were uploaded before: the stored document."
            ),
        },
        request_max_body_size=MAX_BODY_BYTES,
        status_code=HTTP_201_CREATED,
        operation_class=_RawUploadOperation,
    )
    async def upload(
        self, actor: ActorDep, settings: SettingsDep, attachment_store: NamedDependency[AttachmentStore], body: RawBody
    ) -> Response[Attachment]:
        """Store a photo, receipt or recording: send the file's bytes as the body. 201 the first time; 200 with the
        same document when the same bytes are uploaded again (safe to retry). Answer a photo or file question with
        `{"attachment": "<sha256>"}`, the `sha256` returned here.

        Problems: 413 `attachment.too_large` (over its kind's limit); 422 `attachment.empty` or
        `attachment.unsupported_type` (the content is not an accepted type).
        """
        document, created = await service.upload(actor, attachment_store, settings, body)
        return Response(document, status_code=HTTP_201_CREATED if created else HTTP_200_OK)

    @get(
        "/{sha256:str}",
        operation_id="GetAttachment",
        opt=roles(*READERS),
        responses=problems(404),
        media_type="application/octet-stream",
        response_headers=_SERVED_HEADERS,
        operation_class=_DownloadOperation,
    )
    async def get_attachment(
        self, actor: ActorDep, attachment_store: NamedDependency[AttachmentStore], sha256: FromPath[str]
    ) -> Response[bytes]:
        """The bytes, with the detected media type: images inline, anything else as a download.
        Shoppers read their own uploads; managers those in their organisation's approved reports.

        Problems: 404 `attachment.not_found`.
        """
        document, content = await service.get_content(actor, attachment_store, sha256)
        return Response(content, media_type=document.media_type, headers=served_headers(document))

    @get("/{sha256:str}/meta", operation_id="GetAttachmentMeta", opt=roles(*READERS), responses=problems(404))
    async def get_attachment_meta(self, actor: ActorDep, sha256: FromPath[str]) -> Attachment:
        """An attachment's document: sha256, size, and the media type and kind detected from its bytes.

        Problems: 404 `attachment.not_found`.
        """
        return await service.get_meta(actor, sha256)
