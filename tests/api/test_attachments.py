"""Attachments: retry-safe uploads by content hash, type and size limits, who may read what, and report answers."""

from __future__ import annotations

import errno
import hashlib
import uuid
from pathlib import Path

import httpx
import msgspec
import pytest

from api_schemas.forms import FormDefinition
from backend.attachments import store as store_module
from backend.attachments import tables as t
from backend.attachments.controller import MAX_BODY_BYTES
from backend.attachments.service import check_attachment_answers
from backend.attachments.store import LocalDirectoryStore
from backend.ids import uuid7
from backend.settings import Settings
from tests import attachment_samples as samples
from tests.builders import make_task, publish_form, report_body
from tests.conftest import with_replaced
from tests.world import World, build_world

IMAGE_LIMIT = 4096

EVIDENCE_FORM = msgspec.convert(
    {
        "title": {"en": "Evidence"},
        "sections": [
            {
                "key": "evidence",
                "items": [
                    {"type": "photo", "key": "storefront"},
                    {"type": "file", "key": "receipt"},
                    {"type": "file", "key": "recording", "accept": "audio"},
                    {"type": "text", "key": "remarks"},
                ],
            }
        ],
    },
    FormDefinition,
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Small per-kind limits, so "too large" needs only a few kilobytes."""
    return with_replaced(
        settings,
        attachment_max_image_bytes=IMAGE_LIMIT,
        attachment_max_document_bytes=IMAGE_LIMIT,
        attachment_max_audio_bytes=2 * IMAGE_LIMIT,
    )


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _stored_files(settings: Settings) -> list[Path]:
    root = settings.data_dir / "attachments"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


async def _post(w: World, who: str, data: bytes, content_type: str = "application/octet-stream") -> httpx.Response:
    return await w.client.post("/attachments", content=data, headers={**w.as_(who), "Content-Type": content_type})


async def _upload(
    w: World, who: str, data: bytes, status: int = 201, content_type: str = "application/octet-stream"
) -> dict:
    response = await _post(w, who, data, content_type)
    assert response.status_code == status, response.text
    return response.json()


async def test_upload_is_retry_safe_and_stored_once(client, settings):
    w = await build_world(client)
    png = samples.png()
    first = await _upload(w, "shopper", png, 201)
    assert first == {"sha256": _sha(png), "size": len(png), "media_type": "image/png", "kind": "image"}
    again = await _upload(w, "shopper", png, 200, content_type="image/jpeg")  # the declared type is ignored
    assert again == first
    assert await t.Attachment.count().where(t.Attachment.sha256 == _sha(png)) == 1
    files = _stored_files(settings)
    assert [p.name for p in files] == [_sha(png)]
    assert files[0].read_bytes() == png
    assert files[0].relative_to(settings.data_dir / "attachments").parts[:2] == (_sha(png)[:2], _sha(png)[2:4])

    # Someone else uploading the same bytes gets their own upload (201), still one file.
    assert await _upload(w, "other_shopper", png, 201) == first
    assert len(_stored_files(settings)) == 1
    assert await w.ok("coordinator", "GET", f"/attachments/{_sha(png)}/meta") == first


async def test_bytes_that_are_not_an_accepted_type_are_refused_and_not_stored(client, settings):
    w = await build_world(client)
    text = b"Just some notes, renamed to photo.jpg by the phone.\n"
    response = await _post(w, "shopper", text, "image/jpeg")
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "attachment.unsupported_type"
    assert "image/jpeg" in problem["detail"] and "application/pdf" in problem["detail"]
    theora = await _post(w, "shopper", samples.OGG_THEORA)  # video in an audio container
    assert theora.json()["code"] == "attachment.unsupported_type"
    assert await t.Attachment.count() == 0
    assert _stored_files(settings) == []

    empty = await _post(w, "shopper", b"")
    assert empty.status_code == 422 and empty.json()["code"] == "attachment.empty"
    assert await t.Attachment.count() == 0

    # Video is its own kind now (XLSForm's video question: a file question with accept="video").
    for clip, media_type in ((samples.MP4_VIDEO, "video/mp4"), (samples.WEBM_VIDEO, "video/webm")):
        stored = await _post(w, "shopper", clip)
        assert stored.status_code == 201, stored.text
        assert (stored.json()["kind"], stored.json()["media_type"]) == ("video", media_type)


async def test_size_limits(client, settings):
    w = await build_world(client)
    big_png = samples.png(width=IMAGE_LIMIT, height=1)  # a 4 KiB row of pixels compresses, so pad the file
    big_png += bytes(IMAGE_LIMIT + 1 - len(big_png)) if len(big_png) <= IMAGE_LIMIT else b""
    response = await _post(w, "shopper", big_png)
    assert response.status_code == 413 and response.json()["code"] == "attachment.too_large"
    assert str(IMAGE_LIMIT) in response.json()["detail"]
    # Audio has its own, larger limit: the same size as audio is fine.
    audio = samples.MP3_FRAME + bytes(IMAGE_LIMIT + 1 - len(samples.MP3_FRAME))
    assert (await _upload(w, "shopper", audio, 201))["kind"] == "audio"

    huge = samples.JPEG + bytes(MAX_BODY_BYTES + 1 - len(samples.JPEG))
    response = await _post(w, "shopper", huge)
    assert response.status_code == 413 and response.json()["code"] == "request.too_large"
    assert response.json()["errors"] == [
        {"field": "body", "reason": f"larger than the {MAX_BODY_BYTES} bytes this route accepts"}
    ]
    assert await t.Attachment.count() == 1 and len(_stored_files(settings)) == 1


async def test_who_may_read_an_attachment(client):
    w = await build_world(client)
    jpeg = samples.JPEG
    sha = (await _upload(w, "shopper", jpeg))["sha256"]

    mine = await w.call("shopper", "GET", f"/attachments/{sha}")
    assert mine.status_code == 200 and mine.content == jpeg
    assert mine.headers["content-type"] == "image/jpeg"
    assert mine.headers["x-content-type-options"] == "nosniff"
    for who in ("coordinator", "admin"):
        response = await w.call(who, "GET", f"/attachments/{sha}")
        assert response.status_code == 200 and response.content == jpeg
    for who in ("other_shopper", "manager"):
        for url in (f"/attachments/{sha}", f"/attachments/{sha}/meta"):
            response = await w.call(who, "GET", url)
            assert response.status_code == 404 and response.json()["code"] == "attachment.not_found", (who, url)
    for url in ("/attachments/" + "0" * 64, "/attachments/not-a-hash", f"/attachments/{sha.upper()}"):
        assert (await w.call("coordinator", "GET", url)).status_code == 404
    response = await _post(w, "manager", jpeg)
    assert response.status_code == 403


async def test_manager_reads_attachments_of_their_organisations_approved_reports(client):
    w = await build_world(client)
    png = samples.png(seed=7)
    sha = (await _upload(w, "shopper", png))["sha256"]
    task = await make_task(w, await publish_form(w), w.own_location_id)
    report = await w.ok("shopper", "POST", "/reports", json=report_body(task), status=201)
    # The links a submission stores (its own answers name no attachment; these stand in).
    await t.ReportAttachment.insert(
        t.ReportAttachment(id=uuid7(), report_id=uuid.UUID(report["id"]), question_key="storefront", sha256=sha)
    )

    assert (await w.call("manager", "GET", f"/attachments/{sha}")).status_code == 404  # not approved yet
    await w.ok("coordinator", "POST", f"/reports/{report['id']}/approve", status=200)
    response = await w.call("manager", "GET", f"/attachments/{sha}")
    assert response.status_code == 200 and response.content == png
    assert (await w.ok("manager", "GET", f"/attachments/{sha}/meta"))["media_type"] == "image/png"
    assert (await w.call("other_manager", "GET", f"/attachments/{sha}")).status_code == 404

    # An edit replaces the links (the writer drops the earlier ones): the photo is no longer in the report.
    await t.ReportAttachment.delete().where(t.ReportAttachment.report_id == uuid.UUID(report["id"]))
    assert (await w.call("manager", "GET", f"/attachments/{sha}")).status_code == 404


async def test_check_attachment_answers_gives_each_reason(client):
    w = await build_world(client)
    shopper = uuid.UUID(w.users["shopper"]["id"])
    mine_image = (await _upload(w, "shopper", samples.png(seed=1)))["sha256"]
    mine_pdf = (await _upload(w, "shopper", samples.PDF))["sha256"]
    mine_audio = (await _upload(w, "shopper", samples.OGG_OPUS))["sha256"]
    theirs = (await _upload(w, "other_shopper", samples.png(seed=2)))["sha256"]
    never = "ab" * 32

    fine = {
        "storefront": {"attachment": mine_image},
        "receipt": {"attachment": mine_pdf},
        "recording": {"attachment": mine_audio},
        "remarks": "ok",
    }
    assert await check_attachment_answers(EVIDENCE_FORM, fine, shopper) == []
    # A file question without accept="audio" takes images, documents and audio alike.
    for sha in (mine_image, mine_audio):
        assert await check_attachment_answers(EVIDENCE_FORM, {**fine, "receipt": {"attachment": sha}}, shopper) == []

    problems = await check_attachment_answers(
        EVIDENCE_FORM,
        {
            "storefront": {"attachment": never},
            "receipt": {"attachment": theirs},
            "recording": {"attachment": mine_image},
        },
        shopper,
    )
    assert [(key, reason.split(":")[0]) for key, reason in problems] == [
        ("storefront", "attachment.missing"),
        ("receipt", "attachment.missing"),
        ("recording", "attachment.wrong_kind"),
    ]
    problems = await check_attachment_answers(EVIDENCE_FORM, {"storefront": {"attachment": mine_pdf}}, shopper)
    assert [(key, reason.split(":")[0]) for key, reason in problems] == [("storefront", "attachment.wrong_kind")]
    # Malformed and N/A answers are check_answers' business, not this check's.
    assert (
        await check_attachment_answers(
            EVIDENCE_FORM, {"storefront": {"na": True}, "receipt": "x", "recording": {"attachment": "nope"}}, shopper
        )
        == []
    )


async def test_store_writes_durably_and_idempotently(tmp_path):
    store = LocalDirectoryStore(tmp_path / "store")
    data = samples.PDF
    sha = _sha(data)
    assert not await store.exists(sha)
    await store.put(sha, data)
    await store.put(sha, data)
    assert await store.exists(sha) and await store.get(sha) == data and await store.size(sha) == len(data)
    everything = [p for p in (tmp_path / "store").rglob("*") if p.is_file()]
    assert everything == [tmp_path / "store" / sha[:2] / sha[2:4] / sha]  # no temporary file left behind
    with pytest.raises(ValueError):
        store.path("../../etc/passwd")


def _synced(monkeypatch: pytest.MonkeyPatch, fail: bool = False) -> list[Path]:
    calls: list[Path] = []

    def fsync(path: Path) -> None:
        calls.append(Path(path))
        if fail:
            raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(store_module, "_fsync", fsync)
    return calls


async def test_store_makes_every_new_directory_entry_durable(tmp_path, monkeypatch):
    root = tmp_path / "data" / "attachments"  # neither exists yet: the put creates the whole chain
    store = LocalDirectoryStore(root)
    sha = _sha(samples.PDF)
    synced = _synced(monkeypatch)
    await store.put(sha, samples.PDF)
    assert set(synced) >= {root / sha[:2] / sha[2:4], root / sha[:2], root, root.parent}


async def test_a_put_of_stored_bytes_makes_sure_they_are_durable(tmp_path, monkeypatch):
    """A retry after a put that failed once the file was in place (or a concurrent upload of the same
    bytes that has not finished) must not be answered before the file is durable."""
    store = LocalDirectoryStore(tmp_path / "store")
    sha = _sha(samples.PDF)
    _synced(monkeypatch, fail=True)
    with pytest.raises(OSError):
        await store.put(sha, samples.PDF)
    assert await store.exists(sha)  # renamed into place, but its directory entry never synced
    synced = _synced(monkeypatch)
    await store.put(sha, samples.PDF)
    assert {store.path(sha), store.path(sha).parent} <= set(synced)  # the file, then its directory entry


async def test_a_pdf_that_is_also_a_web_page_is_refused(client, settings):
    """The defect: `%PDF-` and then HTML was stored as a PDF and served inline, where it ran as a page."""
    w = await build_world(client)
    for data in (samples.PDF_THEN_HTML, samples.PDF_WITH_HTML_INSIDE):
        response = await _post(w, "shopper", data, content_type="application/pdf")
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "attachment.unsupported_type"
        assert (await w.call("shopper", "GET", f"/attachments/{_sha(data)}")).status_code == 404
    assert _stored_files(settings) == []
    assert await t.Attachment.count() == 0


async def test_attachments_are_served_as_downloads_in_a_sandbox_except_images(client):
    w = await build_world(client)
    served = {}
    for name, data in (
        ("png", samples.png(seed=3)),
        ("pdf", samples.PDF),
        ("pdf", samples.PDF_XREF_STREAM),
        ("wav", samples.WAV),
    ):
        sha = (await _upload(w, "shopper", data))["sha256"]
        response = await w.call("shopper", "GET", f"/attachments/{sha}")
        assert response.status_code == 200 and response.content == data
        served[name] = response.headers
        disposition = "inline" if name == "png" else "attachment"
        assert response.headers["content-disposition"] == f'{disposition}; filename="{sha}.{name}"'
        csp = [part.strip() for part in response.headers["content-security-policy"].split(";")]
        assert "sandbox" in csp and "default-src 'none'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
    assert served["pdf"]["content-type"] == "application/pdf"
