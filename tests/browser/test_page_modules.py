"""The page's own logic, run in Chromium from the modules the web process serves: how pending edits move a span
chosen on the saved audio onto the edited timeline, how peaks are read, how loudness is judged against a preset, and
that the form's limits are the server's rules.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.async_api import Page, Route

from common.audio.peaks import BASE_SAMPLES_PER_PIXEL, MAX_STORED_PIXELS
from common.edits import OPERATIONS
from common.render_options import TAG_RULES
from tests.support.web_server import WebServer, running_web_server

pytestmark = pytest.mark.browser

MINUS = "\u2212"
# Settings that would point the web process at another store or lock it; the modules need neither.
STORE_SETTINGS = ("JOB_STORE_BACKEND", "DEPLOY_ENV", "TURSO_DATABASE_URL", "TURSO_AUTH_TOKEN", "API_TOKEN")


# One web process serves the modules to every test here. The per-test store settings are not made yet when a
# module fixture starts, so it gets a local store of its own.
@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    folder = tmp_path_factory.mktemp("page-modules")
    env = {name: value for name, value in os.environ.items() if name not in STORE_SETTINGS}
    env.update(JOB_STORE_PATH=str(folder / "jobs.sqlite3"), MEDIA_ROOT=str(folder / "media"))
    with running_web_server(env) as server:
        yield server


async def run_in_page(page: Page, web: WebServer, module: str, body: str) -> Any:
    """Import ``/static/<module>`` as ``m`` in the page and return what ``body`` returns."""
    if page.url == "about:blank":
        await page.goto(web.url("/"))
    return await page.evaluate(f"async () => {{ const m = await import('/static/{module}'); {body} }}")


async def test_pending_cuts_and_trims_move_spans_onto_the_edited_timeline(page: Page, web: WebServer) -> None:
    edits = '[{op: "cut", start: 3, end: 6}, {op: "trim", start: 1, end: 8}]'
    kept = await run_in_page(page, web, "timeline.js", f"return m.keptSegments({edits}, 12);")
    assert kept == [[1, 3], [6, 11]]
    removed = await run_in_page(page, web, "timeline.js", f"return m.removedRanges(m.keptSegments({edits}, 12), 12);")
    assert removed == [[0, 1], [3, 6], [11, 12]]
    positions = await run_in_page(
        page,
        web,
        "timeline.js",
        f"const s = m.keptSegments({edits}, 12); return [2, 4, 7, 11.5].map((t) => m.toEditedTime(s, t));",
    )
    assert positions == [1, 2, 3, 7]


async def test_edit_list_maps_a_selection_and_refuses_one_already_cut(page: Page, web: WebServer) -> None:
    spans = await run_in_page(
        page,
        web,
        "editor.js",
        """const list = new m.EditList(() => {});
        list.durationSec = 12.3456;
        list.add({op: "cut", start: 3, end: 6});
        return [list.mapSpan(7, 8), list.mapSpan(4, 5), list.mapSpan(2.5, 12.3456), list.editedDuration()];""",
    )
    assert spans[0] == [4, 5]
    assert spans[1] is None
    # The end is kept within the edited audio, rounded down to the millisecond.
    assert spans[2] == [2.5, 9.345]
    assert spans[3] == pytest.approx(9.3456)


async def test_peaks_merge_channels_and_keep_every_extreme_when_zoomed_out(page: Page, web: WebServer) -> None:
    peaks = """{version: 2, channels: 2, sample_rate: 8000, samples_per_pixel: 80, bits: 8, length: 3,
                data: [-10, 20, -30, 5,  0, 127, -128, 0,  -1, 1, -2, 2]}"""
    result = await run_in_page(
        page,
        web,
        "peaks.js",
        f"""const p = m.parsePeaks({peaks});
        return {{
            levels: p.levels.map((level) => level.min.length),
            first: [p.levels[0].min[0], p.levels[0].max[0]],
            all: m.envelopeAt(p, 0, 3),
            last: m.envelopeAt(p, 2, 3),
            binsPerSecond: m.binsPerSecond(p),
        }};""",
    )
    assert result["levels"] == [3, 2, 1]
    assert result["first"] == [-30 / 128, 20 / 128]
    assert result["all"][:2] == [-1, 127 / 128]
    assert result["last"][:2] == [-2 / 128, 2 / 128]
    # The inner layer: the root mean square of the bins' half-ranges, over the square root of two.
    half_ranges = [25 / 128, 127.5 / 128, 2 / 128]
    assert result["all"][2] == pytest.approx((sum(r * r for r in half_ranges) / 3 / 2) ** 0.5)
    assert result["last"][2] == pytest.approx(2 / 128 / 2**0.5)
    assert result["binsPerSecond"] == 100


async def test_loudness_notes_name_what_misses_the_preset(page: Page, web: WebServer) -> None:
    notes = await run_in_page(
        page,
        web,
        "loudness.js",
        """const near = {integratedLufs: -16.4, truePeakDbtp: -3.5, rmsDb: -19};
        const quiet = {integratedLufs: -23.1, truePeakDbtp: -0.5, rmsDb: -25.2};
        const {presets} = await m.loadRenderCatalogue();
        const preset = Object.fromEntries(presets.map((entry) => [entry.name, entry]));
        return [
            m.targetNote(near, preset.podcast),
            m.targetNote(quiet, preset.podcast),
            m.targetNote(near, preset["audiobook-acx"]),
            m.targetNote(quiet, preset["audiobook-acx"], {exported: true}),
            m.targetNote(quiet, null),
        ];""",
    )
    assert notes[0] == {"met": True, "text": "The recording meets the Podcast loudness target."}
    assert notes[1]["met"] is False
    assert f"loudness is {MINUS}23.1 LUFS" in notes[1]["text"]
    assert f"true peak is {MINUS}0.5 dBTP" in notes[1]["text"]
    assert "Exporting with the Podcast preset levels it to the target." in notes[1]["text"]
    assert notes[2]["met"] is True
    assert notes[3]["met"] is False
    assert notes[3]["text"].startswith("The exported file misses the Audiobook (ACX) target")
    assert f"RMS is {MINUS}25.2 dB, it must be between {MINUS}23 and {MINUS}18 dB" in notes[3]["text"]
    assert f"true peak is {MINUS}0.5 dBTP, it must be at most {MINUS}3 dBTP" in notes[3]["text"]
    assert "Exporting" not in notes[3]["text"]
    assert notes[4] == {"met": True, "text": ""}


async def test_preset_help_and_normalize_level_come_from_the_server_targets(page: Page, web: WebServer) -> None:
    facts = await run_in_page(
        page,
        web,
        "loudness.js",
        """const {presets} = await m.loadRenderCatalogue();
        return presets.map((preset) => [preset.name, m.presetHelp(preset), m.normalizeTargetLufs(preset)])
            .concat([["", m.presetHelp(null), m.normalizeTargetLufs(null)]]);""",
    )
    assert facts == [
        ["podcast", f"{MINUS}16 LUFS, true peak at most {MINUS}1 dBTP, 44.1 kHz.", -16],
        ["apple-podcasts", f"{MINUS}16 LUFS, true peak at most {MINUS}1 dBTP, 44.1 kHz.", -16],
        ["spotify", f"{MINUS}14 LUFS, true peak at most {MINUS}1 dBTP, 44.1 kHz.", -14],
        ["youtube", f"{MINUS}14 LUFS, true peak at most {MINUS}1 dBTP, 48 kHz.", -14],
        ["ebu-r128", f"{MINUS}23 LUFS, true peak at most {MINUS}1 dBTP, 48 kHz.", -23],
        [
            "audiobook-acx",
            f"RMS {MINUS}23 to {MINUS}18 dB, true peak at most {MINUS}3 dBTP, noise floor at most {MINUS}60 dB, mono, "
            "44.1 kHz, 192 kbit/s MP3.",
            -20.5,
        ],
        ["custom", "Your own loudness target and true-peak ceiling.", None],
        ["", "The audio keeps its level, sample rate and channels.", None],
    ]


async def test_times_read_as_minutes_seconds_and_hours(page: Page, web: WebServer) -> None:
    times = await run_in_page(
        page,
        web,
        "format.js",
        "return [[9, 1], [12, 2], [59.96, 1], [3725.25, 2], [5, 0]].map(([t, d]) => m.formatTime(t, d));",
    )
    assert times == ["0:09.0", "0:12.00", "1:00.0", "1:02:05.25", "0:05"]


async def test_the_form_limits_come_from_the_server_rules(page: Page, web: WebServer) -> None:
    await page.goto(web.url("/"))
    await page.wait_for_function("() => document.getElementById('gain-db').max !== ''")
    limits = await page.evaluate(
        """() => Object.fromEntries(
            ['gain-db', 'normalize-lufs', 'silence-db', 'fade-in-seconds'].map((id) => {
                const input = document.getElementById(id);
                return [id, [Number(input.min), Number(input.max)]];
            }).concat([['tag-title', document.getElementById('tag-title').maxLength]]))"""
    )

    def bounds(op: str, name: str) -> list[float]:
        rule = OPERATIONS[op].field(name)
        return [rule.minimum, rule.maximum]

    assert limits == {
        "gain-db": bounds("gain", "db"),
        "normalize-lufs": bounds("normalize", "targetLufs"),
        "silence-db": bounds("trimSilence", "thresholdDb"),
        "fade-in-seconds": bounds("fadeIn", "duration"),
        "tag-title": next(rule.max_chars for rule in TAG_RULES if rule.name == "title"),
    }


async def test_typed_times_and_ruler_decimals(page: Page, web: WebServer) -> None:
    typed = ["75.5", "1:15.5", "0:01:15.500", "1:02:03.25", "", "1:75", "abc", "-3", "1:2:3:4"]
    parsed = await run_in_page(page, web, "format.js", f"return {typed}.map((text) => m.parseTime(text));")
    assert parsed == [75.5, 75.5, 75.5, 3723.25, None, None, None, None, None]
    decimals = await run_in_page(
        page, web, "format.js", "return [0.001, 0.02, 0.25, 0.5, 1, 15].map((step) => m.stepDecimals(step));"
    )
    assert decimals == [3, 2, 2, 1, 0, 0]
    labels = await run_in_page(page, web, "format.js", "return [3.25, 3.5].map((t) => m.formatTime(t, 2));")
    assert labels == ["0:03.25", "0:03.50"]


async def test_undo_history_steps_back_and_forward_and_a_new_change_drops_the_redo(page: Page, web: WebServer) -> None:
    steps = await run_in_page(
        page,
        web,
        "history.js",
        """const history = new m.UndoHistory(() => {});
        let state = "a";
        for (const next of ["b", "c"]) { history.record(state); state = next; }
        const seen = [];
        state = history.undo(state); seen.push(state);
        state = history.undo(state); seen.push(state);
        seen.push(history.undo(state));
        state = history.redo(state); seen.push(state);
        history.record(state); state = "d";
        seen.push(history.canRedo, history.undo(state));
        return seen;""",
    )
    assert steps == ["b", "a", None, "b", False, "b"]


async def test_fades_and_gains_are_drawn_where_they_act_on_the_saved_audio(page: Page, web: WebServer) -> None:
    marks = await run_in_page(
        page,
        web,
        "timeline.js",
        """return m.levelMarks([{op: "cut", start: 2, end: 4}, {op: "gain", db: -6, start: 3, end: 5},
            {op: "fadeIn", duration: 1}, {op: "fadeOut", duration: 2}], 12);""",
    )
    # After the cut of 2-4 s, 3-5 s of the edited timeline is 5-7 s of the saved audio; it ends at 12 s.
    assert marks == [
        {"op": "gain", "span": [5, 7], "db": -6},
        {"op": "fadeIn", "span": [0, 1]},
        {"op": "fadeOut", "span": [10, 12]},
    ]


@pytest.mark.parametrize("duration_s", [30.0, 400.0, 3 * 3600.0, 6 * 3600.0])
@pytest.mark.parametrize("rate", [44100, 48000])
async def test_coarse_peaks_are_a_zoom_level_the_server_serves(
    page: Page, web: WebServer, duration_s: float, rate: int
) -> None:
    url = await run_in_page(page, web, "peaks.js", f"return m.coarsePeaksUrl('/media/p.json', {duration_s}, {rate});")
    frames = duration_s * rate
    stored = BASE_SAMPLES_PER_PIXEL
    while math.ceil(frames / stored) > MAX_STORED_PIXELS:
        stored *= 2
    if url is None:
        assert math.ceil(frames / stored) <= 65536, "the first paint waits for many stored peaks"
        return
    samples_per_pixel = int(url.rsplit("=", 1)[1])
    assert samples_per_pixel % stored == 0, "the server refuses a zoom level that is not a multiple of the stored one"
    assert frames / samples_per_pixel <= 16384


async def test_progress_says_finishing_instead_of_sitting_at_a_hundred_percent(page: Page, web: WebServer) -> None:
    views = await run_in_page(
        page,
        web,
        "jobs.js",
        """return [{status: "queued", progress: 0}, {status: "running", progress: 0.4},
            {status: "running", progress: 0.999}]
            .map((job) => [m.progressView("Exporting", job), m.statusText(job)]);""",
    )
    assert views == [
        [{"text": "Exporting: waiting to start", "fraction": None}, "Waiting to start"],
        [{"text": "Exporting", "fraction": 0.4}, "Running, 40%"],
        [{"text": "Exporting: finishing", "fraction": None}, "Finishing"],
    ]


async def test_progress_names_the_stage_of_each_pass(page: Page, web: WebServer) -> None:
    views = await run_in_page(
        page,
        web,
        "jobs.js",
        """return [{status: "running", progress: 0.3, stage: "measuring"},
            {status: "running", progress: 0.6, stage: "encoding"},
            {status: "running", progress: 0.93, stage: "correcting"},
            {status: "running", progress: 0.999, stage: "storing"},
            {status: "completed", progress: 1, stage: null}]
            .map((job) => [m.progressView("Exporting", job), m.statusText(job)]);""",
    )
    assert views == [
        [{"text": "Exporting: measuring", "fraction": 0.3}, "Running (measuring), 30%"],
        [{"text": "Exporting: encoding", "fraction": 0.6}, "Running (encoding), 60%"],
        [
            {"text": "Exporting: correcting the level in another pass", "fraction": 0.93},
            "Running (correcting the level in another pass), 93%",
        ],
        [{"text": "Exporting: storing the result", "fraction": None}, "Finishing"],
        [{"text": "Exporting: finishing", "fraction": None}, "Done"],
    ]


async def test_a_completed_import_of_a_damaged_file_says_so(page: Page, web: WebServer) -> None:
    texts = await run_in_page(
        page,
        web,
        "jobs.js",
        """const warning = {code: "truncated", message: "The file ends early"};
            return [{status: "completed", result: {warnings: [warning]}}, {status: "completed", result: {warnings: []}},
                {status: "completed", result: {url: "/media/r.mp3"}}].map((job) => m.statusText(job));""",
    )
    assert texts == ["Done, from a damaged file: see the recording", "Done", "Done"]


async def test_a_followed_job_is_asked_at_most_once_a_second_however_often_it_changes(
    page: Page, web: WebServer
) -> None:
    # The answers stand in for a worker writing progress many times a second: every one is a change.
    asked_at: list[float] = []

    async def answer(route: Route) -> None:
        asked_at.append(time.monotonic())
        status = "completed" if len(asked_at) >= 4 else "running"
        body = {
            "jobId": "paced",
            "type": "render",
            "status": status,
            "progress": len(asked_at) / 4,
            "stage": None,
            "result": None,
            "error": None,
            "createdAt": "2026-12-01T00:00:00.000Z",
            "updatedAt": f"2026-12-01T00:00:0{len(asked_at)}.000Z",
        }
        await route.fulfill(status=200, content_type="application/json", body=json.dumps(body))

    await page.goto(web.url("/"))
    await page.route("**/api/audio/jobs/paced*", answer)
    last = await run_in_page(
        page,
        web,
        "jobs.js",
        """const job = {jobId: "paced", status: "queued", progress: 0, updatedAt: "2026-12-01T00:00:00.000Z"};
        const seen = []; const last = await m.followJob(job, (update) => seen.push(update.status));
        return [last.status, seen];""",
    )
    assert last == ["completed", ["queued", "running", "running", "running", "completed"]]
    gaps = [later - earlier for earlier, later in itertools.pairwise(asked_at)]
    assert len(gaps) == 3
    assert min(gaps) >= 0.9, gaps


async def test_a_progress_estimate_moves_at_the_measured_rate_until_the_next_update_is_due(
    page: Page, web: WebServer
) -> None:
    # (progress, seconds of updatedAt, page clock in ms when it arrived). As a worker writes by default: the claim
    # (0), a first figure 2 s later, then one about every 20 s.
    values = await run_in_page(
        page,
        web,
        "smooth-progress.js",
        """const estimate = new m.ProgressEstimate();
        const report = (progress, second, now, status = "running") => estimate.report(
            {status, progress, updatedAt: new Date(Date.UTC(2026, 11, 1, 0, 0, second)).toISOString()}, now);
        const at = (now) => Math.round(estimate.valueAt(now) * 1000) / 1000;
        report(0, 0, 0);
        const claimed = [at(0), at(1900)];
        report(0.02, 2, 2000);
        const moving = [at(2000), at(12000), at(22000), at(27000), at(29000)];
        const stillMoving = [estimate.movingAt(26000), estimate.movingAt(27100)];
        report(0.22, 22, 30000);
        const behind = [at(30000), at(40000)];
        const longerGap = [at(58000), at(60000), estimate.movingAt(57900), estimate.movingAt(58100)];
        report(0.22, 42, 60000);
        const stalled = [at(60000), at(90000), estimate.movingAt(60500)];
        report(0.9, 62, 62000);
        report(0.98, 82, 82000);
        const nearTheEnd = [at(92000), at(200000)];
        report(0.05, 84, 84000);
        const startedOver = [at(84000), at(86000)];
        report(0, 86, 86000, "queued");
        const queued = at(90000);
        return {claimed, moving, stillMoving, behind, longerGap, stalled, nearTheEnd, startedOver, queued};""",
    )
    assert values == {
        # The claim gives no rate: the bar shows its figure and waits.
        "claimed": [0.0, 0.0],
        # 1% a second from when the first figure arrived, on through the 20 s until the next write is due (not only
        # for the 2 s the first figure took to come), for 25 s at most.
        "moving": [0.02, 0.12, 0.22, 0.27, 0.27],
        "stillMoving": [True, False],
        # A figure behind the bar does not pull it back; the bar moves on once the estimate passes it again.
        "behind": [0.27, 0.32],
        # That figure came 28 s after the one before: the bar moves on for as long.
        "longerGap": [0.5, 0.5, True, False],
        # The same figure written again: the job is not moving, so neither is the bar.
        "stalled": [0.5, 0.5, False],
        # However fast the job went, the estimate stops short of the end.
        "nearTheEnd": [0.99, 0.99],
        # A new attempt starts over from its own figure, as does a job sent back to the queue.
        "startedOver": [0.05, 0.05],
        "queued": 0.0,
    }
