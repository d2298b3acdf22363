"""Campaigns HTTP API: programs, waves, generation, coverage, auto-assignment; the shoppers' job board."""

from __future__ import annotations

import datetime as dt
import uuid

from litestar import Controller, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from api_schemas.accounts import Role
from api_schemas.campaigns import (
    AutoAssignResult,
    Campaign,
    CampaignCreate,
    Coverage,
    GenerationResult,
    Wave,
    WaveCreate,
)
from api_schemas.common import Page
from api_schemas.forms import Channel
from api_schemas.tasks import Task
from backend.accounts.guards import STAFF, requires_roles, roles
from backend.campaigns import service
from backend.deps import ActorDep, PageDep, SettingsDep
from backend.frontend import GZIP
from backend.openapi import problems
from backend.pagination import Search
from backend.visible_filters import require_visible

READERS = (Role.admin, Role.coordinator, Role.manager)


class CampaignController(Controller):
    path = "/campaigns"
    tags = ["campaigns"]
    guards = [requires_roles]

    @get("/", operation_id="ListCampaigns", opt=roles(*READERS), responses=problems(404))
    async def list_campaigns(
        self,
        actor: ActorDep,
        page: PageDep,
        organisation_id: FromQuery[uuid.UUID | None] = None,
        q: Search = None,
    ) -> Page[Campaign]:
        """Campaigns (programs) by name, filtered by organisation and `q` (name); a manager sees their
        organisation's.

        Problems: 404 `organisation.not_found` (an `organisation_id` filter the caller cannot see).
        """
        await require_visible(actor, organisation_id=organisation_id)
        return await service.list_campaigns(actor, page, organisation_id, q)

    @post("/", operation_id="CreateCampaign", opt=roles(*STAFF), responses=problems(422))
    async def create_campaign(self, actor: ActorDep, data: JSONBody[CampaignCreate]) -> Campaign:
        """A program: its locations (own and competitor), a published form version per channel, a slot design per
        channel (dayparts × day types × probes per slot), call retry rules (`call_rules`), the rotation period
        (`rotation_days`, per location or brand), an optional language, and the GPS check-in limit
        (`gps_limit_m`). Then add waves and generate their tasks.

        Problems: 422 `campaign.invalid` (`errors` names each field: unknown or unrelated location, a form
        version that is not published or of another channel or organisation, a slot design without a form…).
        """
        return await service.create_campaign(actor, data)

    @get("/{campaign_id:uuid}", operation_id="GetCampaign", opt=roles(*READERS), responses=problems(404))
    async def get_campaign(self, actor: ActorDep, campaign_id: FromPath[uuid.UUID]) -> Campaign:
        """One campaign with its locations, forms, slot designs and rules.

        Problems: 404 `campaign.not_found`.
        """
        return await service.get_campaign(actor, campaign_id)

    @get("/{campaign_id:uuid}/waves", operation_id="ListWaves", opt=roles(*READERS), responses=problems(404))
    async def list_waves(
        self,
        actor: ActorDep,
        campaign_id: FromPath[uuid.UUID],
        page: PageDep,
        q: Search = None,
        running_on: FromQuery[dt.date | None] = None,
    ) -> Page[Wave]:
        """The campaign's waves, earliest first, filtered by `q` (name) and `running_on` (the waves whose dates
        include that day).

        Problems: 404 `campaign.not_found`.
        """
        return await service.list_waves(actor, campaign_id, page, q, running_on)

    @post("/{campaign_id:uuid}/waves", operation_id="CreateWave", opt=roles(*STAFF), responses=problems(404, 409, 422))
    async def create_wave(self, actor: ActorDep, campaign_id: FromPath[uuid.UUID], data: JSONBody[WaveCreate]) -> Wave:
        """A wave: the dates (inclusive, read in each location's own calendar) over which the slot design is shopped
        once. Waves of a campaign do not overlap. Generate its tasks next.

        Problems: 404 `campaign.not_found`; 409 `wave.overlap`; 422 `wave.invalid` (ends before it starts, lasts over
        366 days, or dates out of range).
        """
        return await service.create_wave(actor, campaign_id, data)

    @post(
        "/{campaign_id:uuid}/waves/{wave_id:uuid}/generate",
        operation_id="GenerateWaveTasks",
        opt=roles(*STAFF),
        status_code=200,
        responses=problems(404, 409, 422),
    )
    async def generate(
        self, actor: ActorDep, settings: SettingsDep, campaign_id: FromPath[uuid.UUID], wave_id: FromPath[uuid.UUID]
    ) -> GenerationResult:
        """Create the wave's tasks over the slot design in each location's own time zone; idempotent.
        Each daypart's probes are kept to the location's opening hours as its `location_is` asks (open for
        visits unless said otherwise): a window is the longest open (or closed) stretch of the daypart that
        day, overnight hours and daylight-saving days included; each task says how its window stands
        (`location_hours`). A slot that cannot be planned is listed in `problems`, never silently dropped.
        A wave that is over (every window it would create has already ended) is refused. A wave already under
        way is generated whole, and `already_over` counts the tasks whose window had ended: they are missing
        in the coverage grid at once. A plan larger than the configured cap (FIELDSCORE_MAX_WAVE_TASKS) is
        refused and nothing is created.

        Problems: 404 `campaign.not_found` or `wave.not_found`; 409 `wave.past`; 422 `wave.too_large`.
        """
        return await service.generate(actor, campaign_id, wave_id, max_tasks=settings.max_wave_tasks)

    @get(
        "/{campaign_id:uuid}/waves/{wave_id:uuid}/coverage",
        operation_id="GetWaveCoverage",
        opt=roles(*READERS),
        responses=problems(404),
    )
    async def coverage(
        self, actor: ActorDep, page: PageDep, campaign_id: FromPath[uuid.UUID], wave_id: FromPath[uuid.UUID]
    ) -> Coverage:
        """Location × slot: how many probes are planned, done, due, unanswered and missing, paged by location
        row. For a manager only approved probes are done, and the rest are due until the wave is over, missing
        after (no visit or call shows before approval). `unanswered`: a call whose every attempt reached
        nobody and that is not called again (no slot left in the wave, or the call rules' attempts used up; a
        scheduled retry keeps the probe due).

        Problems: 404 `campaign.not_found` or `wave.not_found`.
        """
        return await service.coverage(actor, campaign_id, wave_id, page)

    @post(
        "/{campaign_id:uuid}/waves/{wave_id:uuid}/auto-assign",
        operation_id="AutoAssignWave",
        opt=roles(*STAFF),
        status_code=200,
        responses=problems(404),
    )
    async def auto_assign(
        self, actor: ActorDep, campaign_id: FromPath[uuid.UUID], wave_id: FromPath[uuid.UUID]
    ) -> AutoAssignResult:
        """Assign the wave's open tasks fairly under every rule (rotation, capacity per day and week, distance
        from home, language, conflicts of interest), spreading work over eligible shoppers; lists each task it
        could not fill and why (`no_shoppers`, `window_passed`, `rotation`, `too_far`…).

        Problems: 404 `campaign.not_found` or `wave.not_found`.
        """
        return await service.auto_assign(actor, campaign_id, wave_id)


class JobBoardController(Controller):
    path = "/job-board"
    tags = ["tasks"]
    guards = [requires_roles]

    @get("/", operation_id="GetJobBoard", opt=roles(Role.shopper), responses=problems(), middleware=GZIP)
    async def job_board(self, actor: ActorDep, page: PageDep, channel: FromQuery[Channel | None] = None) -> Page[Task]:
        """Open tasks you may claim (rotation, conflicts, distance, capacity, language all checked), nearest first;
        `channel` keeps one channel.
        """
        return await service.job_board(actor, page, channel)

    @post(
        "/{task_id:uuid}/claim",
        operation_id="ClaimTask",
        opt=roles(Role.shopper),
        status_code=200,
        responses=problems(404, 409),
    )
    async def claim(self, actor: ActorDep, task_id: FromPath[uuid.UUID]) -> Task:
        """Take an open task from the job board (open → assigned to you); when two shoppers claim at once exactly
        one gets it. A task that is not on your board (another shopper's, or gone) is 404 like a made-up id.

        Problems: 404 `task.not_found`; 409 `task.not_open` (you have it already) or `task.not_assignable`
        (`errors` gives each rule broken).
        """
        return await service.claim(actor, task_id)
