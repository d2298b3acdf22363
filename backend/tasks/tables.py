"""Tasks table."""

from piccolo.columns import UUID, ForeignKey, Integer, OnDelete, Timestamptz, Varchar
from piccolo.table import Table

from backend.accounts.tables import Organisation, User
from backend.campaigns.tables import Campaign, Wave
from backend.forms.tables import FormVersion
from backend.locations.tables import Location


class Task(Table):
    id = UUID(primary_key=True)
    organisation = ForeignKey(Organisation, on_delete=OnDelete.restrict, index=True)
    location = ForeignKey(Location, on_delete=OnDelete.restrict, index=True)
    form_version = ForeignKey(FormVersion, on_delete=OnDelete.restrict)
    channel = Varchar(length=16)
    status = Varchar(length=16, index=True)
    shopper = ForeignKey(User, null=True, on_delete=OnDelete.restrict, index=True)
    window_start = Timestamptz()
    window_end = Timestamptz()
    created_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    # Planned probes: (wave, location, channel, slot_key, probe_index, attempt) is unique (see migration).
    campaign = ForeignKey(Campaign, null=True, default=None, on_delete=OnDelete.restrict, index=True)
    wave = ForeignKey(Wave, null=True, default=None, on_delete=OnDelete.restrict, index=True)
    slot_key = Varchar(length=80, null=True, default=None)
    probe_index = Integer(null=True, default=None)
    attempt = Integer(default=1)
    retry_of: ForeignKey["Task"] = ForeignKey("self", null=True, default=None, on_delete=OnDelete.set_null)
    language = Varchar(length=16, null=True, default=None)
    # A planned probe's window against its location's opening hours: open, closed, partly_open, unknown.
    location_hours = Varchar(length=16, null=True, default=None)
    # For an unanswered call: scheduled (a retry exists), no_slot_left or attempts_used; NULL otherwise.
    retry_state = Varchar(length=16, null=True, default=None)
