"""A call form that tags every metric analytics knows, and reports through the API that use it."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from backend.campaigns.tables import Campaign, Wave
from backend.tasks.tables import Task
from tests.world import World, add_shoppers, new_id

UTC = dt.timezone.utc

ANSWERED = {"op": "eq", "args": [{"op": "var", "key": "answered"}, True]}

FULL_FORM: dict[str, Any] = {
    "title": {"en": "Full test call"},
    "sections": [
        {
            "key": "reach",
            "items": [
                {"type": "yes_no", "key": "answered", "required": True, "metric": "answered", "fail_on": None},
                {
                    "type": "duration",
                    "key": "answer_s",
                    "metric": "time_to_answer_s",
                    "max": 300,
                    "show_if": ANSWERED,
                    "bands": [{"min": 0, "max": 20, "points": 1}, {"min": 20, "points": 0}],
                },
                {"type": "integer", "key": "rings", "metric": "rings", "min": 0, "max": 100},
                {"type": "duration", "key": "hold", "metric": "hold_s"},
                {"type": "duration", "key": "menu", "metric": "menu_s"},
                {"type": "integer", "key": "transfers", "metric": "transfers", "min": 0, "max": 20},
            ],
        },
        {
            "key": "conduct",
            "weight": 2,
            "items": [
                {"type": "yes_no", "key": "greeted", "critical": True},
                {"type": "yes_no", "key": "right_person", "metric": "right_person"},
                {"type": "yes_no", "key": "fcr", "metric": "fcr"},
                {
                    "type": "yes_no",
                    "key": "ooh",
                    "metric": "out_of_hours_cover",
                    "points_yes": None,
                    "points_no": None,
                    "fail_on": None,
                },
                {
                    "type": "yes_no",
                    "key": "lang",
                    "metric": "language_cover",
                    "points_yes": None,
                    "points_no": None,
                    "fail_on": None,
                },
                {"type": "rating", "key": "csat", "metric": "csat", "min": 1, "max": 5, "points": 1},
                {"type": "nps", "key": "nps", "metric": "nps"},
                {"type": "text", "key": "staff_note"},
            ],
        },
        {
            "key": "times",
            "items": [
                {"type": "duration", "key": "wait", "metric": "wait_s"},
                {"type": "duration", "key": "serve", "metric": "serve_s"},
                {"type": "duration", "key": "reply", "metric": "reply_h", "max": 259200},
                {"type": "duration", "key": "chat", "metric": "reply_s", "max": 600},
                {"type": "duration", "key": "resolution", "metric": "resolution_h"},
            ],
        },
    ],
}


def full_answers(
    *,
    answered: bool = True,
    answer_s: float = 10,
    rings: int = 2,
    hold: float = 0,
    menu: float = 5,
    transfers: int = 0,
    greeted: bool = True,
    right_person: bool = True,
    fcr: bool = True,
    ooh: bool = True,
    lang: bool = False,
    csat: int = 5,
    nps: int = 9,
    wait: float = 60,
    serve: float = 120,
    reply: float = 7200,
    chat: float = 30,
    resolution: float = 3600,
    staff_note: str = "Anna at the desk was helpful",
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "answered": answered,
        "rings": rings,
        "hold": hold,
        "menu": menu,
        "transfers": transfers,
        "greeted": greeted,
        "right_person": right_person,
        "fcr": fcr,
        "ooh": ooh,
        "lang": lang,
        "csat": csat,
        "nps": nps,
        "wait": wait,
        "serve": serve,
        "reply": reply,
        "chat": chat,
        "resolution": resolution,
        "staff_note": staff_note,
    }
    if answered:
        body["answer_s"] = answer_s
    return body


async def publish_full_form(w: World, channel: str = "call") -> str:
    form = await w.ok(
        "coordinator", "POST", "/forms", json={"name": f"Full {channel}", "channel": channel, "definition": FULL_FORM}
    )
    version = await w.ok("coordinator", "POST", f"/forms/{form['id']}/publish", status=200)
    return version["id"]


@dataclass
class Shopped:
    """Reports made through the API; each shopper shops once (rotation rules never get in the way)."""

    w: World
    version_id: str
    channel: str = "call"  # the form version's channel
    shoppers: list[str] = field(default_factory=list)
    reports: list[dict[str, Any]] = field(default_factory=list)

    async def report(
        self,
        location_id: str,
        *,
        approve: bool = True,
        started_at: dt.datetime | None = None,
        wave: tuple[str, str] | None = None,
        **answers: Any,
    ) -> dict[str, Any]:
        mark = "a" if self.channel == "call" else f"a{self.channel}"  # one Shopped per channel: distinct users
        who = (await add_shoppers(self.w, 1, prefix=f"{mark}{len(self.shoppers)}x"))[0]
        self.shoppers.append(who)
        now = dt.datetime.now(UTC)
        started = started_at or now - dt.timedelta(minutes=20)
        task = await self.w.ok(
            "coordinator",
            "POST",
            "/tasks",
            json={
                "organisation_id": self.w.organisation_id,
                "location_id": location_id,
                "form_version_id": self.version_id,
                "channel": self.channel,
                "window_start": (started - dt.timedelta(hours=1)).isoformat(),
                "window_end": (max(started, now) + dt.timedelta(hours=1)).isoformat(),
                "shopper_id": self.w.users[who]["id"],
            },
        )
        if wave is not None:  # hand-made tasks have no wave; put this one in (campaign, wave)
            await Task.update({Task.campaign: wave[0], Task.wave: wave[1]}).where(Task.id == task["id"])
        report = await self.w.ok(
            who,
            "POST",
            "/reports",
            status=201,
            json={
                "id": new_id(),
                "task_id": task["id"],
                "started_at": started.isoformat(),
                "ended_at": (started + dt.timedelta(minutes=5)).isoformat(),
                "answers": full_answers(**answers),
            },
        )
        if approve:
            report = await self.w.ok("coordinator", "POST", f"/reports/{report['id']}/approve", status=200)
        report["shopper"] = who
        report["spec"] = {"location_id": location_id, "started_at": started, **full_answers(**answers)}
        self.reports.append(report)
        return report


async def a_wave(w: World) -> tuple[str, str]:
    """A campaign and wave of the world's organisation, written directly (its tasks are made by hand)."""
    now = dt.datetime.now(UTC)
    campaign, wave = uuid.uuid4(), uuid.uuid4()
    await Campaign.insert(
        Campaign(
            id=campaign,
            organisation=w.organisation_id,
            name="Spring",
            forms={},
            slot_designs={},
            call_rules={},
            created_at=now,
        )
    )
    await Wave.insert(
        Wave(
            id=wave,
            campaign=campaign,
            name="Wave 1",
            starts_on=now.date() - dt.timedelta(days=7),
            ends_on=now.date() + dt.timedelta(days=7),
            created_at=now,
        )
    )
    return str(campaign), str(wave)
