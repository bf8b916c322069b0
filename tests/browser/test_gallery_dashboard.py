"""The staff dashboard: run counts by state, the runs-per-day chart, workers, failures, storage;
signed-out and non-staff users are sent to the admin login instead."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import GALLERY_USER, login, seed

FAILURE = "Out of memory while embedding (made by the browser tests)"


@pytest.mark.timeout(400)
def test_dashboard_for_staff_only_with_counts_chart_workers_failures_and_disk(page, server, staff_user, det_run, large_run, shot):
    # -- runs from other days, one failed: counts, chart and failure list have something to show
    made = seed(server, "finished_runs", dataset=large_run.dataset, runs=[
        {"state": "failed", "error": FAILURE, "days_ago": 3},
        {"state": "canceled", "error": "Canceled by the user before it started.", "days_ago": 1},
    ])["runs"]
    failed_run = made[0]

    # -- signed out, then a signed-in user who is not staff: the admin login, no dashboard
    page.goto("/dashboard/")
    expect(page).to_have_url(re.compile(r"/admin/login/\?next=/dashboard/$"))
    expect(page.locator("#states")).to_have_count(0)
    login(page, "bob")
    expect(page.locator("header a", has_text="Dashboard")).to_have_count(0)
    page.goto("/dashboard/")
    expect(page).to_have_url(re.compile(r"/admin/login/\?next=/dashboard/$"))
    expect(page.locator("body")).to_contain_text("You are authenticated as bob, but are not authorized to access this page")
    expect(page.locator("#states")).to_have_count(0)
    shot(page, "non-staff-refused")
    page.context.clear_cookies()

    # -- staff: the header links to it
    counts = seed(server, "run_counts")
    username, password = staff_user
    login(page, username, password)
    page.click("header a:has-text('Dashboard')")
    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    expect(page.locator("h1")).to_have_text("Dashboard")

    # run counts by state, as in the database
    for state, n in counts["states"].items():
        expect(page.locator(f"#states [data-state={state}]")).to_have_text(f"{n:,}")
    assert counts["states"]["completed"] >= 2 and counts["states"]["failed"] >= 1 and counts["states"]["canceled"] >= 1
    expect(page.locator("#queue-depth")).to_have_text(re.compile(r"^\d+$"))

    # the chart: runs per day, one stacked trace per state, totals as created
    expect(page.locator("#plot-runs.js-plotly-plot")).to_be_attached()
    expect(page.locator("#plot-runs .barlayer").first).to_be_attached()
    chart = page.evaluate("""() => document.getElementById('plot-runs').data.map(d => ({name: d.name, type: d.type, x: d.x, y: d.y}))""")
    assert [t["name"] for t in chart] == ["queued", "running", "completed", "failed", "canceled"]
    assert all(t["type"] == "bar" for t in chart)
    per_day = {day: sum(t["y"][i] for t in chart) for i, day in enumerate(chart[0]["x"])}
    assert per_day == counts["days"]
    assert len(per_day) >= 3  # today, yesterday, three days ago
    failed_trace = next(t for t in chart if t["name"] == "failed")
    assert sum(failed_trace["y"]) == counts["states"]["failed"]
    expect(page.locator("#plot-runs .xtick")).not_to_have_count(0)

    # workers: the server's own cluster reports
    workers = page.locator("#workers")
    expect(workers.locator("h2 .state")).to_have_text("ok")
    expect(workers.locator("tbody tr").first.locator("td").nth(2)).not_to_have_text("")
    expect(workers.locator("tbody .empty")).to_have_count(0)

    # the failure, with its reason and a link to the run in the admin
    failure = page.locator("#failures tbody tr", has=page.locator(f"a:text-is('Run {failed_run}')"))
    expect(failure).to_have_count(1)
    expect(failure).to_contain_text("Large")
    expect(failure).to_contain_text(GALLERY_USER)
    expect(failure).to_contain_text(FAILURE)
    expect(failure.locator("a")).to_have_attribute("href", re.compile(rf"/admin/runs/run/{failed_run}/change/$"))

    # storage: the three folders, with sizes (runs have written outputs, thumbnails were made)
    disk = page.locator("#disk tbody tr")
    expect(disk.locator("td:first-child")).to_have_text(["run outputs", "thumbnails", "uploads"])
    sizes = disk.locator("td[data-bytes]").evaluate_all("tds => tds.map(td => +td.dataset.bytes)")
    assert sizes[0] > 0 and sizes[2] > 0, sizes  # the detection run's outputs, its predictions upload
    expect(page.locator("#disk h2 small")).to_have_text(str(server.data_dir))
    page.wait_for_load_state("networkidle")
    shot(page, "dashboard")
