"""Assignment rules one by one, the automatic assigner's fairness and reasons, and its independent check."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.campaigns.assignment import (
    REASONS,
    Job,
    Past,
    Rules,
    Shopper,
    auto_assign,
    validate_assignment,
    violations,
)
from backend.geo import distance_km

BERLIN = (52.5200, 13.4050)
POTSDAM = (52.3906, 13.0645)  # about 27 km from Berlin centre
MUNICH = (48.1372, 11.5756)
NOW = datetime(2026, 6, 1, tzinfo=UTC)
DAY = date(2026, 6, 10)  # a Wednesday


def shopper(id: str = "s1", **changes: object) -> Shopper:
    base = Shopper(
        id=id,
        lat=BERLIN[0],
        lon=BERLIN[1],
        languages=frozenset({"de", "en"}),
        travel_radius_km=30.0,
        capacity_per_day=3,
        capacity_per_week=10,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def job(id: str = "j1", day: date = DAY, **changes: object) -> Job:
    start = datetime.combine(day, time(9), UTC)
    base = Job(
        id=id,
        location_id="loc-1",
        brand_id="brand-1",
        channel="visit",
        lat=POTSDAM[0],
        lon=POTSDAM[1],
        window_start=start,
        window_end=start + timedelta(hours=4),
        local_date=day,
        language="de",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def work(
    day: date, location_id: str = "loc-1", brand_id: str = "brand-1", shopper_id: str = "s1", job_id: str | None = None
) -> Past:
    return Past(shopper_id, location_id, brand_id, datetime.combine(day, time(12), UTC), day, job_id)


RULES = Rules()


def broken(s: Shopper, j: Job, past: list[Past] | None = None, rules: Rules = RULES, now: datetime = NOW) -> list[str]:
    return violations(s, j, past or [], rules, now=now)


# Distance ---------------------------------------------------------------------------


def test_distance_is_great_circle() -> None:
    assert distance_km(*BERLIN, *BERLIN) == 0
    assert distance_km(*BERLIN, *MUNICH) == pytest.approx(504.4, abs=0.5)
    assert distance_km(48.8566, 2.3522, 51.5074, -0.1278) == pytest.approx(343.6, abs=0.5)  # Paris–London
    assert distance_km(*BERLIN, *MUNICH) == distance_km(*MUNICH, *BERLIN)
    assert distance_km(0, 0, 0, 180) == pytest.approx(6371.0088 * 3.141592653589793)


# Each rule, both ways -----------------------------------------------------------------


def test_a_suitable_pair_breaks_nothing() -> None:
    assert broken(shopper(), job()) == []


def test_window_passed() -> None:
    j = job()
    assert broken(shopper(), j, now=j.window_end - timedelta(seconds=1)) == []
    assert broken(shopper(), j, now=j.window_end) == ["window_passed"]


def test_conflict_of_interest_by_brand_and_by_location() -> None:
    assert broken(shopper(excluded_brand_ids=frozenset({"brand-1"})), job()) == ["conflict_of_interest"]
    assert broken(shopper(excluded_location_ids=frozenset({"loc-1"})), job()) == ["conflict_of_interest"]
    assert (
        broken(shopper(excluded_brand_ids=frozenset({"brand-2"}), excluded_location_ids=frozenset({"loc-2"})), job())
        == []
    )


def test_language() -> None:
    assert broken(shopper(languages=frozenset({"en"})), job(language="de")) == ["language"]
    assert broken(shopper(languages=frozenset({"en"})), job(language=None)) == []
    assert broken(shopper(languages=frozenset()), job(language=None)) == []


def test_travel_radius_applies_to_visits_only() -> None:
    assert broken(shopper(travel_radius_km=30), job()) == []
    assert broken(shopper(travel_radius_km=20), job()) == ["too_far"]
    assert broken(shopper(travel_radius_km=20), job(channel="call")) == []
    assert broken(shopper(lat=MUNICH[0], lon=MUNICH[1]), job(channel="chat")) == []


def test_a_visit_needs_both_ends_located() -> None:
    assert broken(shopper(lat=None, lon=None), job()) == ["no_home_location"]
    assert broken(shopper(lat=None, lon=None), job(channel="call")) == []
    assert broken(shopper(), job(lat=None, lon=None)) == ["no_location_coordinates"]
    assert broken(shopper(), job(channel="email", lat=None, lon=None)) == []


def test_rotation_by_location() -> None:
    assert broken(shopper(), job(), [work(DAY - timedelta(days=89))]) == ["rotation"]
    assert broken(shopper(), job(), [work(DAY - timedelta(days=90))]) == []
    assert broken(shopper(), job(), [work(DAY + timedelta(days=30))]) == ["rotation"]  # already booked later
    assert broken(shopper(), job(), [work(DAY, location_id="loc-2")]) == []
    assert broken(shopper(), job(), [work(DAY - timedelta(days=10), shopper_id="s2")]) == []
    assert broken(shopper(), job(), [work(DAY, job_id="j1")]) == []  # its own existing assignment
    assert broken(shopper(), job(), [work(DAY)], Rules(rotation_days=0)) == []


def test_rotation_by_brand() -> None:
    other_branch = [work(DAY - timedelta(days=40), location_id="loc-2")]
    assert broken(shopper(), job(), other_branch, Rules(rotation_scope="brand")) == ["rotation"]
    assert broken(shopper(), job(), other_branch, Rules(rotation_scope="location")) == []
    other_brand = [work(DAY - timedelta(days=40), brand_id="brand-2")]
    assert broken(shopper(), job(), other_brand, Rules(rotation_scope="brand")) == []


def test_capacity_per_day() -> None:
    elsewhere = [work(DAY, location_id=f"other-{i}", brand_id="b") for i in range(2)]
    assert broken(shopper(capacity_per_day=3), job(), elsewhere) == []
    assert broken(shopper(capacity_per_day=2), job(), elsewhere) == ["capacity_day"]
    assert broken(shopper(capacity_per_day=0), job()) == ["capacity_day"]
    yesterday = [work(DAY - timedelta(days=1), location_id=f"other-{i}", brand_id="b") for i in range(2)]
    assert broken(shopper(capacity_per_day=2), job(), yesterday) == []


def test_capacity_per_iso_week() -> None:
    monday, sunday_before = date(2026, 6, 8), date(2026, 6, 7)
    in_week = [
        work(monday, location_id="x", brand_id="b"),
        work(DAY + timedelta(days=4), location_id="y", brand_id="b"),
    ]
    assert broken(shopper(capacity_per_week=2), job(), in_week) == ["capacity_week"]
    assert broken(shopper(capacity_per_week=3), job(), in_week) == []
    assert broken(shopper(capacity_per_week=1), job(), [work(sunday_before, location_id="x", brand_id="b")]) == []
    # 2026-W53 runs from Monday 28 December 2026 to Sunday 3 January 2027.
    new_year = [work(date(2027, 1, 2), location_id="x", brand_id="b")]
    assert broken(shopper(capacity_per_week=1), job(day=date(2026, 12, 29)), new_year) == ["capacity_week"]
    assert broken(shopper(capacity_per_week=1), job(day=date(2027, 1, 4)), new_year) == []


def test_every_broken_rule_is_listed() -> None:
    s = shopper(
        languages=frozenset({"fr"}),
        travel_radius_km=5,
        capacity_per_day=0,
        capacity_per_week=0,
        excluded_brand_ids=frozenset({"brand-1"}),
    )
    j = job()
    assert broken(s, j, [work(DAY)], now=j.window_end) == [
        "window_passed",
        "conflict_of_interest",
        "language",
        "too_far",
        "rotation",
        "capacity_day",
        "capacity_week",
    ]
    assert set(broken(s, j, [work(DAY)], now=j.window_end)) <= set(REASONS)


# Automatic assignment -----------------------------------------------------------------


def loads(assignments: dict[str, str]) -> Counter[str]:
    return Counter(assignments.values())


def test_identical_shoppers_get_loads_within_one() -> None:
    shoppers = [shopper(f"s{i}", capacity_per_day=100, capacity_per_week=1000) for i in range(7)]
    jobs = [
        job(f"j{i:03d}", day=DAY + timedelta(days=i % 5), location_id=f"loc-{i}", channel="call") for i in range(100)
    ]
    result = auto_assign(jobs, shoppers, [], RULES, now=NOW)
    assert result.unfilled == {}
    counts = loads(result.assignments)
    assert sorted(counts) == [f"s{i}" for i in range(7)]
    assert max(counts.values()) - min(counts.values()) <= 1


def test_visits_go_to_the_nearest_of_equally_loaded_shoppers() -> None:
    near = shopper("z-near", lat=POTSDAM[0] + 0.01, lon=POTSDAM[1])
    far = shopper("a-far")
    result = auto_assign([job("j1")], [far, near], [], RULES, now=NOW)
    assert result.assignments == {"j1": "z-near"}
    result = auto_assign([job("j1", channel="call")], [near, far], [], RULES, now=NOW)
    assert result.assignments == {"j1": "a-far"}  # calls: ties go by id


def test_the_most_constrained_job_is_filled_first() -> None:
    linguist = shopper("s1", languages=frozenset({"de", "tr"}), capacity_per_day=1)
    other = shopper("s2", capacity_per_day=1)
    easy = job("a-easy", channel="call", location_id="loc-a")
    hard = job("b-hard", channel="call", location_id="loc-b", language="tr")
    result = auto_assign([easy, hard], [linguist, other], [], RULES, now=NOW)
    assert result.assignments == {"a-easy": "s2", "b-hard": "s1"}


def test_rotation_and_capacity_hold_within_one_run() -> None:
    jobs = [job("j1"), job("j2", day=DAY + timedelta(days=30))]
    result = auto_assign(jobs, [shopper("s1"), shopper("s2")], [], RULES, now=NOW)
    assert len(set(result.assignments.values())) == 2
    result = auto_assign(jobs, [shopper("s1")], [], RULES, now=NOW)
    assert len(result.assignments) == 1
    (reasons,) = result.unfilled.values()
    assert reasons == ["rotation: 1"]

    calls = [job(f"j{i}", channel="call", location_id=f"loc-{i}") for i in range(3)]
    result = auto_assign(calls, [shopper("s1", capacity_per_day=2)], [], RULES, now=NOW)
    assert len(result.assignments) == 2
    assert list(result.unfilled.values()) == [["capacity_day: 1"]]


def test_history_counts_for_rotation_and_capacity() -> None:
    past = [
        work(DAY - timedelta(days=20), shopper_id="s1"),
        *[work(DAY, location_id=f"x{i}", brand_id="b", shopper_id="s2") for i in range(3)],
    ]
    result = auto_assign([job("j1")], [shopper("s1"), shopper("s2"), shopper("s3")], past, RULES, now=NOW)
    assert result.assignments == {"j1": "s3"}


def test_existing_work_on_a_job_of_the_run_is_not_counted_twice() -> None:
    # s1 already holds j1; re-running the assignment may give it to s1 again.
    past = [work(DAY, shopper_id="s1", job_id="j1")]
    result = auto_assign([job("j1")], [shopper("s1", capacity_per_day=1)], past, RULES, now=NOW)
    assert result.assignments == {"j1": "s1"}
    assert validate_assignment(result.assignments, [job("j1")], [shopper("s1", capacity_per_day=1)], past, RULES) == []


def test_a_job_nobody_can_take_lists_the_reasons() -> None:
    shoppers = [
        shopper("s1"),
        shopper("s2", languages=frozenset({"en"})),
        shopper("s3", lat=MUNICH[0], lon=MUNICH[1], languages=frozenset({"en"})),
        shopper("s4", lat=None, lon=None),
    ]
    result = auto_assign([job("j1", lat=MUNICH[0] + 1, lon=MUNICH[1])], shoppers, [], RULES, now=NOW)
    assert result.assignments == {}
    assert result.unfilled == {"j1": ["too_far: 3", "language: 2", "no_home_location: 1"]}


def test_job_level_reasons_and_no_shoppers() -> None:
    passed = job("old", day=date(2026, 5, 1))
    unlocated = job("nowhere", lat=None, lon=None)
    result = auto_assign([passed, unlocated, job("j1")], [], [], RULES, now=NOW)
    assert result.unfilled == {"old": ["window_passed"], "nowhere": ["no_location_coordinates"], "j1": ["no_shoppers"]}


def test_duplicate_ids_are_refused() -> None:
    with pytest.raises(ValueError, match="job ids"):
        auto_assign([job("j1"), job("j1")], [shopper()], [], RULES, now=NOW)
    with pytest.raises(ValueError, match="shopper ids"):
        auto_assign([job("j1")], [shopper(), shopper()], [], RULES, now=NOW)


# The independent check ----------------------------------------------------------------


def test_validate_lists_every_rule_with_job_and_shopper() -> None:
    s = shopper(
        "s1",
        languages=frozenset({"en"}),
        travel_radius_km=5,
        capacity_per_day=1,
        capacity_per_week=1,
        excluded_location_ids=frozenset({"loc-1"}),
    )
    jobs = [job("j1"), job("j2", day=DAY + timedelta(days=1))]
    problems = validate_assignment(
        {"j1": "s1", "j2": "s1", "j9": "s1", "j1x": "nobody"}, jobs + [job("j1x")], [s], [], RULES, now=NOW
    )
    text = "\n".join(problems)
    for fragment in [
        "job j1 → shopper s1: conflict_of_interest",
        "job j1 → shopper s1: language",
        "job j1 → shopper s1: too_far",
        "job j1 → shopper s1: rotation",
        "job j2 → shopper s1: rotation",
        "job j1 → shopper s1: capacity_week",
        "job j9 → shopper s1: unknown job",
        "job j1x → shopper nobody: unknown shopper",
    ]:
        assert fragment in text
    assert "capacity_day" not in text  # different days
    assert validate_assignment({"j1": "s1"}, [job("j1")], [shopper("s1")], [], RULES) == []


def test_validate_checks_windows_only_when_given_now() -> None:
    j = job("j1", day=date(2026, 5, 1))
    assert validate_assignment({"j1": "s1"}, [j], [shopper()], [], RULES) == []
    assert "window_passed" in validate_assignment({"j1": "s1"}, [j], [shopper()], [], RULES, now=NOW)[0]


def test_validate_counts_history_and_the_other_assignments() -> None:
    s = shopper("s1", capacity_per_day=2)
    jobs = [job(f"j{i}", channel="call", location_id=f"loc-{i}") for i in range(2)]
    assert validate_assignment({"j0": "s1", "j1": "s1"}, jobs, [s], [], RULES) == []
    busy = [work(DAY, location_id="x", brand_id="b")]
    assert len(validate_assignment({"j0": "s1", "j1": "s1"}, jobs, [s], busy, RULES)) == 2


# Properties ---------------------------------------------------------------------------

LANGUAGES = ["de", "en", "fr"]
LOCATIONS = {f"loc-{i}": (f"brand-{i % 3}", 50 + i * 0.3, 10 + (i % 3) * 0.4) for i in range(6)}


@st.composite
def worlds(draw: st.DrawFn) -> tuple[list[Job], list[Shopper], list[Past], Rules, datetime]:
    n_shoppers = draw(st.integers(0, 7))
    shoppers = []
    for i in range(n_shoppers):
        located = draw(st.booleans()) or draw(st.booleans())
        shoppers.append(
            Shopper(
                id=f"s{i}",
                lat=draw(st.floats(49.5, 52)) if located else None,
                lon=draw(st.floats(9.5, 11.5)) if located else None,
                languages=frozenset(draw(st.sets(st.sampled_from(LANGUAGES), max_size=3))),
                travel_radius_km=draw(st.sampled_from([0.0, 20.0, 60.0, 150.0, 400.0])),
                capacity_per_day=draw(st.integers(0, 3)),
                capacity_per_week=draw(st.integers(0, 6)),
                excluded_brand_ids=frozenset(
                    draw(st.sets(st.sampled_from(["brand-0", "brand-1", "brand-2"]), max_size=1))
                ),
                excluded_location_ids=frozenset(draw(st.sets(st.sampled_from(list(LOCATIONS)), max_size=1))),
            )
        )
    start = date(2026, 6, 1)
    jobs = []
    for i in range(draw(st.integers(0, 25))):
        location_id = draw(st.sampled_from(list(LOCATIONS)))
        brand_id, lat, lon = LOCATIONS[location_id]
        day = start + timedelta(days=draw(st.integers(0, 20)))
        window_start = datetime.combine(day, time(draw(st.integers(0, 20))), UTC)
        geocoded = draw(st.integers(0, 9)) > 0
        jobs.append(
            Job(
                id=f"j{i}",
                location_id=location_id,
                brand_id=brand_id,
                channel=draw(st.sampled_from(["visit", "visit", "call", "chat"])),
                lat=lat if geocoded else None,
                lon=lon if geocoded else None,
                window_start=window_start,
                window_end=window_start + timedelta(hours=draw(st.integers(1, 11))),
                local_date=day,
                language=draw(st.sampled_from([None, *LANGUAGES])),
            )
        )
    past = []
    if shoppers:
        for _ in range(draw(st.integers(0, 12))):
            location_id = draw(st.sampled_from(list(LOCATIONS)))
            day = start + timedelta(days=draw(st.integers(-100, 25)))
            job_ids = [j.id for j in jobs]
            past.append(
                Past(
                    f"s{draw(st.integers(0, n_shoppers - 1))}",
                    location_id,
                    LOCATIONS[location_id][0],
                    datetime.combine(day, time(12), UTC),
                    day,
                    draw(st.sampled_from([None, *job_ids])) if job_ids else None,
                )
            )
    rules = Rules(
        rotation_days=draw(st.sampled_from([0, 1, 7, 90])), rotation_scope=draw(st.sampled_from(["location", "brand"]))
    )
    now = datetime.combine(start + timedelta(days=draw(st.integers(-1, 3))), time(12), UTC)
    return jobs, shoppers, past, rules, now


@settings(max_examples=250, deadline=None)
@given(world=worlds())
def test_auto_assign_never_breaks_a_rule_and_never_loses_a_job(
    world: tuple[list[Job], list[Shopper], list[Past], Rules, datetime],
) -> None:
    jobs, shoppers, past, rules, now = world
    result = auto_assign(jobs, shoppers, past, rules, now=now)
    assert validate_assignment(result.assignments, jobs, shoppers, past, rules, now=now) == []
    assert set(result.assignments).isdisjoint(result.unfilled)
    assert set(result.assignments) | set(result.unfilled) == {j.id for j in jobs}
    assert auto_assign(jobs, shoppers, past, rules, now=now) == result  # deterministic

    # Nothing left unfilled could still go to anyone: every shopper breaks some rule for it,
    # given the history (less work on the run's own jobs) plus everything assigned.
    run_ids = {j.id for j in jobs}
    jobs_by_id = {j.id: j for j in jobs}
    final = [p for p in past if p.job_id not in run_ids] + [
        Past(
            sid,
            jobs_by_id[jid].location_id,
            jobs_by_id[jid].brand_id,
            jobs_by_id[jid].window_start,
            jobs_by_id[jid].local_date,
            jid,
        )
        for jid, sid in result.assignments.items()
    ]
    for job_id, reasons in result.unfilled.items():
        assert reasons
        for reason in reasons:
            code = reason.split(":")[0]
            assert code in REASONS or code == "no_shoppers"
        for s in shoppers:
            assert violations(s, jobs_by_id[job_id], final, rules, now=now)


@settings(max_examples=120, deadline=None)
@given(world=worlds())
def test_unfilled_reason_counts_agree_with_violations(
    world: tuple[list[Job], list[Shopper], list[Past], Rules, datetime],
) -> None:
    # One job at a time, so the run's state at the moment of failure is just the history.
    jobs, shoppers, past, rules, now = world
    for j in jobs[:5]:
        result = auto_assign([j], shoppers, past, rules, now=now)
        if j.id not in result.unfilled or not shoppers:
            continue
        reasons = result.unfilled[j.id]
        if reasons[0] in ("window_passed", "no_location_coordinates"):
            assert reasons == [reasons[0]]
            continue
        expected = Counter(code for s in shoppers for code in violations(s, j, past, rules, now=now))
        assert dict(expected) == {r.split(": ")[0]: int(r.split(": ")[1]) for r in reasons}
