"""Deterministic demo data: one client with its own brand, two competitors, staff, shoppers, forms,
tasks across the day and night, and scored, reviewed reports — loaded through the real services."""

from __future__ import annotations

import datetime as dt
import random
import sys
import uuid
import zoneinfo
from typing import Any

import msgspec

from api_schemas.accounts import OrganisationCreate, Role, ShopperProfileUpdate, UserCreate
from api_schemas.forms import (
    Band,
    Channel,
    Decimal,
    Duration,
    FormCreate,
    FormDefinition,
    Gps,
    Integer,
    MultipleChoice,
    Nps,
    Rating,
    SingleChoice,
    Text,
    TimerSequence,
    Timestamp,
    YesNo,
)
from api_schemas.locations import (
    BrandCreate,
    BrandRelation,
    LocationCreate,
    OpeningInterval,
    OrganisationBrandSet,
    Weekday,
)
from api_schemas.reports import ReportCreate, ReportReject
from api_schemas.tasks import TaskCreate
from backend import db, moments
from backend.accounts import service as accounts
from backend.accounts.security import Actor
from backend.accounts.tables import User
from backend.forms import service as forms
from backend.forms.answers import check_answers
from backend.forms.definition import iter_questions, visibility
from backend.locations import service as locations
from backend.reports import service as reports
from backend.reports import submission
from backend.settings import load_settings
from backend.tasks import service as tasks
from mobile_forms.templates import load_template

PASSWORD = "fieldscore-demo"
DEMO_LOGINS: dict[str, Any] = {
    "password": PASSWORD,
    "users": [
        ("admin", "admin@demo.fieldscore.test"),
        ("coordinator", "coordinator@demo.fieldscore.test"),
        ("manager", "manager@demo.fieldscore.test"),
        ("shopper", "shopper1@demo.fieldscore.test"),
    ],
}
NAMESPACE = uuid.UUID("6d1f3c0e-4f7e-4c55-9a51-0b6c1d2e3f40")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")

# (region, district, city, time zone, lat, lon)
PLACES = [
    ("Berlin", "Mitte", "Berlin", "Europe/Berlin", 52.520, 13.405),
    ("Berlin", "Kreuzberg", "Berlin", "Europe/Berlin", 52.499, 13.403),
    ("Berlin", "Spandau", "Berlin", "Europe/Berlin", 52.535, 13.200),
    ("Bavaria", "Munich", "München", "Europe/Berlin", 48.137, 11.575),
    ("Bavaria", "Nuremberg", "Nürnberg", "Europe/Berlin", 49.452, 11.077),
    ("Bavaria", "Augsburg", "Augsburg", "Europe/Berlin", 48.370, 10.898),
    ("Attica", "Athens Centre", "Αθήνα", "Europe/Athens", 37.984, 23.728),
    ("Attica", "Piraeus", "Πειραιάς", "Europe/Athens", 37.943, 23.647),
    ("Central Macedonia", "Thessaloniki", "Θεσσαλονίκη", "Europe/Athens", 40.640, 22.944),
    ("Bohemia", "Prague 1", "Praha", "Europe/Prague", 50.087, 14.421),
    ("Bohemia", "Plzeň", "Plzeň", "Europe/Prague", 49.738, 13.373),
    ("Moravia", "Brno", "Brno", "Europe/Prague", 49.195, 16.608),
]
# Brand → (relation, base quality, how many of PLACES it has)
BRANDS = {"Nordlicht": ("own", 0.80, 12), "Funkwelle": ("competitor", 0.72, 7), "Telekon": ("competitor", 0.62, 6)}
DAYPARTS = ((8, 12), (12, 17), (17, 21), (21, 32))  # local hours; 21–08 is out of hours
COMMENTS = [
    "Friendly and quick.",
    "Had to repeat my question twice.",
    "Hold music was very loud.",
    "Offered a call-back without being asked.",
    "Agent seemed rushed.",
    "Clear, correct answer.",
]


def _id(*parts: object) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, "/".join(str(p) for p in parts))


def _progress(label: str, done: int, total: int) -> None:
    width = 30
    filled = width * done // max(total, 1)
    end = "\n" if done >= total else ""
    sys.stdout.write(f"\r  {label:<10} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}{end}")
    sys.stdout.flush()


# ---------------------------------------------------------------- answers a shopper might give


