"""Campaigns service: programs, waves, task generation, coverage, assignment (auto, by hand, job board), retries."""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections import defaultdict
from typing import Any

import anyio.to_thread
import msgspec

from api_schemas.accounts import Role
from api_schemas.campaigns import (
    AutoAssignResult,
    CallRules,
    Campaign,
    CampaignCreate,
    Coverage,
    CoverageCell,
    CoverageRow,
    GenerationResult,
    PlanProblem,
    SlotDesign,
    Unfilled,
    Wave,
    WaveCreate,
)
from api_schemas.common import Page
from api_schemas.forms import Channel, FormStatus
from api_schemas.tasks import Task as TaskSchema
from api_schemas.tasks import TaskStatus
from backend import db, moments
from backend.accounts.security import Actor
from backend.accounts.tables import Organisation
from backend.audit.service import record, recorded
from backend.campaigns import assignment, eligibility, planning
from backend.campaigns import tables as t
from backend.errors import Conflict, InvalidInput, NotFound
from backend.forms.tables import Form, FormVersion
from backend.geo import distance_km
from backend.ids import uuid7
from backend.locations import hours
from backend.locations.tables import Location, OrganisationBrand
from backend.pagination import PageParams, contains, converted_page, page_of, paged, scoped_row
from backend.tasks import service as tasks
from backend.tasks.tables import Task


def _design(spec: SlotDesign, channel: str | Channel) -> planning.SlotDesign:
    """The pure planner's design; a daypart that does not say how it stands to the opening hours is kept
    to them for visits (a store is visited while it is open) and ignores them on the other channels."""
    default = "open" if Channel(channel) == Channel.visit else "any"
    return planning.SlotDesign(
        dayparts=tuple(
            planning.Daypart(
                key=d.key,
                start_hour=d.start_hour,
                end_hour=d.end_hour,
                location_is=d.location_is.value if d.location_is else default,
            )
            for d in spec.dayparts
        ),
        day_types=tuple(planning.DayType(x.value) for x in spec.day_types),
        probes_per_slot=spec.probes_per_slot,
    )


# ---------------------------------------------------------------- campaigns


async def _campaign_row(actor: Actor, campaign_id: uuid.UUID) -> dict[str, Any]:
    query = t.Campaign.select(
        t.Campaign.id,
        t.Campaign.organisation.as_alias("organisation_id"),
        t.Campaign.name,
        t.Campaign.forms,
        t.Campaign.slot_designs,
        t.Campaign.call_rules,
        t.Campaign.rotation_days,
        t.Campaign.rotation_scope,
        t.Campaign.language,
        t.Campaign.gps_limit_m,
        t.Campaign.created_at,
    ).where(t.Campaign.id == campaign_id)
    scope = t.Campaign.organisation == actor.organisation_id if actor.role == Role.manager else None
    return await scoped_row(query, scope, NotFound("No such campaign.", code="campaign.not_found"), load_json=True)


async def _to_campaign(row: dict[str, Any]) -> Campaign:
    location_ids = (
        await t.CampaignLocation.select(t.CampaignLocation.location)
        .where(t.CampaignLocation.campaign == row["id"])
        .output(as_list=True)
    )
    return msgspec.convert({**row, "location_ids": location_ids}, Campaign)


async def get_campaign(actor: Actor, campaign_id: uuid.UUID) -> Campaign:
    return await _to_campaign(await _campaign_row(actor, campaign_id))


async def list_campaigns(
    actor: Actor, page: PageParams, organisation_id: uuid.UUID | None, q: str | None
) -> Page[Campaign]:
    query = t.Campaign.select(t.Campaign.id).order_by(t.Campaign.created_at, ascending=False).order_by(t.Campaign.id)
    rows, total = await paged(
        query,
        t.Campaign.count(),
        (
            t.Campaign.organisation == actor.organisation_id if actor.role == Role.manager else None,
            t.Campaign.organisation == organisation_id if organisation_id else None,
            contains(q, t.Campaign.name) if q else None,
        ),
        page,
    )
    return page_of([await get_campaign(actor, r["id"]) for r in rows], total, page)


