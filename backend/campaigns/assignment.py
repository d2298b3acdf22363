"""Assignment rules for shoppers and jobs, a fast fair automatic assigner, and an independent checker."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from backend import moments
from backend.geo import EARTH_RADIUS_KM, distance_km

__all__ = [
    "REASONS",
    "AssignmentResult",
    "Job",
    "Past",
    "Rules",
    "Shopper",
    "auto_assign",
    "validate_assignment",
    "violations",
]


# Stable codes for the rules a shopper–job pair can break.
REASONS: dict[str, str] = {
    "window_passed": "the job's time window has already ended",
    "no_location_coordinates": "a visit to a location without coordinates cannot be checked for distance",
    "conflict_of_interest": "the shopper is excluded from this brand or location",
    "language": "the shopper does not speak the job's language",
    "no_home_location": "a visit needs a shopper with home coordinates",
    "too_far": "the location is beyond the shopper's travel radius",
    "rotation": "the shopper worked this location (or brand) within the rotation period",
    "capacity_day": "the shopper's daily capacity is used up",
    "capacity_week": "the shopper's weekly capacity is used up",
}

# Reasons that belong to the job itself rather than to any shopper: listed without counts.
JOB_REASONS = ("window_passed", "no_location_coordinates")


@dataclass(frozen=True, slots=True)
class Rules:
    rotation_days: int = 90
    rotation_scope: Literal["location", "brand"] = "location"


@dataclass(frozen=True, slots=True)
class Shopper:
    id: str
    lat: float | None
    lon: float | None
    languages: frozenset[str]
    travel_radius_km: float
    capacity_per_day: int
    capacity_per_week: int
    excluded_brand_ids: frozenset[str] = frozenset()
    excluded_location_ids: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Job:
    """A task to assign; `local_date` is the date in the location's time zone."""

    id: str
    location_id: str
    brand_id: str
    channel: str
    lat: float | None
    lon: float | None
    window_start: datetime
    window_end: datetime
    local_date: date
    language: str | None = None


@dataclass(frozen=True, slots=True)
class Past:
    """A shopper's existing or past work (assigned, accepted, submitted, approved).

    `job_id` (optional) names the task it is. Work on a job that is itself being assigned
    or checked is not counted against it: violations() ignores entries for its job,
    auto_assign() those for any job of the run (they are being re-assigned) and
    validate_assignment() those for any job it checks.
    """

    shopper_id: str
    location_id: str
    brand_id: str
    at: datetime
    local_date: date
    job_id: str | None = None


@dataclass(frozen=True)
class AssignmentResult:
    """`assignments`: job id → shopper id. `unfilled`: job id → reasons.

    A reason is either a job-level code ("window_passed", "no_location_coordinates",
    "no_shoppers") or "<code>: <n>", the number of shoppers who break that rule, largest
    first (a shopper breaking several rules counts under each).
    """

    assignments: dict[str, str] = field(default_factory=dict)
    unfilled: dict[str, list[str]] = field(default_factory=dict)


def served_by(language: str) -> tuple[str, ...]:
    """The language tags whose speakers serve a job in `language`: the tag itself and each shorter
    prefix of it (`de-AT` is served by `de-AT` and `de`; `de` is not served by `de-AT` alone)."""
    parts = language.split("-")
    return tuple("-".join(parts[:n]) for n in range(len(parts), 0, -1))


def speaks(languages: frozenset[str] | set[str], language: str) -> bool:
    """Whether a shopper speaking `languages` serves a job in `language` (by tag prefix, see served_by)."""
    return any(tag in languages for tag in served_by(language))


def _rotation_key(rules: Rules, location_id: str, brand_id: str) -> str:
    return brand_id if rules.rotation_scope == "brand" else location_id


