"""Steps and checks the phone app's browser tests share: what every screen must be, answering a test call."""

from __future__ import annotations

import time

from tests.browser.conftest import (
    no_horizontal_scroll,
    screenshot,
    serious_accessibility_violations,
    small_touch_targets,
)

YES_QUESTIONS = (
    "person_answered",
    "right_person",
    "greeting",
    "no_interrupt",
    "polite",
    "solutions",
    "thanked",
    "offered_callback",
    "fcr",
)


def check_screen(page, name: str) -> None:
    """What every screen must be: no serious accessibility problem, no sideways scrolling, big enough targets."""
    assert serious_accessibility_violations(page) == [], name
    assert no_horizontal_scroll(page), name
    assert small_touch_targets(page) == [], name
    screenshot(page, name)


def answer_call_questions(page) -> None:
    for key in YES_QUESTIONS:
        page.locator(f"[data-key={key}]").get_by_label("Yes", exact=True).check()
    page.locator("[data-key=rings] input").fill("3")
    page.locator("[data-key=friendliness]").get_by_label("5", exact=True).check()
    page.locator("[data-key=nps]").get_by_label("9", exact=True).check()
    page.locator("[data-key=csat]").get_by_label("4", exact=True).check()


def tap_call(page, taps: list[str]) -> None:
    for name in taps:
        page.locator(f"[data-tap={name}]").click()
        time.sleep(0.35)
