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


def test_a_long_task_list_shows_its_top_at_once_and_the_whole_list_a_moment_later(phone, live):
    brand_id = live.api("coordinator", "GET", f"/locations/{live.world['call_location']}")["brand_id"]
    template = live.task(location="near_location")  # window, form and organisation for the rest
    for i in range(29):  # one location each: a shopper never gets the same location twice
        location = live.api(
            "coordinator",
            "POST",
            "/locations",
            json={
                "brand_id": brand_id,
                "name": f"Acme branch {i:02d}",
                "region": "Bohemia",
                "timezone": "Europe/Prague",
            },
        )
        live.api(
            "coordinator",
            "POST",
            "/tasks",
            json={
                **{
                    k: template[k]
                    for k in ("organisation_id", "form_version_id", "channel", "window_start", "window_end")
                },
                "location_id": location["id"],
                "shopper_id": template["shopper_id"],
            },
        )
    # What the list held when its first card appeared (a MutationObserver sees the state at the end of that turn).
    phone.context.add_init_script("""new MutationObserver((changes, observer) => {
        const cards = document.querySelectorAll('[data-task]');
        if (!cards.length) return;
        window.firstDrawn = { cards: cards.length, busy: cards[0].parentElement.getAttribute('aria-busy') };
        observer.disconnect();
    }).observe(document, { childList: true, subtree: true })""")
    page = phone.login()
    page.wait_for_function("() => document.querySelectorAll('[data-task]').length === 30")
    page.locator(".cards:not([aria-busy])").wait_for()
    first = page.evaluate("() => window.firstDrawn")
    assert 0 < first["cards"] < 30 and first["busy"] == "true", first  # a screenful first, the rest after
    # The whole list, in the server's order, each card with its content; accessible once whole.
    expected = [t["id"] for t in live.api("shopper", "GET", "/tasks?limit=200")["items"]]
    assert page.eval_on_selector_all("[data-task]", "cards => cards.map(c => c.dataset.task)") == expected
    last = page.locator("[data-task]").last
    last.scroll_into_view_if_needed()
    assert "Acme" in last.inner_text() and "Europe/Prague" in last.inner_text()
    assert serious_accessibility_violations(page) == []
