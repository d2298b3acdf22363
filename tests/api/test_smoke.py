from tests.world import build_world


async def test_world_builds(client):
    w = await build_world(client)
    me = await w.ok("manager", "GET", "/auth/me")
    assert me["role"] == "manager" and me["organisation_id"] == w.organisation_id
