"""One row per (content, uploader), and one link per (report, question): Piccolo has no composite unique constraint."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-23T01:29:32:000000"
VERSION = "1.38.0"
DESCRIPTION = "unique (sha256, uploaded_by) on attachment, unique (report_id, question_key) on report_attachment"


class Attachment(Table, tablename="attachment", schema=None):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="attachments", description=DESCRIPTION)

    async def unique_pairs() -> None:
        await Attachment.raw("CREATE UNIQUE INDEX attachment_content_uploader ON attachment (sha256, uploaded_by)")
        await Attachment.raw(
            "CREATE UNIQUE INDEX report_attachment_answer ON report_attachment (report_id, question_key)"
        )

    async def drop_unique_pairs() -> None:
        await Attachment.raw("DROP INDEX report_attachment_answer")
        await Attachment.raw("DROP INDEX attachment_content_uploader")

    manager.add_raw(unique_pairs)
    manager.add_raw_backwards(drop_unique_pairs)
    return manager