async def _check_campaign(data: CampaignCreate) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    if not await Organisation.exists().where(Organisation.id == data.organisation_id):
        return [("organisation_id", "no such organisation")]
    related = {
        str(b)
        for b in await OrganisationBrand.select(OrganisationBrand.brand)
        .where(OrganisationBrand.organisation == data.organisation_id)
        .output(as_list=True)
    }
    brands = {
        str(r["id"]): str(r["brand"])
        for r in await Location.select(Location.id, Location.brand).where(Location.id.is_in(list(data.location_ids)))
    }
    seen: set[uuid.UUID] = set()
    for i, location_id in enumerate(data.location_ids):
        if location_id in seen:
            problems.append((f"location_ids[{i}]", "listed twice"))
        seen.add(location_id)
        brand = brands.get(str(location_id))
        if brand is None:
            problems.append((f"location_ids[{i}]", "no such location"))
        elif brand not in related:
            problems.append((f"location_ids[{i}]", "its brand is neither the organisation's own nor a competitor"))
    for channel, version_id in data.forms.items():
        row = (
            await FormVersion.select(
                FormVersion.status,
                FormVersion.form.channel.as_alias("channel"),
                FormVersion.form.organisation.as_alias("organisation_id"),
            )
            .where(FormVersion.id == version_id)
            .first()
        )
        field = f"forms.{channel.value}"
        if row is None and await Form.exists().where(Form.id == version_id):
            # The likeliest mistake: `forms` takes a published version's id, fixed for the campaign.
            problems.append((field, "a form's id, not a form version's: give a published version's id"))
        elif row is None:
            problems.append((field, "no such form version"))
        elif row["status"] != FormStatus.published.value:
            problems.append((field, "not published"))
        elif row["channel"] != channel.value:
            problems.append((field, f"the form is for {row['channel']}"))
        elif row["organisation_id"] not in (None, data.organisation_id):
            problems.append((field, "a form of another organisation"))
    for channel, spec in data.slot_designs.items():
        if channel not in data.forms:
            problems.append((f"slot_designs.{channel.value}", "no form for this channel"))
        for path, reason in planning.design_problems(_design(spec, channel)):
            problems.append(
                (f"slot_designs.{channel.value}.{path}" if path else f"slot_designs.{channel.value}", reason)
            )
    return problems


async def create_campaign(actor: Actor, data: CampaignCreate) -> Campaign:
    async with db.writing():
        problems = await _check_campaign(data)
        if problems:
            raise InvalidInput(
                f"The campaign has {len(problems)} problem(s).", code="campaign.invalid", errors=problems
            )
        campaign_id = uuid.uuid4()
        await t.Campaign.insert(
            t.Campaign(
                id=campaign_id,
                organisation=data.organisation_id,
                name=data.name,
                forms={c.value: str(v) for c, v in data.forms.items()},
                slot_designs={c.value: msgspec.to_builtins(s) for c, s in data.slot_designs.items()},
                call_rules=msgspec.to_builtins(data.call_rules),
                rotation_days=data.rotation_days,
                rotation_scope=data.rotation_scope,
                language=data.language,
                gps_limit_m=data.gps_limit_m,
                created_by=actor.user_id,
                created_at=moments.now(),
            )
        )
        await t.CampaignLocation.insert(
            *(t.CampaignLocation(id=uuid.uuid4(), campaign=campaign_id, location=loc) for loc in data.location_ids)
        )
        await record(actor.user_id, "campaign.created", "campaign", campaign_id, {"name": data.name})
    return await get_campaign(actor, campaign_id)


# ---------------------------------------------------------------- waves


_WAVE_COLUMNS = (t.Wave.id, t.Wave.campaign.as_alias("campaign_id"), t.Wave.name, t.Wave.starts_on, t.Wave.ends_on)


async def list_waves(
    actor: Actor, campaign_id: uuid.UUID, page: PageParams, q: str | None = None, running_on: dt.date | None = None
) -> Page[Wave]:
    """Earliest first (waves of a campaign never overlap)."""
    await _campaign_row(actor, campaign_id)
    query = t.Wave.select(*_WAVE_COLUMNS).order_by(t.Wave.starts_on).order_by(t.Wave.id)
    filters = [
        t.Wave.campaign == campaign_id,
        contains(q, t.Wave.name) if q else None,
        (t.Wave.starts_on <= running_on) & (t.Wave.ends_on >= running_on) if running_on else None,
    ]
    return await converted_page(query, t.Wave.count(), filters, page, Wave)


