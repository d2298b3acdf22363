"""Campaign tables: a program's configuration, its locations and its waves."""

from piccolo.columns import JSON, UUID, Date, ForeignKey, Integer, OnDelete, Timestamptz, Varchar
from piccolo.table import Table

from backend.accounts.tables import Organisation, User
from backend.locations.tables import Location


class Campaign(Table):
    id = UUID(primary_key=True)
    organisation = ForeignKey(Organisation, on_delete=OnDelete.restrict, index=True)
    name = Varchar(length=200)
    forms = JSON()  # channel → published form version id
    slot_designs = JSON()  # channel → slot design
    call_rules = JSON()
    rotation_days = Integer(default=90)
    rotation_scope = Varchar(length=16, default="location")
    language = Varchar(length=16, null=True, default=None)
    gps_limit_m = Integer(default=300)  # a check-in farther than this from the location is flagged
    created_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz()


class CampaignLocation(Table):
    """The locations a campaign measures, own and competitor alike (unique per pair, see migration)."""

    id = UUID(primary_key=True)
    campaign = ForeignKey(Campaign, on_delete=OnDelete.cascade, index=True)
    location = ForeignKey(Location, on_delete=OnDelete.restrict)


class Wave(Table):
    id = UUID(primary_key=True)
    campaign = ForeignKey(Campaign, on_delete=OnDelete.cascade, index=True)
    name = Varchar(length=200)
    starts_on = Date()
    ends_on = Date()
    created_at = Timestamptz()
