"""Indexes for analytics at a million reports: the rollups' keys, and report_fact indexes that hold every
column the common comparisons read, in the order they group by (organisation, location, ...), so SQLite
aggregates them from the index alone without sorting. The rollups are filled from the facts already there
(by the later migration that keys them by channel)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-03T11:41:05:000000"
VERSION = "1.38.0"
DESCRIPTION = "unique rollup keys; covering report_fact indexes for score and answer-time comparisons"

CREATE = (
    "CREATE UNIQUE INDEX survival_rollup_key ON survival_rollup (organisation, location, measure, t, censored)",
    "CREATE UNIQUE INDEX item_rollup_key ON item_rollup (organisation, location, kind, key, section)",
    "CREATE INDEX report_fact_score ON report_fact (organisation, location, score_final, failed)",
    # Answer times by weekday and hour, or filtered by channel or wave (Kaplan–Meier outside the rollup).
    "CREATE INDEX report_fact_answer_grid ON report_fact (organisation, location, local_weekday, local_hour, "
    "time_to_answer_s, time_to_answer_censored, channel, wave)",
    "DROP INDEX report_fact_organisation_location",
    # Which form versions an organisation's reports used (the labels of items and sections).
    "CREATE INDEX report_fact_form_version ON report_fact (organisation, form_version)",
)
DROP = (
    "DROP INDEX report_fact_form_version",
    "CREATE INDEX report_fact_organisation_location ON report_fact (organisation, location)",
    "DROP INDEX report_fact_answer_grid",
    "DROP INDEX report_fact_score",
    "DROP INDEX item_rollup_key",
    "DROP INDEX survival_rollup_key",
)


class ReportFact(Table, tablename="report_fact", schema=None):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="analytics", description=DESCRIPTION)

    async def create() -> None:
        for statement in CREATE:
            await ReportFact.raw(statement)
        # The rollups of facts already stored are written by the migration that keys them by channel
        # (2026-12-03T15:00:01), which rebuilds them all with today's code.

    async def drop() -> None:
        for statement in DROP:
            await ReportFact.raw(statement)

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