async def wave_campaign(wave_id: uuid.UUID) -> uuid.UUID | None:
    """The campaign a wave belongs to, or None when there is no such wave (whoever asks: callers check the
    campaign is theirs to see)."""
    row = await t.Wave.select(t.Wave.campaign).where(t.Wave.id == wave_id).first()
    return None if row is None else row["campaign"]


async def _wave_row(actor: Actor, campaign_id: uuid.UUID, wave_id: uuid.UUID) -> dict[str, Any]:
    await _campaign_row(actor, campaign_id)
    return await scoped_row(
        t.Wave.select(*_WAVE_COLUMNS).where((t.Wave.id == wave_id) & (t.Wave.campaign == campaign_id)),
        None,
        NotFound("No such wave.", code="wave.not_found"),
    )


# Waves are fieldwork: planned in years a calendar (and a time zone's rules) can reach from either side.
WAVE_YEARS = range(1970, 9000)


async def create_wave(actor: Actor, campaign_id: uuid.UUID, data: WaveCreate) -> Wave:
    if outside := [
        (name, f"must be in the years {WAVE_YEARS.start}-{WAVE_YEARS.stop - 1}")
        for name in ("starts_on", "ends_on")
        if getattr(data, name).year not in WAVE_YEARS
    ]:
        raise InvalidInput("A wave's dates are out of range.", code="wave.invalid", errors=outside)
    if data.ends_on < data.starts_on:
        raise InvalidInput(
            "A wave ends on or after it starts.", code="wave.invalid", errors=[("ends_on", "before starts_on")]
        )
    if (data.ends_on - data.starts_on).days > 366:
        raise InvalidInput("A wave lasts at most a year.", code="wave.invalid", errors=[("ends_on", "over 366 days")])
    async with db.writing():
        await _campaign_row(actor, campaign_id)
        overlap = (
            await t.Wave.select(t.Wave.name)
            .where(
                (t.Wave.campaign == campaign_id)
                & (t.Wave.starts_on <= data.ends_on)
                & (t.Wave.ends_on >= data.starts_on)
            )
            .first()
        )
        if overlap:
            raise Conflict(
                f"Overlaps wave {overlap['name']!r}; waves of a campaign are separate periods.",
                code="wave.overlap",
                errors=[("starts_on", f"overlaps {overlap['name']}")],
            )
        wave_id = uuid.uuid4()
        await t.Wave.insert(
            t.Wave(
                id=wave_id,
                campaign=campaign_id,
                name=data.name,
                starts_on=data.starts_on,
                ends_on=data.ends_on,
                created_at=moments.now(),
            )
        )
        await record(actor.user_id, "wave.created", "wave", wave_id, {"campaign_id": str(campaign_id)})
    return msgspec.convert(await _wave_row(actor, campaign_id, wave_id), Wave)


# ---------------------------------------------------------------- task generation


async def _campaign_locations(campaign_id: uuid.UUID) -> list[dict[str, Any]]:
    return await t.CampaignLocation.select(
        t.CampaignLocation.location.id.as_alias("id"),
        t.CampaignLocation.location.timezone.as_alias("timezone"),
        t.CampaignLocation.location.name.as_alias("name"),
        t.CampaignLocation.location.brand.as_alias("brand"),
        t.CampaignLocation.location.opening_hours.as_alias("opening_hours"),
    ).where(t.CampaignLocation.campaign == campaign_id)


