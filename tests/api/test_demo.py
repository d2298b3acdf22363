"""The demo data: the shape the issue promises, real scored reports, and the same content every load."""

from __future__ import annotations

from backend import db
from backend.accounts.tables import User
from backend.demo import DEMO_LOGINS, load_demo
from backend.locations.tables import Location, OrganisationBrand
from backend.reports.tables import Report
from tests.world import World


async def _content() -> list[tuple]:
    rows = await Report.select(Report.location.code, Report.status, Report.score_final, Report.answers).output(
        load_json=True
    )
    return sorted((r["location.code"], r["status"], r["score_final"], str(r["answers"])) for r in rows)


async def test_demo_has_what_every_page_needs(app, client, settings):
    await load_demo(engine=db.engine(), settings=settings, reports_per_location=2)
    relations = await OrganisationBrand.select(OrganisationBrand.brand, OrganisationBrand.relation)
    own = [r["brand"] for r in relations if r["relation"] == "own"]
    rivals = [r["brand"] for r in relations if r["relation"] == "competitor"]
    assert len(own) == 1 and len(rivals) == 2
    own_locations = await Location.select(Location.region, Location.timezone).where(Location.brand.is_in(own))
    assert len(own_locations) >= 12
    assert len({r["region"] for r in own_locations}) >= 3 and len({r["timezone"] for r in own_locations}) >= 2
    for rival in rivals:
        assert await Location.count().where(Location.brand == rival) >= 6
    roles = [r["role"] for r in await User.select(User.role)]
    assert roles.count("shopper") == 8 and {"admin", "coordinator", "manager"} <= set(roles)
    assert await Report.count().where(Report.status == "approved") > 0

    # The printed logins work and the manager sees scores side by side.
    w = World(client)
    for role, email in DEMO_LOGINS["users"]:
        w.tokens[role] = await w.login(email, DEMO_LOGINS["password"])
    scores = await w.ok("manager", "GET", "/analytics/location-scores", params={"min_sample_size": 2})
    relations_seen = {row["relation"] for row in scores["locations"] if row["score"]["n"] > 0}
    assert relations_seen == {"own", "competitor"}
    shopper_tasks = await w.ok("shopper", "GET", "/tasks")
    assert shopper_tasks["total"] > 0


async def test_demo_is_deterministic(app, settings, tmp_path):
    await load_demo(engine=db.engine(), settings=settings, reports_per_location=1)
    first = await _content()
    from backend.db import create_engine

    other = create_engine(f"sqlite:///{tmp_path / 'second.sqlite3'}")
    from tests.conftest import _migrate

    _migrate(f"sqlite:///{tmp_path / 'second.sqlite3'}")
    previous = db.engine()
    try:
        await load_demo(engine=other, settings=settings, reports_per_location=1)
        second = await _content()
    finally:
        db.bind(previous)
    assert first == second and len(first) > 0
