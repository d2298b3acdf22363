"""The phone app's first screen: a shopper logs in and sees their tasks; others are told it is not for them."""

from __future__ import annotations

from tests.browser.conftest import (
    PASSWORD, no_horizontal_scroll, screenshot, serious_accessibility_violations, small_touch_targets,
)


def test_login_screen_then_my_tasks(phone, live):
    task = live.task()
    page = phone.open()
    assert page.get_by_role("heading", name="Log in").is_visible()
    assert serious_accessibility_violations(page) == []
    assert no_horizontal_scroll(page) and small_touch_targets(page) == []
    screenshot(page, "01-login")

    page.get_by_label("E-mail").fill("shopper@example.test")
    page.get_by_label("Password").fill("wrong-password-here")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("alert").filter(has_text="E-mail or password is wrong").wait_for()
    screenshot(page, "01-login-failed")

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="My tasks").wait_for()
    card = page.locator(f"[data-task='{task['id']}']")
    card.wait_for()
    assert "Acme New York hotline" in card.inner_text()
    assert "America/New_York" in card.inner_text()  # the window in the location's own time zone
    assert serious_accessibility_violations(page) == []
    assert no_horizontal_scroll(page)
    screenshot(page, "02-my-tasks")


def test_a_coordinator_is_told_the_app_is_for_shoppers(phone):
    page = phone.open()
    page.get_by_label("E-mail").fill("coordinator@example.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("alert").filter(has_text="This app is for shoppers").wait_for()
    assert page.evaluate("() => localStorage.getItem('fieldscore.session')") is None