async def generate(actor: Actor, campaign_id: uuid.UUID, wave_id: uuid.UUID, *, max_tasks: int) -> GenerationResult:
    """Create the wave's tasks from the slot designs; running it again creates nothing new. A plan of more
    than `max_tasks` tasks (say a design over years of days) is refused whole (422 wave.too_large)."""
    async with db.writing():
        campaign = await _campaign_row(actor, campaign_id)
        wave = await _wave_row(actor, campaign_id, wave_id)
        locations = await _campaign_locations(campaign_id)
        existing = {
            (str(r["location"]), r["channel"], r["slot_key"], r["probe_index"])
            for r in await Task.select(Task.location, Task.channel, Task.slot_key, Task.probe_index).where(
                (Task.wave == wave_id) & (Task.attempt == 1)
            )
        }
        problems: list[PlanProblem] = []
        plans = []
        for channel, spec in campaign["slot_designs"].items():
            design = _design(msgspec.convert(spec, SlotDesign), channel)
            probes, plan_problems = planning.plan_wave(
                design,
                wave["starts_on"],
                wave["ends_on"],
                [(str(loc["id"]), loc["timezone"], hours.from_stored(loc["opening_hours"])) for loc in locations],
                salt=str(wave_id),
            )
            problems += [
                PlanProblem(
                    location_id=uuid.UUID(p.location_id), channel=Channel(channel), slot_key=p.slot_key, reason=p.reason
                )
                for p in plan_problems
            ]
            plans.append((channel, probes))
        planned = sum(len(probes) for _, probes in plans)
        now = moments.now()
        new = [
            probe
            for channel, probes in plans
            for probe in probes
            if (probe.location_id, channel, probe.slot_key, probe.index) not in existing
        ]
        # A wave nobody can work in any more is refused rather than filled with tasks born missing; the
        # date rule also holds for a plan with nothing in it (every zone's last day has ended by then).
        if (new and all(p.window_end <= now for p in new)) or (
            not existing and now.date() > wave["ends_on"] + dt.timedelta(days=1)
        ):
            raise Conflict(
                f"The wave {wave['name']!r} is over ({wave['starts_on']}..{wave['ends_on']}): every window it would "
                "plan has already ended. Plan a wave that is still to come.",
                code="wave.past",
                errors=[("wave_id", "every planned window has already ended")],
            )
        if planned > max_tasks:
            raise InvalidInput(
                f"The wave's plan has {planned:,} tasks, more than the {max_tasks:,} allowed; shorten the wave, "
                "or plan fewer slots or locations.",
                code="wave.too_large",
                errors=[("wave_id", f"the plan has {planned} tasks, more than the cap of {max_tasks}")],
            )
        rows: list[Task] = []
        found = already_over = 0
        for channel, probes in plans:
            for probe in probes:
                if (probe.location_id, channel, probe.slot_key, probe.index) in existing:
                    found += 1
                    continue
                rows.append(
                    Task(
                        id=uuid7(),
                        organisation=campaign["organisation_id"],
                        location=uuid.UUID(probe.location_id),
                        form_version=uuid.UUID(campaign["forms"][channel]),
                        channel=channel,
                        status=TaskStatus.open.value,
                        shopper=None,
                        window_start=probe.window_start,
                        window_end=probe.window_end,
                        created_by=actor.user_id,
                        created_at=now,
                        updated_at=now,
                        campaign=campaign_id,
                        wave=wave_id,
                        slot_key=probe.slot_key,
                        probe_index=probe.index,
                        attempt=1,
                        language=campaign["language"],
                        location_hours=probe.hours,
                    )
                )
                already_over += probe.window_end <= now
        for start in range(0, len(rows), 500):
            await Task.insert(*rows[start : start + 500])
        await record(
            actor.user_id,
            "wave.generated",
            "wave",
            wave_id,
            {"created": len(rows), "existing": found, "already_over": already_over},
        )
    return GenerationResult(created=len(rows), existing=found, already_over=already_over, problems=problems)


# ---------------------------------------------------------------- coverage


def _cell_state(status: str, window_end: dt.datetime, now: dt.datetime) -> str:
    if status in ("submitted", "returned", "approved"):
        return "done"
    if status in ("open", "assigned", "accepted") and moments.aware(window_end) > now:
        return "due"
    return "missing"


def _client_cell_state(status: str, wave_over: bool) -> str:
    """A manager's view of a probe: done once approved, otherwise due until the wave is over and
    missing after. Only approvals and the wave's own dates decide it, never a task's window or
    progress: that would tell the client when a visit or call is coming (mystery shopping is blind)."""
    if status == "approved":
        return "done"
    return "missing" if wave_over else "due"


# A probe's state from its attempts: done beats due (a retry may still be answered), which beats
# unanswered (every attempt so far reached nobody), which beats missing.
PROBE_STATES = ("done", "due", "unanswered", "missing")


async def _unanswered_tasks(wave_id: uuid.UUID) -> set[str]:
    """The wave's tasks whose report says nobody answered (the scoring's `answered` metric, as for retries)."""
    answered = (
        "(r.score_detail::jsonb -> 'metrics' ->> 'answered')"
        if db.is_postgres()
        else "json_extract(r.score_detail, '$.metrics.answered')"
    )
    rows = await Task.raw(
        f"SELECT r.task AS task, {answered} AS answered FROM report r JOIN task t ON t.id = r.task"
        " WHERE t.wave = {} AND t.channel <> 'visit'",
        wave_id,
    )
    return {str(r["task"]) for r in rows if r["answered"] in (False, 0, "false")}


