"""The page-error guard: an uncaught JavaScript exception in the page fails the test (not only console output)."""

from __future__ import annotations

import pytest
from browser_harness import check_guarded_page
from timeouts import scaled_ms

pytestmark = pytest.mark.browser


def test_uncaught_exception_fails_the_page(lab_server, guarded_page) -> None:
    page = guarded_page.page
    page.goto(f"{lab_server.url}/lab", wait_until="domcontentloaded")
    page.wait_for_function("() => !!window.jupyterapp && !!window.jupyterapp.shell", timeout=scaled_ms(60))
    check_guarded_page(guarded_page)  # a clean JupyterLab page passes
    # thrown outside any handler (as a widget front end's render() would), and an unhandled rejection
    page.evaluate("() => { setTimeout(() => { undefined.then(() => 0); }, 0); }")
    page.evaluate("() => { Promise.reject(new RangeError('injected rejection')); }")
    for _ in range(40):
        if len(guarded_page.page_errors) >= 2:
            break
        page.wait_for_timeout(100)
    with pytest.raises(AssertionError, match="uncaught JavaScript exceptions") as info:
        check_guarded_page(guarded_page)
    assert "TypeError" in str(info.value) and "(reading 'then')" in str(info.value)
    assert "injected rejection" in str(info.value)
    guarded_page.allow_page_errors = True  # expected here: this test proves the guard catches them