def violations(
    shopper: Shopper,
    job: Job,
    past: Sequence[Past],
    rules: Rules,
    *,
    now: datetime | None = None,
) -> list[str]:
    """Every rule the pair breaks, in REASONS order; `past` is the shopper's past and current work.

    Entries of `past` for other shoppers, or for this very job, are ignored. `now`
    defaults to the current time.
    """
    now = now if now is not None else moments.now()
    found: list[str] = []
    if now >= job.window_end:
        found.append("window_passed")
    is_visit = job.channel == "visit"
    if is_visit and (job.lat is None or job.lon is None):
        found.append("no_location_coordinates")
    if job.brand_id in shopper.excluded_brand_ids or job.location_id in shopper.excluded_location_ids:
        found.append("conflict_of_interest")
    if job.language is not None and not speaks(shopper.languages, job.language):
        found.append("language")
    if is_visit:
        if shopper.lat is None or shopper.lon is None:
            found.append("no_home_location")
        elif (
            job.lat is not None
            and job.lon is not None
            and distance_km(shopper.lat, shopper.lon, job.lat, job.lon) > shopper.travel_radius_km
        ):
            found.append("too_far")
    mine = [p for p in past if p.shopper_id == shopper.id and (p.job_id is None or p.job_id != job.id)]
    key = _rotation_key(rules, job.location_id, job.brand_id)
    if any(
        _rotation_key(rules, p.location_id, p.brand_id) == key
        and abs((p.local_date - job.local_date).days) < rules.rotation_days
        for p in mine
    ):
        found.append("rotation")
    if sum(1 for p in mine if p.local_date == job.local_date) >= shopper.capacity_per_day:
        found.append("capacity_day")
    week = job.local_date.isocalendar()[:2]
    if sum(1 for p in mine if p.local_date.isocalendar()[:2] == week) >= shopper.capacity_per_week:
        found.append("capacity_week")
    return found


def auto_assign(
    jobs: Sequence[Job],
    shoppers: Sequence[Shopper],
    past: Sequence[Past],
    rules: Rules,
    *,
    now: datetime | None = None,
) -> AssignmentResult:
    """Assign as many jobs as the rules allow, spreading work evenly; list why the rest stay unfilled.

    Jobs with the fewest eligible shoppers go first (then by window start and id); each goes
    to the eligible shopper with the fewest jobs in this run, ties broken by distance for
    visits and then by shopper id. Rules that do not change during the run (language,
    conflicts, distance, rotation against `past`) are evaluated once per location and
    date with set operations; capacity and in-run rotation are tracked in dicts.
    """
    return _Assigner(jobs, shoppers, past, rules, now if now is not None else moments.now()).run()


