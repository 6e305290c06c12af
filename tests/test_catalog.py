"""`dagforge catalog`: the static site of the DAGs, read as HTML here and opened in headless Chromium."""

import os
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from conftest import CHROMIUM, ROOT, requires_chromium, run_main

import dagforge
from dagforge import layout
from dagforge.catalog import page_names

NOW = datetime(2026, 1, 1, tzinfo=UTC)


class Page(HTMLParser):
    """The elements of a page: (tag, attributes) in document order, and its text."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def having(self, tag, **attrs):
        return [
            a for t, a in self.elements if t == tag and all(a.get(k) == v for k, v in attrs.items())
        ]

    def classed(self, tag, cls):
        return [a for t, a in self.elements if t == tag and cls in (a.get("class") or "").split()]


@pytest.fixture(scope="module")
def examples(tmp_path_factory):
    """The catalog of every example spec (blocks, families, groups, mapping), linked to the
    committed generated files, and the models it shows."""
    out = tmp_path_factory.mktemp("catalog") / "site"
    cwd = os.getcwd()
    os.chdir(ROOT)  # specs and generated_dags as the README uses them
    try:
        result = dagforge.make_catalog(["specs"], out, NOW, "generated_dags")
    finally:
        os.chdir(cwd)
    assert result.ok, [d.message for s in result.specs for d in s.diagnostics]
    return out, {s.pipeline.dag_id: s.pipeline for s in result.specs}


def test_every_example_has_a_page_with_one_svg_node_per_task(examples):
    out, pipelines = examples
    index = Page((out / "index.html").read_text("utf-8"))
    listed = {a["href"] for a in index.having("a") if a["href"].startswith("dags/")}
    assert listed == {f"dags/{d}.html" for d in pipelines}  # every example's DAG, families' too
    for dag_id, p in pipelines.items():
        page = Page((out / f"dags/{dag_id}.html").read_text("utf-8"))
        assert len(page.having("svg")) == 1
        nodes = page.classed("g", "node")
        assert sorted(n["data-task-id"] for n in nodes) == sorted(t.task_id for t in p.tasks)
        assert sorted(g["data-group-id"] for g in page.classed("g", "group")) == sorted(
            g.group_id for g in p.groups
        )
        mapped = {n["data-task-id"] for n in nodes if "mapped" in n["class"].split()}
        assert mapped == {t.task_id for t in p.tasks if t.expand or t.expand_kwargs is not None}
        assert "made by dagforge on 2026-01-01 00:00 UTC" in "".join(page.text)


def test_the_examples_cover_blocks_families_groups_and_mapping(examples):
    _, pipelines = examples
    assert {"shop_sync_eu", "shop_sync_us", "warehouse_nightly", "lake_ingest"} <= set(pipelines)
    assert pipelines["warehouse_nightly"].groups and any(
        t.expand for t in pipelines["lake_ingest"].tasks
    )


def test_the_schedule_next_runs_and_sources_are_shown(examples):
    out, _ = examples
    page = (out / "dags/warehouse_nightly.html").read_text("utf-8")
    assert "At 02:00, UTC (cron &#39;0 2 * * *&#39;)" in page
    assert "Thu 2026-01-01 02:00 UTC (+00:00)" in page and "Mon 2026-01-05 02:00 UTC" in page
    # a block's task says the block's line it comes from, and where the spec uses it
    assert re.search(r"block: specs/blocks/load_table.yaml:\d+, used at line 9<", page)
    assert "Block: specs/blocks/load_table.yaml" in page
    index = (out / "index.html").read_text("utf-8")
    assert "Thu 2026-01-01 01:30 CET (+01:00)" in index  # etl_orders, Europe/Berlin


def test_group_boxes_hold_their_tasks_and_edges_pass_between_boxes():
    tasks = ["a", "g.b", "g.h.c", "g.d", "x", "e"]
    edges = [("a", "g.b"), ("g.b", "g.h.c"), ("g.h.c", "g.d"), ("a", "x"), ("x", "e"), ("g.d", "e")]
    group_of = {"a": None, "g.b": "g", "g.h.c": "g.h", "g.d": "g", "x": None, "e": None}
    found = layout.lay_out(tasks, edges, group_of, {"g": None, "g.h": "g"})

    def inside(box, outer):
        return (
            outer.x <= box.x
            and box.x + box.w <= outer.x + outer.w
            and outer.y <= box.y
            and box.y + box.h <= outer.y + outer.h
        )

    def overlap(a, b):
        return a.x < b.x + b.w and b.x < a.x + a.w and a.y < b.y + b.h and b.y < a.y + a.h

    for t, box in found.nodes.items():
        for g, outer in found.groups.items():
            assert inside(box, outer) == t.startswith(g + "."), (t, g)
        assert 0 <= box.x and box.x + box.w <= found.width and box.y + box.h <= found.height
    assert inside(found.groups["g.h"], found.groups["g"])
    boxes = list(found.nodes.values())
    assert not any(overlap(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])
    # left to right: every task stands right of the tasks it waits for
    assert all(found.nodes[up].x < found.nodes[down].x for up, down in edges)
    # an edge that passes columns passes them between the boxes there, never through one
    assert len(found.route("x", "e")) == 2 + 2 * 2  # x in column 1, e in column 4
    for up, down in edges:
        for px, py in found.route(up, down)[1:-1]:
            assert not any(b.x - 6 <= px <= b.x + b.w + 6 and b.y <= py <= b.y + b.h for b in boxes)


def test_page_names_are_safe_and_distinct():
    ids = ["sales", "Sales", "a.b", "a_b", "..", "x" * 250, "ok-id"]
    names = page_names(ids)
    assert names["ok-id"] == "dags/ok-id.html" and names["a_b"] == "dags/a_b.html"
    assert all(re.fullmatch(r"dags/[A-Za-z0-9_-]{1,100}\.html", n) for n in names.values())
    assert len({n.casefold() for n in names.values()}) == len(ids)  # case-insensitive disks too


HOSTILE = """\
    # <script>alert("comment")</script>
    dag_id: evil_dag
    description: "<script>alert('description')</script> & \\"quotes\\" 'single'"
    doc_md: |
      # <script>alert('doc_md')</script>
      <img src=x onerror="alert('img')">
      [click](javascript:alert('link')) [data](data:text/html,<script>alert(1)</script>)
      ![pic](http://example.com/x.png) <b onclick="alert(1)">b</b>
    owner: "<script>alert('owner')</script>"
    schedule: "0 2 * * *"
    start_date: 2024-01-01
    tags: ["<script>alert('tag')</script>", "\\"><svg onload=alert('attr')>"]
    alerts:
      emails: [oncall@example.com]
    tasks:
      first:
        operator: bash
        bash_command: "echo '</pre><script>alert(\\"source\\")</script>'"
      grp:
        tooltip: "<script>alert('tooltip')</script>"
        dependencies: [first]
        tasks:
          inner: {operator: bash, bash_command: "echo hi"}
    """


# The elements the templates write (and doc_md's Markdown: headings, paragraphs, links).
TEMPLATE_TAGS = set(
    "html head meta title style body header a span h1 h2 label br input table thead tbody tr th td "
    "dl dt dd p div pre svg defs marker path g rect text script".split()
)


# A spec's file name with what a link or a page could trip on: quotes, markup, `#`, `?`, `%`, spaces.
EVIL_NAME = "evil \"<b>' &#?%20.yaml"


@pytest.fixture
def hostile(write_spec, tmp_path):
    write_spec(HOSTILE, EVIL_NAME)
    out = tmp_path / "site"
    result = dagforge.make_catalog([tmp_path / "specs"], out, NOW)
    assert result.ok
    return out


def test_a_hostile_spec_comes_out_as_text(hostile):
    files = {
        p.relative_to(hostile).as_posix(): p.read_text("utf-8") for p in hostile.rglob("*.html")
    }
    assert set(files) == {"index.html", "dags/evil_dag.html"}
    for name, text in files.items():
        page = Page(text)
        scripts = page.having("script")
        assert len(scripts) == (name == "index.html")  # the filter box's own, nothing else
        # no value of a spec became an element or an attribute: only the templates' own are there
        assert {t for t, _ in page.elements} <= TEMPLATE_TAGS, name
        for tag, attrs in page.elements:
            assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
            href = attrs.get("href") or ""
            assert not re.match(r"\s*(javascript|data|vbscript):", href, re.I), href
    dag = files["dags/evil_dag.html"]
    for field in ("description", "doc_md", "owner", "tag", "tooltip", "source", "comment"):
        assert (
            f"alert(&#39;{field}&#39;)" in dag
            or f"alert(&#34;{field}&#34;)" in dag
            or (f"alert(\\&#34;{field}\\&#34;)" in dag)
        ), field
    assert "&lt;svg onload=alert(&#39;attr&#39;)&gt;" in files["index.html"]


def test_the_catalog_is_the_same_bytes_for_the_same_specs_and_now(write_spec, tmp_path):
    write_spec(HOSTILE, "evil.yaml")
    one, two = tmp_path / "one", tmp_path / "two"
    dagforge.make_catalog([tmp_path / "specs"], one, NOW)
    dagforge.make_catalog([tmp_path / "specs"], two, NOW)
    files = sorted(p.relative_to(one) for p in one.rglob("*") if p.is_file())
    assert files and files == sorted(p.relative_to(two) for p in two.rglob("*") if p.is_file())
    assert all((one / f).read_bytes() == (two / f).read_bytes() for f in files)


def test_settings_say_where_they_come_from(write_spec, tmp_path, monkeypatch):
    (tmp_path / "specs" / "team").mkdir(parents=True)
    (tmp_path / "specs" / "defaults.yaml").write_text("retries: 3\nowner: team\n", "utf-8")
    write_spec(
        """
        dag_id: sourced
        start_date: 2024-01-01
        tasks:
          plain: {operator: empty}
          own: {operator: empty, retries: 7}
          grp:
            defaults: {retries: 1}
            tasks:
              in_group: {operator: empty, execution_timeout: 1h}
        """,
        "team/sourced.yaml",
    )
    monkeypatch.chdir(tmp_path)
    result = dagforge.make_catalog(["specs"], "site", NOW)
    assert result.ok
    rows = re.findall(
        r"<tr>\n<td>([\w.]+).*?</tr>", (tmp_path / "site/dags/sourced.html").read_text(), re.S
    )
    text = (tmp_path / "site/dags/sourced.html").read_text()
    assert rows == ["plain", "own", "grp.in_group"]
    row = {r: re.search(rf"<td>{re.escape(r)}.*?</tr>", text, re.S).group() for r in rows}
    assert '3<span class="from">defaults.yaml: specs/defaults.yaml:1</span>' in row["plain"]
    assert '7<span class="from">spec: line 5</span>' in row["own"]
    assert '1<span class="from">group defaults: grp, line 7</span>' in row["grp.in_group"]
    assert '1 hour<span class="from">spec: line 9</span>' in row["grp.in_group"]
    assert 'none<span class="from">default</span>' in row["plain"]  # its timeout


def test_the_cli_writes_the_site_and_an_invalid_spec_writes_nothing(write_spec, tmp_path):
    write_spec("dag_id: fine\nstart_date: 2024-01-01\ntasks: {a: {operator: empty}}\n", "fine.yaml")
    done = run_main("catalog", "specs", "-o", "site", "--now", "2026-01-01", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "site/index.html").is_file() and (tmp_path / "site/dags/fine.html").is_file()
    assert "1 spec catalogued, 0 invalid" in done.stderr
    write_spec("dag_id: broken\ntasks: {a: {operator: empty}}\n", "broken.yaml")
    done = run_main("catalog", "specs", "-o", "again", cwd=tmp_path)
    assert done.returncode == 1 and "broken.yaml:1:1: error:" in done.stderr
    assert not (tmp_path / "again").exists()
    (tmp_path / "afile").write_text("x")
    (tmp_path / "specs/broken.yaml").unlink()
    done = run_main("catalog", "specs", "-o", "afile", cwd=tmp_path)
    assert done.returncode == 2 and "it is a file, not a folder" in done.stderr
    assert "Traceback" not in done.stderr


def test_source_date_epoch_is_the_default_now(write_spec, tmp_path):
    write_spec("dag_id: fine\nstart_date: 2024-01-01\ntasks: {a: {operator: empty}}\n", "fine.yaml")
    done = run_main(
        "catalog", "specs", "-o", "site", cwd=tmp_path, env={"SOURCE_DATE_EPOCH": "1767225600"}
    )
    assert done.returncode == 0, done.stderr
    assert "made by dagforge on 2026-01-01 00:00 UTC" in (tmp_path / "site/index.html").read_text()


# In the browser ----------------------------------------------------------------------------------

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser():
    if os.environ.get("CI"):  # .ci/run installs it with the test extra: missing is a failure
        from playwright import sync_api
    else:
        sync_api = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[test]'")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _open(browser, path: Path, viewport=(1200, 800)):
    """A page at `path` (file://), and the console errors and uncaught exceptions it gives."""
    page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: (errors.append(f"dialog: {d.message}"), d.dismiss()))
    page.on("request", lambda r: None if r.url.startswith("file:") else errors.append(r.url))
    page.goto(path.as_uri())
    return page, errors


def _links(page) -> list[str]:
    return page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")


def _file(url: str) -> Path:
    parts = urlsplit(url)
    assert parts.scheme == "file", url
    return Path(unquote(parts.path))


@requires_chromium
def test_the_pages_in_chromium(examples, browser, tmp_path):
    out, pipelines = examples
    page, errors = _open(browser, out / "index.html")
    page.screenshot(path=tmp_path / "index.png", full_page=True)
    assert (tmp_path / "index.png").stat().st_size > 10_000
    links = _links(page)
    assert len(links) > len(pipelines) and all(_file(u).is_file() for u in links)
    rows = page.locator("tbody tr")
    assert rows.count() == len(pipelines)
    page.fill("#filter", "ml-platform")
    shown = sorted(page.locator("tbody tr:visible td:first-child a").all_inner_texts())
    assert shown == sorted(d for d, p in pipelines.items() if p.owner == "ml-platform") != []
    assert page.inner_text("#count") == f"{len(shown)} of {len(pipelines)} DAGs"
    page.fill("#filter", "shop sync")  # every word, in any field
    assert page.locator("tbody tr:visible").count() == 2
    page.fill("#filter", "no such dag anywhere")
    assert page.locator("tbody tr:visible").count() == 0
    page.fill("#filter", "")
    assert page.locator("tbody tr:visible").count() == len(pipelines)
    assert errors == []
    page.close()
    for dag_id in ("lake_ingest", "warehouse_nightly", "shop_sync_eu"):
        page, errors = _open(browser, out / f"dags/{dag_id}.html")
        page.screenshot(path=tmp_path / f"{dag_id}.png", full_page=True)
        svg = page.locator("svg")
        assert svg.count() == 1 and svg.bounding_box()["width"] > 200
        assert page.locator("svg g.node").count() == len(pipelines[dag_id].tasks)
        # the index, the spec and the committed generated file: each link reaches a file
        reached = [_file(u) for u in _links(page)]
        assert all(f.is_file() for f in reached)
        assert {f.suffix for f in reached} == {".html", ".yaml", ".py"}
        assert errors == [], dag_id
        page.close()


@requires_chromium
def test_a_hostile_spec_runs_nothing_in_chromium(hostile, browser):
    for path in (hostile / "index.html", hostile / "dags/evil_dag.html"):
        page, errors = _open(browser, path)
        assert errors == []  # no dialog, no blocked script or load, no image requested
        assert page.locator("svg g.node").count() == (2 if "dags" in path.parts else 0)
        # the pages' own links reach their files; doc_md's link elsewhere stays a web link
        links = _links(page)
        assert all(_file(u).is_file() for u in links if not u.startswith("http://example.com/"))
        page.close()
    page, _ = _open(browser, hostile / "dags/evil_dag.html")
    assert page.inner_text("a[href$='.yaml']").endswith(
        EVIL_NAME
    )  # the spec's link, shown as named


def test_the_pages_of_dags_that_are_gone_go_and_no_other_file_is_touched(write_spec, tmp_path):
    write_spec("dag_id: one\nstart_date: 2024-01-01\ntasks: {a: {operator: empty}}\n", "one.yaml")
    two = write_spec(
        "dag_id: two\nstart_date: 2024-01-01\ntasks: {a: {operator: empty}}\n", "two.yaml"
    )
    out = tmp_path / "site"
    assert dagforge.make_catalog([tmp_path / "specs"], out, NOW).ok
    (out / "dags" / "mine.html").write_text("<!DOCTYPE html>\n<p>my own page</p>\n")
    two.unlink()
    result = dagforge.make_catalog([tmp_path / "specs"], out, NOW)
    assert result.ok and result.removed == [out / "dags/two.html"]
    assert sorted(p.name for p in (out / "dags").iterdir()) == ["mine.html", "one.html"]
    (out / "dags" / "one.html").write_text("<p>someone else's</p>\n")  # never overwritten
    done = run_main("catalog", "specs", "-o", "site", cwd=tmp_path)
    assert (
        done.returncode == 2 and "site/dags/one.html exists and was not written by" in done.stderr
    )
    assert (out / "dags" / "one.html").read_text() == "<p>someone else's</p>\n"


def test_each_callback_event_says_where_it_comes_from(write_spec, tmp_path):
    write_spec(
        """
        dag_id: called
        start_date: 2024-01-01
        defaults:
          callbacks: {on_failure: [team.alerts:page]}
        tasks:
          t:
            operator: empty
            callbacks: {on_retry: [team.alerts:note]}
        """
    )
    assert dagforge.make_catalog([tmp_path / "specs"], tmp_path / "site", NOW).ok
    text = (tmp_path / "site/dags/called.html").read_text()
    assert 'on_failure: team.alerts:page<span class="from">spec: line 4</span>' in text
    assert 'on_retry: team.alerts:note<span class="from">spec: line 8</span>' in text
