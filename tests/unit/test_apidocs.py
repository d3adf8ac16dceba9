"""The API documentation pages and the UIs' files they load, served by the app itself."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar.testing import TestClient
from openapi_ui_bundles import rapidoc, swagger_ui

from rockets.app import create_app
from rockets.http.apidocs import ASSETS, ASSETS_PREFIX, CSP

from ..conftest import core_settings

Client = TestClient  # type: ignore[type-arg]

# What each file must be, stated apart from the module's table: the package's own file and the
# content type a browser runs (or applies) under nosniff.
PACKAGE_FILES: dict[str, tuple[Path, str]] = {
    "swagger-ui-bundle.js": (swagger_ui.static_path, "text/javascript"),
    "swagger-ui-standalone-preset.js": (swagger_ui.static_path, "text/javascript"),
    "swagger-ui.css": (swagger_ui.static_path, "text/css"),
    "rapidoc-min.js": (rapidoc.static_path, "text/javascript"),
}
PAGES = ["/schema", "/schema/swagger", "/schema/rapidoc"]


def test_the_table_serves_exactly_these_files() -> None:
    assert set(ASSETS) == set(PACKAGE_FILES)


@pytest.mark.parametrize("name", sorted(PACKAGE_FILES))
def test_each_file_is_the_packages_bytes_with_its_content_type(client: Client, name: str) -> None:
    folder, media_type = PACKAGE_FILES[name]
    response = client.get(ASSETS_PREFIX + name)
    assert response.status_code == 200
    assert response.content == (folder / name).read_bytes()
    assert response.headers["content-type"] == f"{media_type}; charset=utf-8"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-cache"
    etag = response.headers["etag"]

    # Revalidation costs a 304 without the body; another version's tag gets the file.
    again = client.get(ASSETS_PREFIX + name, headers={"if-none-match": f'"other", {etag}'})
    assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", etag)
    assert client.get(ASSETS_PREFIX + name, headers={"if-none-match": '"other"'}).content

    head = client.head(ASSETS_PREFIX + name)
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["content-length"] == str(len(response.content))


@pytest.mark.parametrize(
    "name", ["nothing.js", "index.html", "..%2Fswagger-ui.css", "x%00", "swagger-ui.css%00"]
)
def test_a_name_not_in_the_table_is_a_404(client: Client, name: str) -> None:
    response = client.get(ASSETS_PREFIX + name)
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    if "%" not in name:  # the others may not reach the handler, which would refuse them too
        assert response.json()["detail"] == "the API documentation has no such file"


@pytest.mark.parametrize("path", PAGES)
def test_a_page_loads_only_the_apps_own_files(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["content-security-policy"] == CSP
    assert response.headers["x-content-type-options"] == "nosniff"
    loaded = re.findall(r"""\b(?:src|href)=['"]([^'"]*)['"]""", response.text)
    assert loaded, "the page names the files it loads"
    for url in loaded:
        assert url == "data:," or url.removeprefix(ASSETS_PREFIX) in ASSETS, url
    assert "fonts.googleapis" not in response.text


def test_the_pages_name_each_file_they_need(client: Client) -> None:
    swagger = client.get("/schema/swagger").text
    assert client.get("/schema").text == swagger  # /schema is Swagger UI
    for name in ("swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-ui.css"):
        assert f"{ASSETS_PREFIX}{name}" in swagger
    page = client.get("/schema/rapidoc").text
    assert f"{ASSETS_PREFIX}rapidoc-min.js" in page
    assert "spec-url='/schema/openapi.json'" in page
    assert "load-fonts='false'" in page  # RapiDoc fetches Google's fonts otherwise


@pytest.mark.parametrize("path", ["/schema/redoc", "/schema/elements", "/schema/nope"])
def test_renderers_not_shipped_are_404s_rather_than_blank_pages(client: Client, path: str) -> None:
    # The JSON 404 of every other path (Litestar answers these with an HTML page of its own).
    answer = client.get(path)
    assert answer.status_code == 404
    assert answer.json() == client.get("/nope").json()
    assert answer.headers["x-request-id"]


def test_the_document_is_served_as_before(client: Client) -> None:
    document = client.get("/schema/openapi.json")
    assert document.headers["content-type"] == "application/vnd.oai.openapi+json"
    assert document.json()["openapi"].startswith("3.1")
    assert "content-security-policy" not in document.headers  # the pages' header only
    for path in ("/schema/openapi.yaml", "/schema/openapi.yml"):
        assert client.get(path).text.startswith("components:")


@pytest.fixture
def guarded() -> Iterator[Client]:
    with TestClient(create_app(core_settings(read_token="read-secret"))) as client:
        yield client


def test_with_a_read_token_the_files_are_open_but_the_pages_and_the_document_are_not(
    guarded: Client,
) -> None:
    # A browser sends ?access_token= with the page it opens, never with the files it loads.
    for name in ASSETS:
        assert guarded.get(ASSETS_PREFIX + name).status_code == 200
    for path in (*PAGES, "/schema/openapi.json"):
        assert guarded.get(path).status_code == 401
        assert guarded.get(f"{path}?access_token=read-secret").status_code == 200
