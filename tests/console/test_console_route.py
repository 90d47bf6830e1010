"""The console's route: the page and its two assets, self-contained, outside the API schema."""

import re

from service.api.routes.console import FOLDER

FILES = {"/console": "text/html", "/console/console.js": "text/javascript",
         "/console/console.css": "text/css"}


def test_the_page_and_its_assets_are_served_with_a_strict_policy(client):
    for path, media in FILES.items():
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith(media), path
        policy = response.headers["content-security-policy"]
        assert "default-src 'self'" in policy and "connect-src 'self'" in policy
        assert response.headers["x-content-type-options"] == "nosniff"
    page = client.get("/console").text
    assert 'src="/console/console.js"' in page and 'href="/console/console.css"' in page


def test_other_paths_under_console_are_404_problems(client):
    for path in ("/console/nope.js", "/console/index.html", "/console/..%2Fapp.py"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("application/problem+json")


def test_the_console_is_not_in_the_api_schema(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert not [path for path in paths if path.startswith("/console")]


def test_nothing_is_fetched_from_elsewhere():
    """No CDN, font or script from another origin: every URL in the files is this service's."""
    for name in ("index.html", "console.js", "console.css"):
        text = (FOLDER / name).read_text()
        assert not re.search(r"https?://|//cdn|@import|url\(", text), name