def _band_value(bands: list[Band], rng: random.Random, quality: float, low: float, high: float) -> float:
    ordered = sorted(bands, key=lambda b: -b.points)
    band = ordered[0] if rng.random() < quality else rng.choice(ordered)
    start = band.min if band.min is not None else low
    stop = band.max if band.max is not None else start + 120
    return max(low, min(high, rng.uniform(start, stop)))


def synth_answers(
    defn: FormDefinition,
    rng: random.Random,
    quality: float,
    started_at: dt.datetime,
    place: tuple[Any, ...],
    call_s: float,
) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    answered_call = True
    for info in iter_questions(defn):
        q = info.question
        if not visibility(defn, answers).shown.get(q.key, True):
            continue
        if not q.required and rng.random() < 0.3:
            continue
        # Critical failures (rudeness, say) are rare in practice; everything else tracks quality.
        good = rng.random() < (0.96 if q.critical else quality)
        value: Any = None
        if isinstance(q, TimerSequence):
            at = started_at
            events = [{"event": "dialled", "at": at.isoformat()}]
            answered_call = rng.random() > 0.06
            if answered_call:
                wait = _band_value(q.bands, rng, quality, 1, q.give_up_s - 1) if q.bands else rng.uniform(3, 60)
                events.append({"event": "answered", "at": (at + dt.timedelta(seconds=wait)).isoformat()})
                events.append({"event": "ended", "at": (at + dt.timedelta(seconds=wait + call_s)).isoformat()})
            else:
                events.append({"event": "gave_up", "at": (at + dt.timedelta(seconds=q.give_up_s)).isoformat()})
            value = {"events": events}
        elif isinstance(q, YesNo):
            if q.key == "person_answered" or (q.metric and q.metric.value == "answered"):
                value = answered_call
            else:
                yes_is_good = (q.points_yes or 0) >= (q.points_no or 0)
                value = good if yes_is_good else not good
        elif isinstance(q, SingleChoice):
            ranked = sorted(q.choices, key=lambda c: -(c.points or 0))
            value = (ranked[0] if good else rng.choice(ranked)).value
        elif isinstance(q, MultipleChoice):
            value = sorted({c.value for c in q.choices if rng.random() < 0.4})
        elif isinstance(q, Rating):
            spread = q.max - q.min
            value = max(q.min, min(q.max, q.min + round(spread * min(1.0, rng.gauss(quality, 0.2)))))
        elif isinstance(q, Nps):
            value = max(0, min(10, round(rng.gauss(quality * 10, 1.8))))
        elif isinstance(q, (Integer, Decimal, Duration)):
            low = q.min if q.min is not None else 0
            high = q.max if q.max is not None else 3600
            raw = _band_value(q.bands, rng, quality, low, high) if q.bands else rng.uniform(low, min(high, low + 60))
            raw = max(low, min(high, raw))
            value = int(min(high, max(low, round(raw)))) if isinstance(q, Integer) else round(raw, 1)
        elif isinstance(q, Timestamp):
            value = (started_at + dt.timedelta(seconds=rng.randint(0, 30))).isoformat()
        elif isinstance(q, Gps):
            value = {
                "lat": place[4] + rng.uniform(-0.0005, 0.0005),
                "lon": place[5] + rng.uniform(-0.0005, 0.0005),
                "accuracy_m": round(rng.uniform(4, 25), 1),
            }
        elif isinstance(q, Text):
            value = rng.choice(COMMENTS)
        else:  # photo, file, note: nothing to synthesise without a real attachment
            continue
        if q.na_allowed and not q.required and rng.random() < 0.1:
            value = {"na": True}
        answers[q.key] = value
    return answers


# ---------------------------------------------------------------- loading


async def _is_empty() -> bool:
    return not await User.exists().where(User.id.is_not_null())


async def load_demo(
    *, only_if_empty: bool = False, reports_per_location: int = 6, engine: Any = None, settings: Any = None
) -> bool:
    """Load the demo into the configured database (or `engine`, whose pool the caller manages).
    Returns whether the demo's logins work there: loaded now, or by an earlier run."""
    settings = settings or load_settings()
    own_engine = engine is None
    if own_engine:
        from backend.piccolo_conf import DB

        engine = DB
    db.bind(engine)
    if own_engine:
        await db.open_pool(engine, min_size=1, max_size=4)
    try:
        if not await _is_empty():
            if only_if_empty:
                print("demo: database already has users; leaving it as it is")
                return await User.exists().where(User.email == DEMO_LOGINS["users"][0][1])
            raise SystemExit("demo: the database is not empty; load the demo into a fresh database")
        await _load(settings, reports_per_location)
        return True
    finally:
        if own_engine:
            await db.close_pool(engine)