async def coverage(actor: Actor, campaign_id: uuid.UUID, wave_id: uuid.UUID, page: PageParams) -> Coverage:
    campaign = await _campaign_row(actor, campaign_id)
    wave = await _wave_row(actor, campaign_id, wave_id)
    relations = {
        str(r["brand"]): r["relation"]
        for r in await OrganisationBrand.select(OrganisationBrand.brand, OrganisationBrand.relation).where(
            OrganisationBrand.organisation == campaign["organisation_id"]
        )
    }
    locations = sorted(
        await _campaign_locations(campaign_id), key=lambda loc: (relations.get(str(loc["brand"])) != "own", loc["name"])
    )
    rows = await Task.select(
        Task.id, Task.location, Task.channel, Task.slot_key, Task.probe_index, Task.status, Task.window_end
    ).where((Task.wave == wave_id) & Task.slot_key.is_not_null())
    unanswered = await _unanswered_tasks(wave_id)
    now = moments.now()
    # Every zone's calendar day has ended by the next UTC day's end (UTC-12 is the latest).
    wave_over = now.date() > wave["ends_on"] + dt.timedelta(days=1)
    # A probe counts once, whatever its attempts: done if any attempt is done, else due if any is due.
    probes: dict[tuple[str, str, str, int], set[str]] = defaultdict(set)
    for r in rows:
        state = (
            _client_cell_state(r["status"], wave_over)
            if actor.role == Role.manager
            else _cell_state(r["status"], r["window_end"], now)
        )
        if state == "done" and str(r["id"]) in unanswered:
            state = "unanswered"
        probes[(str(r["location"]), r["channel"], r["slot_key"], r["probe_index"])].add(state)
    keys_by_channel = {
        ch: planning.slot_keys(_design(msgspec.convert(spec, SlotDesign), ch))
        for ch, spec in campaign["slot_designs"].items()
    }
    table: list[CoverageRow] = []
    for loc in locations:
        for channel, keys in keys_by_channel.items():
            cells = []
            for key in keys:
                states = [
                    min(v, key=PROBE_STATES.index)
                    for (lid, ch, sk, _), v in probes.items()
                    if lid == str(loc["id"]) and ch == channel and sk == key
                ]
                cells.append(
                    CoverageCell(
                        slot_key=key,
                        planned=len(states),
                        done=states.count("done"),
                        due=states.count("due"),
                        missing=states.count("missing"),
                        unanswered=states.count("unanswered"),
                    )
                )
            table.append(
                CoverageRow(
                    location_id=loc["id"],
                    location_name=loc["name"],
                    relation=relations.get(str(loc["brand"]), "unknown"),
                    channel=Channel(channel),
                    cells=cells,
                )
            )
    all_keys = sorted({k for keys in keys_by_channel.values() for k in keys})
    return Coverage(
        wave_id=wave_id,
        slot_keys=all_keys,
        rows=table[page.offset : page.offset + page.limit],
        total_rows=len(table),
        limit=page.limit,
        offset=page.offset,
    )


# ---------------------------------------------------------------- assignment