class _Assigner:
    def __init__(
        self, jobs: Sequence[Job], shoppers: Sequence[Shopper], past: Sequence[Past], rules: Rules, now: datetime
    ) -> None:
        job_ids = [job.id for job in jobs]
        if len(set(job_ids)) != len(job_ids):
            raise ValueError("job ids must be unique")
        shopper_ids = [s.id for s in shoppers]
        if len(set(shopper_ids)) != len(shopper_ids):
            raise ValueError("shopper ids must be unique")
        self.jobs = jobs
        self.rules = rules
        self.now = now
        self.by_id = {s.id: s for s in shoppers}
        self.all_ids = frozenset(self.by_id)
        self.by_language: dict[str, set[str]] = defaultdict(set)
        self.excluded_by_brand: dict[str, set[str]] = defaultdict(set)
        self.excluded_by_location: dict[str, set[str]] = defaultdict(set)
        self.homeless: set[str] = set()
        for s in shoppers:
            for language in s.languages:
                self.by_language[language].add(s.id)
            for brand in s.excluded_brand_ids:
                self.excluded_by_brand[brand].add(s.id)
            for location in s.excluded_location_ids:
                self.excluded_by_location[location].add(s.id)
            if s.lat is None or s.lon is None:
                self.homeless.add(s.id)
        self.homed = [s for s in shoppers if s.id not in self.homeless]

        job_set = set(job_ids)
        # Capacity counters and rotation history start from the shoppers' own work.
        self.day_count: Counter[tuple[str, date]] = Counter()
        self.week_count: Counter[tuple[str, tuple[int, int]]] = Counter()
        self.past_by_key: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for p in past:
            if p.shopper_id not in self.by_id or (p.job_id is not None and p.job_id in job_set):
                # Work on a job of this run is re-planned here, not counted twice.
                continue
            self.day_count[(p.shopper_id, p.local_date)] += 1
            self.week_count[(p.shopper_id, _week(p.local_date))] += 1
            key = _rotation_key(rules, p.location_id, p.brand_id)
            self.past_by_key[key].append((p.shopper_id, p.local_date.toordinal()))
        # How many shoppers have no room left on a day / in a week, for the unfilled reasons.
        never_day = {s.id for s in shoppers if s.capacity_per_day <= 0}
        never_week = {s.id for s in shoppers if s.capacity_per_week <= 0}
        self.full_always = (len(never_day), len(never_week))
        self.full_days: Counter[date] = Counter(
            d
            for (sid, d), n in self.day_count.items()
            if sid not in never_day and n >= self.by_id[sid].capacity_per_day
        )
        self.full_weeks: Counter[tuple[int, int]] = Counter(
            w
            for (sid, w), n in self.week_count.items()
            if sid not in never_week and n >= self.by_id[sid].capacity_per_week
        )
        self.run_by_key: dict[str, list[tuple[str, int]]] = defaultdict(list)
        self.run_rotation: dict[tuple[str, str], list[int]] = defaultdict(list)

        self.load: dict[str, int] = dict.fromkeys(self.by_id, 0)
        self.level_count: Counter[int] = Counter({0: len(self.by_id)})
        self.min_load = 0

        self._within: dict[tuple[float, float], dict[str, float]] = {}
        self._static: dict[tuple[object, ...], tuple[list[str], frozenset[str], Counter[str]]] = {}
        self._past_blocked: dict[tuple[str, int], frozenset[str]] = {}

    # Static eligibility ---------------------------------------------------------------

    def within(self, lat: float, lon: float) -> dict[str, float]:
        """Shoppers whose travel radius reaches (lat, lon), with their distance."""
        cached = self._within.get((lat, lon))
        if cached is not None:
            return cached
        reach: dict[str, float] = {}
        km_per_radian = EARTH_RADIUS_KM
        phi = math.radians(lat)
        for s in self.homed:
            # The north-south separation alone is a lower bound of the great-circle distance.
            if abs(math.radians(s.lat) - phi) * km_per_radian > s.travel_radius_km + 1e-3:  # type: ignore[arg-type]
                continue
            d = distance_km(s.lat, s.lon, lat, lon)  # type: ignore[arg-type]
            if d <= s.travel_radius_km:
                reach[s.id] = d
        self._within[(lat, lon)] = reach
        return reach

    def static(self, job: Job) -> tuple[list[str], frozenset[str], Counter[str]]:
        """Shoppers passing the run-independent rules (best first, and as a set), and how many break each."""
        is_visit = job.channel == "visit"
        key = (
            job.location_id,
            job.brand_id,
            is_visit,
            job.language,
            job.lat if is_visit else None,
            job.lon if is_visit else None,
        )
        cached = self._static.get(key)
        if cached is not None:
            return cached
        counts: Counter[str] = Counter()
        eligible = set(self.all_ids)
        excluded = self.excluded_by_brand.get(job.brand_id, set()) | self.excluded_by_location.get(
            job.location_id, set()
        )
        counts["conflict_of_interest"] = len(excluded)
        eligible -= excluded
        if job.language is not None:
            speakers = set().union(*(self.by_language.get(tag, set()) for tag in served_by(job.language)))
            counts["language"] = len(self.all_ids) - len(speakers)
            eligible &= speakers
        distance: dict[str, float] = {}
        if is_visit:
            if job.lat is None or job.lon is None:
                eligible = set()
            else:
                distance = self.within(job.lat, job.lon)
                counts["no_home_location"] = len(self.homeless)
                counts["too_far"] = len(self.all_ids) - len(self.homeless) - len(distance)
                eligible.intersection_update(distance)
        ranked = sorted(eligible, key=(lambda sid: (distance[sid], sid)) if is_visit else None)
        result = (ranked, frozenset(ranked), counts)
        self._static[key] = result
        return result

    def past_blocked(self, key: str, day: int) -> frozenset[str]:
        cached = self._past_blocked.get((key, day))
        if cached is not None:
            return cached
        span = self.rules.rotation_days
        blocked = frozenset(sid for sid, other in self.past_by_key.get(key, ()) if abs(other - day) < span)
        self._past_blocked[(key, day)] = blocked
        return blocked

    # The run --------------------------------------------------------------------------

    def run(self) -> AssignmentResult:
        assignments: dict[str, str] = {}
        unfilled: dict[str, list[str]] = {}
        queue: list[tuple[int, datetime, str, Job, list[str], frozenset[str]]] = []
        for job in self.jobs:
            if self.now >= job.window_end:
                unfilled[job.id] = ["window_passed"]
                continue
            if job.channel == "visit" and (job.lat is None or job.lon is None):
                unfilled[job.id] = ["no_location_coordinates"]
                continue
            ranked, ranked_set, _ = self.static(job)
            blocked = self.past_blocked(
                _rotation_key(self.rules, job.location_id, job.brand_id), job.local_date.toordinal()
            )
            open_count = len(ranked) - sum(1 for sid in blocked if sid in ranked_set)
            queue.append((open_count, job.window_start, job.id, job, ranked, blocked))
        queue.sort(key=lambda item: item[:3])

        span = self.rules.rotation_days
        by_id = self.by_id
        load = self.load
        day_count, week_count, run_rotation = self.day_count, self.week_count, self.run_rotation
        for _, _, job_id, job, ranked, blocked in queue:
            day, week = job.local_date, _week(job.local_date)
            ordinal = day.toordinal()
            rkey = _rotation_key(self.rules, job.location_id, job.brand_id)
            best: str | None = None
            best_load = math.inf
            floor = self.min_load
            for sid in ranked:
                current = load[sid]
                if current >= best_load or sid in blocked:
                    continue
                shopper = by_id[sid]
                if (
                    day_count[(sid, day)] >= shopper.capacity_per_day
                    or week_count[(sid, week)] >= shopper.capacity_per_week
                ):
                    continue
                if span > 0:
                    earlier = run_rotation.get((sid, rkey))
                    if earlier and any(abs(other - ordinal) < span for other in earlier):
                        continue
                best, best_load = sid, current
                if current == floor:
                    break  # nobody can have fewer jobs than the least loaded shopper
            if best is None:
                unfilled[job_id] = self.reasons(job)
                continue
            assignments[job_id] = best
            chosen = by_id[best]
            day_count[(best, day)] += 1
            if day_count[(best, day)] == chosen.capacity_per_day:
                self.full_days[day] += 1
            week_count[(best, week)] += 1
            if week_count[(best, week)] == chosen.capacity_per_week:
                self.full_weeks[week] += 1
            run_rotation[(best, rkey)].append(ordinal)
            self.run_by_key[rkey].append((best, ordinal))
            self._raise_load(best)
        # Report unfilled jobs in the order they were given.
        return AssignmentResult(assignments, {job.id: unfilled[job.id] for job in self.jobs if job.id in unfilled})

    def _raise_load(self, sid: str) -> None:
        before = self.load[sid]
        self.load[sid] = before + 1
        self.level_count[before] -= 1
        self.level_count[before + 1] += 1
        if before == self.min_load and self.level_count[before] == 0:
            self.min_load += 1

    def reasons(self, job: Job) -> list[str]:
        """Counts of shoppers breaking each rule for `job`, given the run so far."""
        if not self.by_id:
            return ["no_shoppers"]
        counts = Counter(self.static(job)[2])
        key = _rotation_key(self.rules, job.location_id, job.brand_id)
        ordinal = job.local_date.toordinal()
        span = self.rules.rotation_days
        rotated = set(self.past_blocked(key, ordinal))
        rotated.update(sid for sid, other in self.run_by_key.get(key, ()) if abs(other - ordinal) < span)
        counts["rotation"] = len(rotated)
        week = _week(job.local_date)
        counts["capacity_day"] = self.full_always[0] + self.full_days[job.local_date]
        counts["capacity_week"] = self.full_always[1] + self.full_weeks[week]
        order = list(REASONS)
        return [
            f"{code}: {n}" for code, n in sorted(counts.items(), key=lambda kv: (-kv[1], order.index(kv[0]))) if n > 0
        ]


