"""The phone app's first screen: a shopper logs in and sees their tasks; others are told it is not for them."""

from __future__ import annotations

from tests.browser.conftest import (
    PASSWORD,
    no_horizontal_scroll,
    screenshot,
    serious_accessibility_violations,
    small_touch_targets,
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


def test_the_phones_language_by_default_switchable_and_form_labels_follow_it(browser, live):
    from tests.browser.conftest import PHONE, Phone

    task = live.task(form="visit", location="near_location")
    german = Phone(
        browser,
        live,
        context=browser.new_context(base_url=live.base, service_workers="allow", **{**PHONE, "locale": "de-DE"}),
    )
    try:
        page = german.open()
        page.get_by_role("heading", name="Anmelden").wait_for()
        page.get_by_label("E-Mail").fill("shopper@example.test")
        page.get_by_label("Passwort").fill(PASSWORD)
        page.get_by_role("button", name="Anmelden").click()
        page.get_by_role("heading", name="Meine Aufträge").wait_for()
        page.locator(f"[data-task='{task['id']}'] a").click()
        page.get_by_role("link", name="Bericht beginnen").click()
        page.locator("[data-key=greeted]").get_by_text("Wurden Sie begrüßt?").wait_for()
        assert page.locator("[data-key=greeted]").get_by_label("Ja", exact=True).is_visible()
        # A label the form has only in English falls back to it.
        assert page.locator("[data-key=offered]").get_by_text("Coffee").is_visible()
        screenshot(page, "20-form-german")

        for lang, heading in (
            ("ja", "自分のタスク"),
            ("el", "Οι εργασίες μου"),
            ("cs", "Moje úkoly"),
            ("nl", "Mijn taken"),
        ):
            page.goto("/app/#/settings")
            page.locator("select").select_option(lang)
            page.get_by_role("link", name=heading).wait_for()
            page.get_by_role("link", name=heading).click()
            page.get_by_role("heading", name=heading).wait_for()
            assert page.evaluate("() => document.documentElement.lang") == lang
            assert no_horizontal_scroll(page) and serious_accessibility_violations(page) == []
            screenshot(page, f"21-tasks-{lang}")
    finally:
        german.close()
    assert not german.errors


def test_pulling_the_task_list_down_loads_it_again(phone, live):
    page = phone.login()
    assert page.locator("[data-task]").count() == 0
    task = live.task()  # assigned meanwhile, on the server
    page.evaluate("""() => {
        const main = document.getElementById('main');
        const touch = (y) => new Touch({identifier: 1, target: main, clientX: 180, clientY: y});
        main.dispatchEvent(new TouchEvent('touchstart', {touches: [touch(120)], changedTouches: [touch(120)], bubbles: true}));
        main.dispatchEvent(new TouchEvent('touchend', {touches: [], changedTouches: [touch(230)], bubbles: true}));
    }""")
    page.locator(f"[data-task='{task['id']}']").wait_for()