async def auto_assign(actor: Actor, campaign_id: uuid.UUID, wave_id: uuid.UUID) -> AutoAssignResult:
    campaign = await _campaign_row(actor, campaign_id)
    wave = await _wave_row(actor, campaign_id, wave_id)
    rules = assignment.Rules(rotation_days=campaign["rotation_days"], rotation_scope=campaign["rotation_scope"])
    open_rows = await Task.select(*eligibility.JOB_COLUMNS).where(
        (Task.wave == wave_id) & (Task.status == TaskStatus.open.value) & (Task.window_end > moments.now())
    )
    jobs = [eligibility.job(r) for r in open_rows]
    margin = dt.timedelta(days=rules.rotation_days + 8)
    start = dt.datetime.combine(wave["starts_on"], dt.time(), dt.timezone.utc) - margin
    end = dt.datetime.combine(wave["ends_on"], dt.time(), dt.timezone.utc) + margin
    shoppers, past = await eligibility.shoppers(), await eligibility.past_work(around=(start, end))
    now = moments.now()
    result = await anyio.to_thread.run_sync(lambda: assignment.auto_assign(jobs, shoppers, past, rules, now=now))
    assigned = 0
    lost: list[Unfilled] = []
    jobs_by_id = {job.id: job for job in jobs}
    async with db.writing():
        # The plan was made from work read before this transaction; a claim or a hand assignment may have
        # come since. Every pair is checked again against the work as it is now, before it is written.
        await tasks.lock_shoppers(result.assignments.values())
        profiles = {s.id: s for s in await eligibility.shoppers()}
        work: dict[str, list[assignment.Past]] = {}
        for entry in await eligibility.past_work(around=(start, end)):
            work.setdefault(entry.shopper_id, []).append(entry)
        for job_id, shopper_id in sorted(result.assignments.items()):
            job, shopper = jobs_by_id[job_id], profiles.get(shopper_id)
            mine = work.setdefault(shopper_id, [])
            problems = (
                ["not an active shopper with a profile"]
                if shopper is None
                else assignment.violations(shopper, job, mine, rules, now=moments.now())
            )
            if problems:
                lost.append(Unfilled(task_id=uuid.UUID(job_id), reasons=problems))
                continue
            done = (
                await Task.update(
                    {
                        Task.status: TaskStatus.assigned.value,
                        Task.shopper: uuid.UUID(shopper_id),
                        Task.updated_at: moments.now(),
                    }
                )
                .where((Task.id == uuid.UUID(job_id)) & (Task.status == TaskStatus.open.value))
                .returning(Task.id)
            )
            if done:
                mine.append(
                    assignment.Past(
                        shopper_id=shopper_id,
                        location_id=job.location_id,
                        brand_id=job.brand_id,
                        at=job.window_start,
                        local_date=job.local_date,
                        job_id=job_id,
                    )
                )
                assigned += 1
                await record(
                    actor.user_id,
                    "task.assigned",
                    "task",
                    job_id,
                    {"from": "open", "to": "assigned", "shopper_id": shopper_id, "by": "auto"},
                )
            else:
                lost.append(Unfilled(task_id=uuid.UUID(job_id), reasons=["changed meanwhile (claimed or cancelled)"]))
    unfilled = [Unfilled(task_id=uuid.UUID(j), reasons=r) for j, r in sorted(result.unfilled.items())] + lost
    return AutoAssignResult(considered=len(jobs), assigned=assigned, unfilled=unfilled)


# ---------------------------------------------------------------- job board and claims


async def job_board(actor: Actor, page: PageParams, channel: Channel | None) -> Page[TaskSchema]:
    """Open tasks this shopper may claim under every rule, nearest first."""
    shoppers = await eligibility.shoppers(only=actor.user_id)
    if not shoppers:
        return Page(items=[], total=0, limit=page.limit, offset=page.offset)
    me = shoppers[0]
    query = Task.select(*tasks.TASK_COLUMNS, Task.location.brand.as_alias("brand_id")).where(
        (Task.status == TaskStatus.open.value) & (Task.window_end > moments.now())
    )
    if channel:
        query = query.where(Task.channel == channel.value)
    rows = await query
    past = await eligibility.past_work(shopper_id=actor.user_id)
    rules_cache: dict[Any, assignment.Rules] = {}
    eligible: list[tuple[float, dict[str, Any]]] = []
    now = moments.now()
    for r in rows:
        if r["campaign_id"] not in rules_cache:
            rules_cache[r["campaign_id"]] = await eligibility.rules_for(r["campaign_id"])
        job = assignment.Job(
            id=str(r["id"]),
            location_id=str(r["location_id"]),
            brand_id=str(r["brand_id"]),
            channel=r["channel"],
            lat=r["location_lat"],
            lon=r["location_lon"],
            window_start=moments.aware(r["window_start"]),
            window_end=moments.aware(r["window_end"]),
            local_date=moments.local_date(r["window_start"], r["location_timezone"]),
            language=r["language"],
        )
        if assignment.violations(me, job, past, rules_cache[r["campaign_id"]], now=now):
            continue
        distance = math.inf  # a shopper or a location without coordinates comes after every measured one
        if me.lat is not None and me.lon is not None and None not in (r["location_lat"], r["location_lon"]):
            distance = distance_km(me.lat, me.lon, r["location_lat"], r["location_lon"])
        eligible.append((distance, r))
    eligible.sort(key=lambda pair: (pair[0], moments.aware(pair[1]["window_start"]), str(pair[1]["id"])))
    chosen = eligible[page.offset : page.offset + page.limit]
    return Page(
        items=[tasks.to_task(r, distance_km=None if math.isinf(d) else round(d, 2)) for d, r in chosen],
        total=len(eligible),
        limit=page.limit,
        offset=page.offset,
    )