async def _load(settings: Any, reports_per_location: int) -> None:
    rng = random.Random(20261123)
    passwords = settings.passwords()
    print("Loading demo data")
    system = Actor(user_id=None, role=Role.admin, organisation_id=None)  # type: ignore[arg-type]

    admin = await accounts.create_user(
        system,
        UserCreate(email="admin@demo.fieldscore.test", name="Ada Admin", role=Role.admin, password=PASSWORD),
        passwords,
    )
    staff = Actor(user_id=admin.id, role=Role.admin, organisation_id=None)
    org = await accounts.create_organisation(staff, OrganisationCreate(name="Nordlicht Telecom"))
    coordinator = await accounts.create_user(
        staff,
        UserCreate(
            email="coordinator@demo.fieldscore.test", name="Cora Coordinator", role=Role.coordinator, password=PASSWORD
        ),
        passwords,
    )
    await accounts.create_user(
        staff,
        UserCreate(
            email="manager@demo.fieldscore.test",
            name="Max Manager",
            role=Role.manager,
            password=PASSWORD,
            organisation_id=org.id,
        ),
        passwords,
    )
    coord = Actor(user_id=coordinator.id, role=Role.coordinator, organisation_id=None)

    shoppers = []
    for i in range(1, 9):
        place = PLACES[(i * 5) % len(PLACES)]
        user = await accounts.create_user(
            staff,
            UserCreate(
                email=f"shopper{i}@demo.fieldscore.test", name=f"Shopper {i}", role=Role.shopper, password=PASSWORD
            ),
            passwords,
        )
        await accounts.set_shopper_profile(
            coord,
            user.id,
            ShopperProfileUpdate(
                home_lat=place[4],
                home_lon=place[5],
                languages=["en", {"Europe/Berlin": "de", "Europe/Athens": "el", "Europe/Prague": "cs"}[place[3]]],
                travel_radius_km=40,
                capacity_per_day=4,
                capacity_per_week=15,
            ),
        )
        shoppers.append(user)
        _progress("users", i, 8)

    brand_locations: dict[str, list[tuple[Any, tuple[Any, ...], float]]] = {}
    total_locations = sum(n for _, _, n in BRANDS.values())
    made = 0
    for name, (relation, quality, count) in BRANDS.items():
        brand = await locations.create_brand(coord, BrandCreate(name=name))
        await locations.set_organisation_brand(
            coord, org.id, brand.id, OrganisationBrandSet(relation=BrandRelation(relation))
        )
        offset = rng.randrange(len(PLACES))
        for k in range(count):
            place = PLACES[(offset + k * 5) % len(PLACES)] if count < len(PLACES) else PLACES[k]
            region, district, city, tz, lat, lon = place
            location = await locations.create_location(
                coord,
                LocationCreate(
                    brand_id=brand.id,
                    name=f"{name} {city} {district}" if city != district else f"{name} {city}",
                    code=f"{name[:3].upper()}-{k + 1:03d}",
                    region=region,
                    district=district,
                    address=f"{rng.randint(1, 120)} Hauptstraße, {city}",
                    lat=lat + rng.uniform(-0.01, 0.01),
                    lon=lon + rng.uniform(-0.01, 0.01),
                    phone=f"+49 30 {rng.randint(1000000, 9999999)}",
                    email=f"{name.lower()}.{k + 1}@example.com",
                    timezone=tz,
                    opening_hours=[OpeningInterval(day=Weekday(d), opens="09:00", closes="19:00") for d in WEEKDAYS]
                    + [OpeningInterval(day=Weekday.sat, opens="10:00", closes="16:00")],
                ),
            )
            brand_locations.setdefault(name, []).append(
                (location, place, max(0.2, min(0.97, quality + rng.uniform(-0.08, 0.08))))
            )
            made += 1
            _progress("locations", made, total_locations)

    versions = {}
    for template, channel, title in (
        ("test_call", Channel.call, "Test call"),
        ("store_visit", Channel.visit, "Store visit"),
        ("test_email", Channel.email, "Test e-mail"),
        ("live_chat", Channel.chat, "Live chat"),
    ):
        definition = msgspec.convert(load_template(template), FormDefinition)
        form = await forms.create_form(
            coord, FormCreate(name=title, channel=channel, organisation_id=org.id, definition=definition)
        )
        versions[channel] = (await forms.publish(coord, form.id), definition)
    print(f"  forms      {len(versions)} published (call, visit, e-mail, chat)")

    # Past waves: test calls in every daypart over the last eight weeks, reported and reviewed.
    today = moments.now().replace(hour=0, minute=0, second=0, microsecond=0)
    call_version, call_definition = versions[Channel.call]
    all_locations = [item for items in brand_locations.values() for item in items]
    total_reports = len(all_locations) * reports_per_location
    done = 0
    for location_index, (location, place, quality) in enumerate(all_locations):
        zone = zoneinfo.ZoneInfo(location.timezone)
        for n in range(reports_per_location):
            day = (today - dt.timedelta(days=3 + n * 7 + rng.randint(0, 5))).astimezone(zone).date()
            start_h, end_h = DAYPARTS[n % len(DAYPARTS)]
            local_start = dt.datetime(day.year, day.month, day.day, tzinfo=zone) + dt.timedelta(hours=start_h)
            window_start = local_start.astimezone(dt.timezone.utc)
            window_end = window_start + dt.timedelta(hours=end_h - start_h)
            # Each location gets each shopper at most once: the 90-day rotation rule holds in the demo too.
            shopper = shoppers[(location_index + n) % len(shoppers)]
            task = await tasks.create_task(
                coord,
                TaskCreate(
                    organisation_id=org.id,
                    location_id=location.id,
                    form_version_id=call_version.id,
                    channel=Channel.call,
                    window_start=window_start,
                    window_end=window_end,
                    shopper_id=shopper.id,
                ),
                as_of=window_start - dt.timedelta(days=7),
            )
            call_s = rng.uniform(90, 420)
            started = window_start + dt.timedelta(minutes=rng.randint(5, 60 * (end_h - start_h) - 15))
            answers = synth_answers(
                call_definition, rng, quality if start_h < 21 else quality - 0.15, started, place, call_s
            )
            problems = check_answers(call_definition, answers)
            if problems:
                raise RuntimeError(f"demo answers do not validate: {problems}")
            shopper_actor = Actor(user_id=shopper.id, role=Role.shopper, organisation_id=None)
            report, _ = await submission.submit(
                shopper_actor,
                ReportCreate(
                    id=_id("report", location.code, n),
                    task_id=task.id,
                    started_at=started,
                    ended_at=started + dt.timedelta(seconds=call_s + 330),
                    answers=answers,
                ),
            )
            roll = rng.random()
            if roll < 0.85:
                await reports.approve(coord, report.id)
            elif roll < 0.9:
                await reports.reject(coord, report.id, ReportReject(reason="Call made outside the agreed slot."))
            done += 1
            _progress("reports", done, total_reports)

    # Upcoming work: open and assigned tasks for the next two weeks, visits and calls.
    upcoming = 0
    visit_version, _ = versions[Channel.visit]
    for i, (location, _place, _) in enumerate(all_locations):
        zone = zoneinfo.ZoneInfo(location.timezone)
        day = (today + dt.timedelta(days=1 + i % 14)).astimezone(zone).date()
        start = dt.datetime(day.year, day.month, day.day, 10, tzinfo=zone).astimezone(dt.timezone.utc)
        channel, version = (Channel.visit, visit_version) if i % 2 else (Channel.call, call_version)
        # A shopper who has not shopped this location yet (rotation), or nobody: it goes to the job board.
        fresh = (i + reports_per_location) % len(shoppers) if reports_per_location < len(shoppers) else None
        shopper_id = shoppers[fresh].id if fresh is not None and i % 3 and channel == Channel.call else None
        await tasks.create_task(
            coord,
            TaskCreate(
                organisation_id=org.id,
                location_id=location.id,
                form_version_id=version.id,
                channel=channel,
                window_start=start,
                window_end=start + dt.timedelta(hours=6),
                shopper_id=shopper_id,
            ),
        )
        upcoming += 1
    print(f"  upcoming   {upcoming} tasks over the next two weeks")
    print(f"Demo loaded: {total_locations} locations, 8 shoppers, {total_reports} call reports.")
