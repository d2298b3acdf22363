"""Named dependencies injected into route handlers (provided in backend.app)."""

from litestar.di import NamedDependency

from backend.accounts.security import Actor, Passwords
from backend.accounts.throttle import LoginThrottle
from backend.pagination import PageParams
from backend.settings import Settings

ActorDep = NamedDependency[Actor]
PageDep = NamedDependency[PageParams]
SettingsDep = NamedDependency[Settings]
PasswordsDep = NamedDependency[Passwords]
ThrottleDep = NamedDependency[LoginThrottle]
