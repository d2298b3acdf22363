"""Automatic assignment at scale: 10,000 planned visits and calls for 500 shoppers, timed and checked."""

from __future__ import annotations

import json
import math
import random
import statistics
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta

from backend.campaigns.assignment import Job, Past, Rules, Shopper, auto_assign, validate_assignment
from backend.campaigns.planning import Daypart, DayType, SlotDesign, plan_wave

# (city, lat, lon, time zone, main language, other languages heard there)
CITIES = [
    ("Berlin", 52.520, 13.405, "Europe/Berlin", "de", ["en", "tr"]),
    ("Munich", 48.137, 11.575, "Europe/Berlin", "de", ["en"]),
    ("Hamburg", 53.551, 9.994, "Europe/Berlin", "de", ["en"]),
    ("Vienna", 48.208, 16.373, "Europe/Vienna", "de", ["en"]),
    ("London", 51.507, -0.128, "Europe/London", "en", ["fr", "es"]),
    ("Manchester", 53.481, -2.243, "Europe/London", "en", []),
    ("Madrid", 40.417, -3.704, "Europe/Madrid", "es", ["en"]),
    ("Barcelona", 41.385, 2.173, "Europe/Madrid", "es", ["en", "fr"]),
    ("New York", 40.713, -74.006, "America/New_York", "en", ["es"]),
    ("Chicago", 41.878, -87.630, "America/Chicago", "en", ["es"]),
]
BRANDS = [f"brand-{i:02d}" for i in range(12)]
WAVE_START, WAVE_END = date(2026, 12, 7), date(2027, 1, 3)
NOW = datetime(2026, 12, 6, tzinfo=UTC)
DESIGN = SlotDesign(
    dayparts=(
        Daypart("morning", 8, 12),
        Daypart("afternoon", 12, 17),
        Daypart("evening", 17, 21),
        Daypart("out_of_hours", 21, 8),
    ),
    day_types=(DayType.weekday, DayType.saturday, DayType.sunday),
    probes_per_slot=3,
)


def _near(rng: random.Random, lat: float, lon: float, km: float) -> tuple[float, float]:
    distance, bearing = km * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
    return (
        lat + distance * math.cos(bearing) / 111.2,
        lon + distance * math.sin(bearing) / (111.2 * math.cos(math.radians(lat))),
    )


