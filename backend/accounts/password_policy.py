"""Which new passwords are refused: NIST SP 800-63B style, length plus a blocklist, no composition rules.

Length is checked where the body is decoded (api_schemas.accounts.Password: 10 to 256 characters).
Here: a password made of one repeated character, one of the most common passwords (the list and
where it comes from: COMMON-PASSWORDS.md beside this file), or the account's own e-mail address.
Capitals, digits or symbols are not demanded: they make passwords harder to remember, not to guess.
"""

from __future__ import annotations

import functools
import gzip
from pathlib import Path

COMMON_PASSWORDS = Path(__file__).with_name("common-passwords.txt.gz")


@functools.cache
def common_passwords() -> frozenset[str]:
    with gzip.open(COMMON_PASSWORDS, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip() for line in lines if line.strip())


def password_problem(password: str, email: str | None = None) -> str | None:
    """Why `password` may not be set (a reason for the problem document), or None when it may."""
    if len(set(password)) == 1:
        return "is one character repeated"
    folded = password.strip().lower()
    if folded in common_passwords():
        return "is one of the most common passwords"
    if email and folded in {email.strip().lower(), email.strip().lower().split("@", 1)[0]}:
        return "is the account's e-mail address"
    return None
