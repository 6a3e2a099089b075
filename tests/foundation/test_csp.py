"""The Content-Security-Policy: every HTML page carries it, scripts come only from this site, and no template or
project script brings inline script (or HTML built from strings) back."""

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver

from lfr_governance.accounts.choices import Role
from tests.deployments.conftest import application, dep_people, node, window  # noqa: F401  (fixtures)
from tests.watchlists.conftest import add_entry, face_bytes, frozen, people, watchlist  # noqa: F401

TEMPLATES_DIR = Path(settings.BASE_DIR) / "templates"
PROJECT_JS_DIR = Path(settings.BASE_DIR) / "static" / "js"


def policy_of(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy")
    assert header, f"{response.request['PATH_INFO']} answered {response.status_code} without a Content-Security-Policy"
    directives = {}
    for part in header.split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def assert_strict_scripts(policy: dict[str, list[str]], path: str) -> None:
    assert policy.get("script-src") == ["'self'"], (path, policy)
    for directive in ("script-src-elem", "script-src-attr"):
        assert directive not in policy, (path, directive)
    assert "'unsafe-inline'" not in policy.get("default-src", []), path
    assert policy.get("object-src") == ["'none'"] and policy.get("base-uri") == ["'self'"], (path, policy)
    assert policy.get("frame-ancestors") == ["'none'"] and policy.get("form-action") == ["'self'"], (path, policy)


def _patterns(resolver: URLResolver, prefix: str = "", namespace: str = ""):
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _patterns(entry, route, entry.namespace or namespace)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name or ""
            yield route, name


def _path_for(route: str, name: str, ids: dict[str, int]) -> str | None:
    if route.startswith("^") or "(?P" in route:  # the admin's regex routes: a few fixed addresses below
        return None
    app = name.split(":", 1)[0]
    return "/" + re.sub(r"<int:\w+>", str(ids.get(app, 1)), re.sub(r"<(str|slug|path):\w+>", "x", route))


@pytest.mark.django_db
def test_every_html_page_carries_the_policy_with_scripts_from_this_site_only(client, dep_people, application,
                                                                            make_user):
    """Every address of the site, as people in each role: pages, redirects, 403 and 404 pages alike."""
    dep_people["dpo"] = make_user("dpo", Role.DPO)
    ids = {"deployments": application.pk, "watchlists": application.watchlist_version.watchlist_id,
           "matching": application.pk}
    paths = {p for route, name in _patterns(get_resolver()) if (p := _path_for(route, name, ids))}
    paths |= {"/admin/", "/admin/login/", "/no-such-page/"}
    seen_ok = set()
    for person in (None, "owner", "ao", "reviewer", "operator", "dpo", "admin"):
        client.logout()
        if person:
            client.force_login(dep_people[person])
        for path in sorted(paths):
            response = client.get(path)
            if not response.headers.get("Content-Type", "").startswith("text/html"):
                continue
            assert_strict_scripts(policy_of(response), path)
            if response.status_code == 200:
                seen_ok.add(path)
    expected = {"/", "/login/", "/deployments/", "/deployments/new/", f"/deployments/{application.pk}/",
                f"/watchlists/{ids['watchlists']}/", "/alerts/", "/published/", "/api/v1/docs/", "/audit/"}
    assert expected <= seen_ok, expected - seen_ok


@pytest.mark.django_db
def test_images_may_come_from_the_tile_server_and_styles_from_this_site(client, dep_people, application):
    client.force_login(dep_people["owner"])
    policy = policy_of(client.get(f"/deployments/{application.pk}/"))
    tiles = urlsplit(settings.LFR_MAP_TILE_URL)
    assert policy["img-src"] == ["'self'", "data:", f"{tiles.scheme}://{tiles.netloc}"]
    assert policy["style-src"] == ["'self'"] and policy["default-src"] == ["'self'"]


@pytest.mark.django_db
def test_only_the_api_docs_page_allows_redocs_inline_styles_and_worker(client, dep_people):
    client.force_login(dep_people["owner"])
    docs = policy_of(client.get("/api/v1/docs/"))
    assert_strict_scripts(docs, "/api/v1/docs/")
    assert docs["style-src"] == ["'self'", "'unsafe-inline'"] and docs["worker-src"] == ["blob:"]
    home = policy_of(client.get("/"))
    assert home["style-src"] == ["'self'"] and "worker-src" not in home


def _template_files():
    return sorted(TEMPLATES_DIR.rglob("*.html"))


def test_no_template_holds_inline_script_inline_style_or_handlers():
    """A <script> needs src= (or is JSON data); no <style>, style="", on...= handler or javascript: address."""
    assert len(_template_files()) > 20
    problems = []
    for path in _template_files():
        text = path.read_text()
        name = path.relative_to(TEMPLATES_DIR)
        for tag in re.findall(r"<script\b[^>]*>", text, flags=re.I):
            if not re.search(r"\ssrc=", tag, flags=re.I) and not re.search(r"type=[\"']application/json[\"']", tag):
                problems.append(f"{name}: inline script {tag}")
        for tag in re.findall(r"<[a-z][^>]*>", text, flags=re.I):
            if re.search(r"\son[a-z]+\s*=", tag, flags=re.I):
                problems.append(f"{name}: event handler attribute in {tag}")
            if re.search(r"\sstyle\s*=", tag, flags=re.I):
                problems.append(f"{name}: style attribute in {tag}")
        if re.search(r"<style\b", text, flags=re.I):
            problems.append(f"{name}: <style> element")
        if re.search(r"javascript:", text, flags=re.I):
            problems.append(f"{name}: javascript: address")
    assert not problems, "\n".join(problems)


def test_the_check_finds_an_inline_script():
    """The template check above is not vacuous: the same patterns catch each kind of inline code."""
    for bad in ("<script>alert(1)</script>", "<script type=\"module\">import x from './x.js'</script>"):
        tag = re.findall(r"<script\b[^>]*>", bad)[0]
        assert not re.search(r"\ssrc=", tag) and not re.search(r"type=[\"']application/json[\"']", tag)
    assert re.search(r"\son[a-z]+\s*=", '<img src=x onerror="alert(1)">')


def test_project_scripts_put_text_into_the_page_as_text():
    """No HTML built from strings in the project's scripts (static/vendor is others' code)."""
    scripts = sorted(PROJECT_JS_DIR.glob("*.js"))
    assert scripts, PROJECT_JS_DIR
    forbidden = re.compile(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|"
                           r"setTimeout\(\s*[\"']|setInterval\(\s*[\"']|setAttribute\(\s*[\"']style|\.cssText")
    problems = []
    for path in scripts:
        text = path.read_text()
        problems += [f"{path.name}: {m.group(0)}" for m in forbidden.finditer(text)]
        # Leaflet puts a string popup or tooltip into innerHTML: only elements made by textElement() are given.
        problems += [f"{path.name}: {m.group(0)}" for m in re.finditer(r"bind(Popup|Tooltip)\((?!textElement\()", text)]
    assert not problems, "\n".join(problems)