def _week(day: date) -> tuple[int, int]:
    iso = day.isocalendar()
    return iso[0], iso[1]


def validate_assignment(
    assignments: Mapping[str, str],
    jobs: Sequence[Job],
    shoppers: Sequence[Shopper],
    past: Sequence[Past],
    rules: Rules,
    *,
    now: datetime | None = None,
) -> list[str]:
    """Every rule the assignments break, one line per job, shopper and rule; empty when all hold.

    Deliberately written rule by rule without the indexes of auto_assign, so that it can
    check it. Each job is checked against the shopper's `past` plus every other job given
    to the same shopper in `assignments`; a `past` entry whose job_id is one of `jobs` (or
    of `assignments`) is that job being re-checked and is represented by `assignments`
    alone. Windows are checked only when `now` is given
    (an accepted assignment may legitimately be for a window that has since passed).
    """
    jobs_by_id = {job.id: job for job in jobs}
    shoppers_by_id = {s.id: s for s in shoppers}
    # Each shopper's work outside this check (history on jobs that are not being checked)...
    history: dict[str, list[tuple[str, str, date]]] = defaultdict(list)
    for p in past:
        if p.job_id is None or (p.job_id not in jobs_by_id and p.job_id not in assignments):
            history[p.shopper_id].append((p.location_id, p.brand_id, p.local_date))
    # ...and the jobs this check gives them.
    given: dict[str, list[str]] = defaultdict(list)
    for job_id, shopper_id in assignments.items():
        if job_id in jobs_by_id:
            given[shopper_id].append(job_id)

    problems: list[str] = []
    for job_id in sorted(assignments):
        shopper_id = assignments[job_id]
        job = jobs_by_id.get(job_id)
        shopper = shoppers_by_id.get(shopper_id)
        where = f"job {job_id} → shopper {shopper_id}"
        if job is None:
            problems.append(f"{where}: unknown job")
            continue
        if shopper is None:
            problems.append(f"{where}: unknown shopper")
            continue

        other_work = list(history[shopper_id])
        for other_id in given[shopper_id]:
            if other_id != job_id:
                other = jobs_by_id[other_id]
                other_work.append((other.location_id, other.brand_id, other.local_date))

        if now is not None and now >= job.window_end:
            problems.append(f"{where}: window_passed (window ended {job.window_end.isoformat()})")
        if job.brand_id in shopper.excluded_brand_ids:
            problems.append(f"{where}: conflict_of_interest (brand {job.brand_id} is excluded)")
        if job.location_id in shopper.excluded_location_ids:
            problems.append(f"{where}: conflict_of_interest (location {job.location_id} is excluded)")
        if job.language is not None and job.language not in shopper.languages:
            problems.append(f"{where}: language ({job.language} not in {sorted(shopper.languages)})")
        if job.channel == "visit":
            if job.lat is None or job.lon is None:
                problems.append(f"{where}: no_location_coordinates")
            elif shopper.lat is None or shopper.lon is None:
                problems.append(f"{where}: no_home_location")
            else:
                km = distance_km(shopper.lat, shopper.lon, job.lat, job.lon)
                if km > shopper.travel_radius_km:
                    problems.append(f"{where}: too_far ({km:.1f} km > {shopper.travel_radius_km} km)")

        for location_id, brand_id, day in other_work:
            if rules.rotation_scope == "brand":
                same = brand_id == job.brand_id
                what = f"brand {brand_id}"
            else:
                same = location_id == job.location_id
                what = f"location {location_id}"
            gap = abs((day - job.local_date).days)
            if same and gap < rules.rotation_days:
                problems.append(f"{where}: rotation ({what} also on {day}, {gap} days apart)")

        same_day = 1 + sum(1 for _, _, day in other_work if day == job.local_date)
        if same_day > shopper.capacity_per_day:
            problems.append(
                f"{where}: capacity_day ({same_day} jobs on {job.local_date}, capacity {shopper.capacity_per_day})"
            )
        year, week_number, _ = job.local_date.isocalendar()
        same_week = 1 + sum(
            1 for _, _, day in other_work if day.isocalendar()[0] == year and day.isocalendar()[1] == week_number
        )
        if same_week > shopper.capacity_per_week:
            problems.append(
                f"{where}: capacity_week ({same_week} jobs in week {year}-W{week_number:02d}, "
                f"capacity {shopper.capacity_per_week})"
            )
    return problems
