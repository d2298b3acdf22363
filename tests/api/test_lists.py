"""What every list shares: text search that takes % and _ literally and ignores case, and pages that
neither overlap nor skip rows when the sort keys tie."""

from __future__ import annotations

import pytest

from tests.api.forms_fixture import SMALL_CALL_FORM
from tests.builders import campaign, publish_form
from tests.world import build_world


async def test_search_ignores_case_and_takes_wildcards_literally(client):
    w = await build_world(client)
    version = await publish_form(w)
    await campaign(w, version, name="Hotline 100% Club")
    await campaign(w, version, name="Hotline 2027")
    await w.ok(
        "coordinator", "POST", "/forms", json={"name": "Call_check", "channel": "call", "definition": SMALL_CALL_FORM}
    )
    searches = [  # (who, list, text that is in exactly one item's name, how many items the list has in all)
        ("admin", "/users", "SHOPPER@EXAMPLE"),
        ("admin", "/organisations", "oTHer"),
        ("coordinator", "/brands", "RIVAL"),
        ("coordinator", "/locations", "prague centre"),
        ("coordinator", "/forms", "CALL_CHECK"),
        ("coordinator", "/campaigns", "100% club"),
    ]
    for who, url, text in searches:
        everything = (await w.ok(who, "GET", url))["total"]
        assert everything >= 2, url
        found = await w.ok(who, "GET", url, params={"q": text})
        assert found["total"] >= 1, (url, text)
        for wildcard in ("%", "_", "\\"):
            assert (await w.ok(who, "GET", url, params={"q": wildcard}))["total"] < everything, (url, wildcard)
    assert (await w.ok("coordinator", "GET", "/campaigns", params={"q": "100%"}))["total"] == 1
    assert (await w.ok("coordinator", "GET", "/forms", params={"q": "l_c"}))["total"] == 1  # Cal(l_c)heck only


@pytest.mark.parametrize(("url", "make"), [("/locations", "location"), ("/forms", "form")])
async def test_pages_of_tied_rows_neither_overlap_nor_skip(client, url, make):
    w = await build_world(client)
    before = {item["id"] for item in (await w.ok("coordinator", "GET", url, params={"limit": 500}))["items"]}
    for i in range(60):
        if make == "location":
            await w.ok(
                "coordinator",
                "POST",
                "/locations",
                json={"brand_id": w.own_brand_id, "name": "Same", "region": "Same", "timezone": "Europe/Prague"},
            )
        else:
            await w.ok(
                "coordinator", "POST", "/forms", json={"name": "Same", "channel": "call", "definition": SMALL_CALL_FORM}
            )
    seen: list[str] = []
    for offset in range(0, 70, 7):
        seen += [
            item["id"]
            for item in (await w.ok("coordinator", "GET", url, params={"limit": 7, "offset": offset}))["items"]
        ]
    assert len(seen) == len(set(seen)) == len(before) + 60


async def test_an_organisations_brands_and_a_forms_versions_come_in_pages(client):
    w = await build_world(client)
    brands = await w.ok("coordinator", "GET", f"/organisations/{w.organisation_id}/brands", params={"limit": 1})
    assert (len(brands["items"]), brands["total"], brands["items"][0]["relation"]) == (1, 2, "own")
    rest = await w.ok("coordinator", "GET", f"/organisations/{w.organisation_id}/brands", params={"offset": 1})
    assert [b["relation"] for b in rest["items"]] == ["competitor"]
    only = await w.ok(
        "coordinator", "GET", f"/organisations/{w.organisation_id}/brands", params={"relation": "competitor"}
    )
    assert (only["total"], [b["brand_id"] for b in only["items"]]) == (1, [w.competitor_brand_id])
    form = await w.ok(
        "coordinator", "POST", "/forms", json={"name": "Versions", "channel": "call", "definition": SMALL_CALL_FORM}
    )
    for _ in range(2):
        await w.ok("coordinator", "POST", f"/forms/{form['id']}/publish")
        await w.ok("coordinator", "PUT", f"/forms/{form['id']}/draft", json={"definition": SMALL_CALL_FORM})
    versions = await w.ok("coordinator", "GET", f"/forms/{form['id']}/versions", params={"limit": 2, "offset": 1})
    assert ([v["number"] for v in versions["items"]], versions["total"]) == ([2, 3], 3)
    drafts = await w.ok("coordinator", "GET", f"/forms/{form['id']}/versions", params={"status": "draft"})
    assert ([v["number"] for v in drafts["items"]], drafts["total"]) == ([3], 1)
    published = await w.ok("coordinator", "GET", f"/forms/{form['id']}/versions", params={"status": "published"})
    assert [v["number"] for v in published["items"]] == [1, 2]
    refused = await w.call("coordinator", "GET", f"/forms/{form['id']}/versions", params={"status": "old"})
    assert refused.status_code == 400 and "status" in refused.text


async def test_a_campaigns_waves_filter_by_name_and_by_a_day_they_run_on(client):
    w = await build_world(client)
    hotline = await campaign(w, await publish_form(w))
    for name, starts, ends in (
        ("Spring 2038", "2038-03-01", "2038-03-31"),
        ("Summer 2038", "2038-06-01", "2038-06-30"),
    ):
        await w.ok(
            "coordinator",
            "POST",
            f"/campaigns/{hotline['id']}/waves",
            json={"name": name, "starts_on": starts, "ends_on": ends},
        )
    url = f"/campaigns/{hotline['id']}/waves"
    assert (await w.ok("coordinator", "GET", url))["total"] == 2
    assert [v["name"] for v in (await w.ok("coordinator", "GET", url, params={"q": "SUMMER"}))["items"]] == [
        "Summer 2038"
    ]
    for day, names in (("2038-03-01", ["Spring 2038"]), ("2038-03-31", ["Spring 2038"]), ("2038-04-15", [])):
        found = await w.ok("manager", "GET", url, params={"running_on": day})
        assert [v["name"] for v in found["items"]] == names, day
    refused = await w.call("coordinator", "GET", url, params={"running_on": "next week"})
    assert refused.status_code == 400 and "running_on" in refused.text