def _not_claimable() -> NotFound:
    return NotFound("No such task, or it is no longer open.", code="task.not_found")


async def claim(actor: Actor, task_id: uuid.UUID) -> TaskSchema:
    async with db.writing():
        row = await Task.select(Task.status, Task.shopper).where(Task.id == task_id).first()
        mine = row is not None and row["shopper"] == actor.user_id
        if row is None or (row["status"] != TaskStatus.open.value and not mine):
            # Another shopper's task, or one no longer on the board, is as unknown as a made-up id:
            # a different answer would confirm that it exists.
            raise _not_claimable()
        if row["status"] != TaskStatus.open.value:
            raise Conflict("You have this task already.", code="task.not_open")
        await tasks.lock_shoppers([actor.user_id])
        problems = await eligibility.assignment_problems(task_id, actor.user_id)
        if problems:
            raise Conflict(
                "You may not take this task.", code="task.not_assignable", errors=[("task_id", p) for p in problems]
            )
        try:
            await tasks.move(
                actor,
                task_id,
                TaskStatus.open,
                TaskStatus.assigned,
                {Task.shopper: actor.user_id},
                {"shopper_id": str(actor.user_id), "by": "claim"},
            )
        except Conflict as exc:
            # PostgreSQL: both claims read "open"; the row lock lets one update, the other updates nothing.
            if exc.code == "task.changed":
                raise _not_claimable() from None
            raise
    return await tasks.get_task(actor, task_id)


# ---------------------------------------------------------------- retries


async def _retry_state(task_id: uuid.UUID, state: str | None) -> None:
    await Task.update({Task.retry_state: state}).where(Task.id == task_id)