def generate(n_jobs: int, n_shoppers: int, seed: int = 20261207) -> tuple[list[Job], list[Shopper], list[Past]]:
    """A deterministic world: locations in ten cities (a few out in the country), shoppers and histories."""
    rng = random.Random(seed)
    per_location = len(DESIGN.day_types) * len(DESIGN.dayparts) * DESIGN.probes_per_slot
    n_locations = math.ceil(n_jobs / per_location)

    locations: dict[str, dict[str, object]] = {}
    for i in range(n_locations):
        city = CITIES[i % len(CITIES)]
        remote = i % 37 == 36  # a rural branch no shopper lives near enough to visit
        lat, lon = _near(rng, city[1], city[2], 160.0 if remote else 15.0)
        if remote:
            lat += 1.2
        languages = [city[4], *city[5]]
        locations[f"loc-{i:03d}"] = {
            "city": city,
            "lat": lat,
            "lon": lon,
            "zone": city[3],
            "brand": rng.choice(BRANDS),
            "visits": rng.random() < 0.4,
            "language": city[4] if rng.random() < 0.85 else rng.choice(languages),
        }

    probes, problems = plan_wave(
        DESIGN, WAVE_START, WAVE_END, [(lid, str(loc["zone"])) for lid, loc in locations.items()], salt="bench"
    )
    assert not problems, problems
    jobs: list[Job] = []
    for probe in probes[:n_jobs]:
        loc = locations[probe.location_id]
        daytime = not probe.slot_key.endswith("out_of_hours")
        visit = bool(loc["visits"]) and daytime
        jobs.append(
            Job(
                id=f"{probe.location_id}/{probe.slot_key}/{probe.index}",
                location_id=probe.location_id,
                brand_id=str(loc["brand"]),
                channel="visit" if visit else "call",
                lat=float(loc["lat"]),
                lon=float(loc["lon"]),  # type: ignore[arg-type]
                window_start=probe.window_start,
                window_end=probe.window_end,
                local_date=probe.local_date,
                language=None if rng.random() < 0.05 else str(loc["language"]),
            )
        )

    shoppers: list[Shopper] = []
    for i in range(n_shoppers):
        city = CITIES[i % len(CITIES)]
        lat, lon = _near(rng, city[1], city[2], 25.0)
        homeless = rng.random() < 0.03
        languages = {city[4]} | {lang for lang in city[5] if rng.random() < 0.35}
        if rng.random() < 0.3:
            languages.add("en")
        shoppers.append(
            Shopper(
                id=f"shopper-{i:03d}",
                lat=None if homeless else lat,
                lon=None if homeless else lon,
                languages=frozenset(languages),
                travel_radius_km=rng.choice([10.0, 20.0, 30.0, 50.0]),
                capacity_per_day=rng.choice([2, 3, 4]),
                capacity_per_week=rng.choice([6, 8, 10, 12, 15]),
                excluded_brand_ids=frozenset([rng.choice(BRANDS)]) if rng.random() < 0.05 else frozenset(),
                excluded_location_ids=frozenset([rng.choice(list(locations))]) if rng.random() < 0.02 else frozenset(),
            )
        )

    # Histories: the last four months of work, mostly in the shopper's own city, plus a few
    # tasks already assigned inside the wave.
    by_city: dict[str, list[str]] = {}
    for lid, loc in locations.items():
        by_city.setdefault(loc["city"][0], []).append(lid)  # type: ignore[index]
    past: list[Past] = []
    for i, shopper in enumerate(shoppers):
        own = by_city.get(CITIES[i % len(CITIES)][0]) or list(locations)
        for _ in range(rng.randint(5, 30)):
            lid = rng.choice(own) if rng.random() < 0.8 else rng.choice(list(locations))
            day = NOW.date() - timedelta(days=rng.randint(1, 120))
            past.append(
                Past(
                    shopper.id, lid, str(locations[lid]["brand"]), datetime.combine(day, datetime.min.time(), UTC), day
                )
            )
        for _ in range(rng.randint(0, 3)):
            lid = rng.choice(own)
            day = WAVE_START + timedelta(days=rng.randint(0, (WAVE_END - WAVE_START).days))
            past.append(
                Past(
                    shopper.id, lid, str(locations[lid]["brand"]), datetime.combine(day, datetime.min.time(), UTC), day
                )
            )
    return jobs, shoppers, past


def run(quick: bool = False) -> dict[str, object]:
    """Time auto_assign (median of 3) on the generated world and check the result independently."""
    n_jobs, n_shoppers = (2_000, 100) if quick else (10_000, 500)
    jobs, shoppers, past = generate(n_jobs, n_shoppers)
    rules = Rules(rotation_days=90, rotation_scope="location")
    times: list[float] = []
    result = None
    for _ in range(3):
        started = time.perf_counter()
        result = auto_assign(jobs, shoppers, past, rules, now=NOW)
        times.append(time.perf_counter() - started)
    assert result is not None
    problems = validate_assignment(result.assignments, jobs, shoppers, past, rules, now=NOW)
    if problems:
        raise AssertionError(f"{len(problems)} rule violations, e.g. {problems[:3]}")
    if len(result.assignments) + len(result.unfilled) != len(jobs) or set(result.assignments) & set(result.unfilled):
        raise AssertionError("a job was lost or both assigned and unfilled")
    per_shopper: dict[str, int] = {}
    for shopper_id in result.assignments.values():
        per_shopper[shopper_id] = per_shopper.get(shopper_id, 0) + 1
    loads = sorted(per_shopper.values())
    return {
        "jobs": len(jobs),
        "shoppers": len(shoppers),
        "visits": sum(1 for job in jobs if job.channel == "visit"),
        "past_work": len(past),
        "median_s": round(statistics.median(times), 3),
        "runs_s": [round(t, 3) for t in times],
        "assigned": len(result.assignments),
        "unfilled": len(result.unfilled),
        "unfilled_by_main_reason": dict(
            Counter(reasons[0].split(":")[0] for reasons in result.unfilled.values()).most_common()
        ),
        "shoppers_used": len(per_shopper),
        "load_min_max": [loads[0], loads[-1]] if loads else [0, 0],
        "violations": len(problems),
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
