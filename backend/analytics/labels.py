"""Display names of form items and sections in analytics groups, from the forms the reports were made with."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from api_schemas.forms import FormDefinition, Section
from backend.analytics.tables import ReportFact
from backend.forms import service as forms


def definition_labels(definition: FormDefinition) -> dict[str, str]:
    """Each section's and question's key → its label in the form's default language (else English, else any)."""
    labels: dict[str, str] = {}

    def text(node: Section | object) -> str | None:
        label: dict[str, str] = getattr(node, "label", {}) or {}
        return label.get(definition.default_language) or label.get("en") or next(iter(label.values()), None)

    def walk(nodes: Iterable[object]) -> None:
        for node in nodes:
            key, label = getattr(node, "key", None), text(node)
            if key and label:
                labels[key] = label
            if isinstance(node, Section):
                walk(node.items)

    walk(definition.sections)
    return labels


async def item_labels(organisation_id: uuid.UUID, keys: set[str]) -> dict[str, str]:
    """Labels of these item or section keys in the forms of the organisation's reports; where versions
    differ, the most recently published version that has the key wins."""
    if not keys:
        return {}
    rows = await ReportFact.raw(
        # The form versions the organisation's facts use, read as a skip scan of report_fact_form_version
        # (organisation, form_version): one index descent per version used, whatever the planner's statistics.
        # (As `WHERE EXISTS (… f.form_version = v.id)`, PostgreSQL with statistics saying "one version" planned
        # a pass over every fact: 2 s at 10,000,000 reports.)
        "WITH RECURSIVE used(id) AS ("
        " SELECT (SELECT form_version FROM report_fact WHERE organisation = {} ORDER BY form_version LIMIT 1)"
        " UNION ALL"
        " SELECT (SELECT f.form_version FROM report_fact f WHERE f.organisation = {} AND f.form_version > used.id"
        " ORDER BY f.form_version LIMIT 1) FROM used WHERE used.id IS NOT NULL)"
        " SELECT v.id AS v FROM form_version v JOIN used ON v.id = used.id ORDER BY v.published_at DESC",
        organisation_id,
        organisation_id,
    )
    found: dict[str, str] = {}
    for row in rows:
        labels = definition_labels(await forms.published_definition(uuid.UUID(str(row["v"]))))
        for key in keys - found.keys():
            if key in labels:
                found[key] = labels[key]
        if found.keys() >= keys:
            break
    return found


__all__ = ["definition_labels", "item_labels"]