async def schedule_retry(actor: Actor, task_id: uuid.UUID) -> uuid.UUID | None:
    """After an unanswered call probe: the next attempt on another day in the same slot, if the rules allow.

    Runs inside the caller's transaction. Returns the retry's id, or None when no retry is due. What was
    decided is kept on the task (`retry_state`: scheduled, or none left because no_slot_left or
    attempts_used), for the submit response and the coverage grid.

    One retry per task: a report corrected again looks for no second one while its retry is planned, under
    way or done, nor says again that none was possible. A retry the system cancelled because the call was
    corrected to answered is the task's retry still (the planned-probe key holds one attempt n + 1): when
    the call is corrected back to unanswered, it is opened again on the next day the slot allows."""
    row = (
        await Task.select(
            Task.id,
            Task.organisation,
            Task.location,
            Task.form_version,
            Task.channel,
            Task.window_start,
            Task.campaign,
            Task.wave,
            Task.slot_key,
            Task.probe_index,
            Task.attempt,
            Task.language,
            Task.location.timezone.as_alias("tz"),
            Task.location.opening_hours.as_alias("opening_hours"),
        )
        .where(Task.id == task_id)
        .first()
    )
    if row is None or row["campaign"] is None or row["channel"] != Channel.call.value or row["slot_key"] is None:
        return None
    campaign = (
        await t.Campaign.select(t.Campaign.call_rules, t.Campaign.slot_designs)
        .where(t.Campaign.id == row["campaign"])
        .output(load_json=True)
        .first()
    )
    if campaign is None:  # the task's campaign is a foreign key: only a concurrent delete gets here
        return None
    rules = msgspec.convert(campaign["call_rules"], CallRules)
    if row["attempt"] >= rules.max_attempts:
        await _retry_state(task_id, "attempts_used")
        return None
    retry = await Task.select(Task.id, Task.status).where(Task.retry_of == task_id).first()
    cancelled_by_system = (
        retry is not None
        and retry["status"] == TaskStatus.cancelled.value
        and await recorded("task.cancelled", "task", retry["id"], by_system=True)
    )
    if retry is not None and not cancelled_by_system:
        await _retry_state(task_id, "scheduled")
        return None
    if await recorded("task.retry_not_possible", "task", task_id):
        await _retry_state(task_id, "no_slot_left")
        return None
    wave = await t.Wave.select(t.Wave.ends_on).where(t.Wave.id == row["wave"]).first()
    if wave is None:
        return None
    design = _design(msgspec.convert(campaign["slot_designs"][row["channel"]], SlotDesign), row["channel"])
    day_type, daypart_key = row["slot_key"].split(":", 1)
    slot = planning.SlotDesign(
        dayparts=tuple(d for d in design.dayparts if d.key == daypart_key),
        day_types=(planning.DayType(day_type),),
        probes_per_slot=1,
    )
    opening = hours.from_stored(row["opening_hours"])
    first = moments.aware(row["window_start"]) + dt.timedelta(hours=rules.retry_after_hours)
    day = moments.local_date(first, row["tz"])
    if day <= moments.local_date(row["window_start"], row["tz"]):
        day += dt.timedelta(days=1)
    while day <= wave["ends_on"]:
        probes, _ = planning.plan_wave(slot, day, day, [(str(row["location"]), row["tz"], opening)])
        if probes and probes[0].window_end > moments.now():
            probe = probes[0]
            await _retry_state(task_id, "scheduled")
            if retry is not None:  # cancelled when the call was corrected to answered: opened again
                await tasks.move(
                    None,
                    retry["id"],
                    TaskStatus.cancelled,
                    TaskStatus.open,
                    {
                        Task.window_start: probe.window_start,
                        Task.window_end: probe.window_end,
                        Task.shopper: None,
                        Task.location_hours: probe.hours,
                    },
                    {"reason": "the call it retries was corrected to unanswered", "retry_of": str(row["id"])},
                )
                reopened: uuid.UUID = retry["id"]
                return reopened
            new_id = uuid7()
            await Task.insert(
                Task(
                    id=new_id,
                    organisation=row["organisation"],
                    location=row["location"],
                    form_version=row["form_version"],
                    channel=row["channel"],
                    status=TaskStatus.open.value,
                    window_start=probe.window_start,
                    window_end=probe.window_end,
                    created_by=actor.user_id,
                    created_at=moments.now(),
                    updated_at=moments.now(),
                    campaign=row["campaign"],
                    wave=row["wave"],
                    slot_key=row["slot_key"],
                    probe_index=row["probe_index"],
                    attempt=row["attempt"] + 1,
                    retry_of=row["id"],
                    language=row["language"],
                    location_hours=probe.hours,
                )
            )
            await record(
                actor.user_id,
                "task.retry_scheduled",
                "task",
                new_id,
                {"retry_of": str(row["id"]), "attempt": row["attempt"] + 1},
            )
            return new_id
        day += dt.timedelta(days=1)
    await _retry_state(task_id, "no_slot_left")
    await record(actor.user_id, "task.retry_not_possible", "task", row["id"], {"reason": "no slot left in the wave"})
    return None


# A retry nobody has under way: a task in these has no report (submitting moves it on in the same write),
# and an accepted one is left, as its shopper may be making the call.
_RETRY_NOT_STARTED = (TaskStatus.open.value, TaskStatus.assigned.value)


async def cancel_retry(task_id: uuid.UUID, report_id: uuid.UUID, revision: int) -> None:
    """After a report of `task_id` is corrected to say the call was answered: its retry, if not yet under
    way, is no longer needed and the system cancels it (audited with why). Inside the caller's transaction.
    The call answered, whether it would have been retried no longer applies: the task's retry state is cleared."""
    await _retry_state(task_id, None)
    retries = await Task.select(Task.id, Task.status).where(
        (Task.retry_of == task_id) & Task.status.is_in(list(_RETRY_NOT_STARTED))
    )
    for row in retries:
        try:
            await tasks.move(
                None,
                row["id"],
                TaskStatus(row["status"]),
                TaskStatus.cancelled,
                detail={
                    "reason": "the call it retries was answered (its report was corrected)",
                    "retry_of": str(task_id),
                    "report_id": str(report_id),
                    "revision": revision,
                },
            )
        except Conflict as exc:
            if exc.code != "task.changed":
                raise
            # PostgreSQL: it moved on (say it was reported) since it was read; left as it now is.
