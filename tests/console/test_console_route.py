"""The console's route: the page, its scripts and styles and the vendored chart library,
self-contained, outside the API schema."""

import re

from service.api.routes.console import ASSETS, FOLDER, SCRIPTS

OWN = ("index.html", *SCRIPTS, "console.css")


def test_the_page_and_its_assets_are_served_with_a_strict_policy(client):
    files = {"/console": "text/html", **{f"/console/{name}": media.split(";")[0]
                                          for name, media in ASSETS.items()}}
    for path, media in files.items():
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith(media), path
        policy = response.headers["content-security-policy"]
        assert "default-src 'self'" in policy
        assert "connect-src 'self'" in policy
        assert response.headers["x-content-type-options"] == "nosniff"
    page = client.get("/console").text
    for name in (*SCRIPTS, "uPlot.iife.min.js"):
        assert f'src="/console/{name}"' in page, name
    assert 'href="/console/console.css"' in page
    assert 'href="/console/uPlot.min.css"' in page


def test_head_answers_like_get_without_a_body(client):
    for path in ("/console", "/console/console.js", "/console/uPlot.iife.min.js"):
        head, get = client.head(path), client.get(path)
        assert head.status_code == 200, path
        assert head.content == b""
        assert head.headers["content-length"] == str(len(get.content))
        assert head.headers["content-type"] == get.headers["content-type"]


def test_the_chart_library_ships_with_its_licence(client):
    licence = client.get("/console/uPlot.LICENSE").text
    assert "The MIT License" in licence
    assert "Leon Sorokin" in licence
    assert client.get("/console/uPlot.iife.min.js").text.startswith("/*! https://github.com/leeoniya/uPlot")


def test_other_paths_under_console_are_404_problems(client):
    for path in ("/console/nope.js", "/console/index.html", "/console/..%2Fapp.py"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("application/problem+json")


def test_the_console_is_not_in_the_api_schema(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert not [path for path in paths if path.startswith("/console")]


def test_nothing_is_fetched_from_elsewhere():
    """No CDN, font or script from another origin: every URL in our files is this service's, and
    the vendored library loads nothing (its one URL is its home page, in a comment)."""
    for name in OWN:
        text = (FOLDER / name).read_text()
        assert not re.search(r"https?://|//cdn|@import|url\(", text), name
    library = (FOLDER / "uPlot.iife.min.js").read_text()
    assert re.findall(r"https?://[^\s\"')]+", library) == ["https://github.com/leeoniya/uPlot"]
    assert not re.search(r"@import|url\(", (FOLDER / "uPlot.min.css").read_text())
