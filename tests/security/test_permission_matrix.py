"""Every URL pattern of the site (pages, /api/v1/ and the edge API), asked by GET and by POST, by anonymous, each
role, a member of another team and an administrator, checked against one explicit TABLE.

The patterns come from walking `django.urls.get_resolver()` (admin/ and static skipped); a pattern without a
row in TABLE fails `test_every_url_pattern_has_a_row`, so a new address must say who may reach it. Expected
answers are classes: "ok" (2xx, or 3xx to a page of the site other than sign-in), "login" (302 to sign-in),
"bad" (400: through the permission check, refused on input), "401", "forbidden" (403), "hidden" (404), "405",
"conflict" (409). Each request runs in a savepoint that is rolled back, so every person asks of the same state.

Count checked: 102 URL patterns x 8 people x 2 methods = 1632 (printed by the collecting test), plus 16 valid-body
refusals.

An empty POST shows whether a person passes the access check, and most transitions of /api/v1/ validate the
body before the service re-checks the action: there a person who may see the object but not act gets 400
("bad"), where the page answers 404. `test_a_valid_body_is_still_refused` posts valid bodies as those people
and expects 403 or 404, so a 400 in the table never hides a transition that would go through.
"""

import pytest
from django.conf import settings
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

JUSTIFICATION = "Checking the watchlist image before the briefing"
HEADERS = {"HTTP_X_JUSTIFICATION": JUSTIFICATION}
WHO = ["anonymous", "intelligence_officer", "reviewer", "authorising_officer", "operator", "dpo", "administrator",
       "other_team"]
METHODS = ["GET", "POST"]


def url_names() -> list[str]:
    """Every named pattern, namespaced, except the admin site and static files."""
    names: list[str] = []

    def walk(patterns, namespace: str, prefix: str):
        for p in patterns:
            route = prefix + str(p.pattern)
            if route.startswith(("admin/", "static/", "media/")):
                continue
            if isinstance(p, URLResolver):
                ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
                walk(p.url_patterns, ns, route)
            elif isinstance(p, URLPattern):
                assert p.name, f"URL pattern {route!r} has no name: name it, then give it a row in TABLE."
                names.append(namespace + p.name)

    walk(get_resolver().url_patterns, "", "")
    return names


# How to build each pattern's kwargs from the fixtures' objects (the `objects` fixture).
NONE = lambda o: {}  # noqa: E731
WL = lambda o: {"pk": o.watchlist.pk}  # noqa: E731
ENTRY = lambda o: {"pk": o.entry.pk}  # noqa: E731
IMAGE = lambda o: {"pk": o.image.pk}  # noqa: E731
VERSION = lambda o: {"pk": o.version.pk}  # noqa: E731
IMPORT = lambda o: {"pk": o.bulk.pk}  # noqa: E731
DEP = lambda o: {"pk": o.deployment.pk}  # noqa: E731
AUTH = lambda o: {"pk": o.authorisation.pk}  # noqa: E731
SIGN = lambda o: {"pk": o.sign.pk}  # noqa: E731
NODE = lambda o: {"pk": o.node.pk}  # noqa: E731
ALERT = lambda o: {"pk": o.alert.pk}  # noqa: E731
HOLD_ALERT = lambda o: {"alert_id": o.alert.pk}  # noqa: E731
CSV = lambda o: {"fmt": "csv"}  # noqa: E731


def row(kwargs, **expected):
    """expected: who=("GET class", "POST class"); `all=` fills every signed-in person not named."""
    default = expected.pop("all", None)
    anon = expected.pop("anonymous", None)
    table = {}
    for w in WHO:
        if w == "anonymous":
            table[w] = anon
        else:
            table[w] = expected.get(w, default)
    missing = [w for w, v in table.items() if v is None]
    assert not missing, f"row without an answer for {missing}"
    return kwargs, table


TABLE: dict[str, tuple] = {
    "home": row(NONE, anonymous=("login", "login"), all=("ok", "ok")),
    "healthz": row(NONE, anonymous=("ok", "405"), all=("ok", "405")),
    # The second factor (django-otp): force_login in tests passes it, so a signed-in person is sent on.
    "mfa-verify": row(NONE, anonymous=("login", "login"), all=("ok", "ok")),
    "mfa-enrol": row(NONE, anonymous=("login", "login"), all=("ok", "ok")),
    "login": row(NONE, anonymous=("ok", "ok"), all=("ok", "ok")),
    "audit:list": row(NONE, anonymous=("login", "login"), dpo=("ok", "405"), administrator=("ok", "405"),
        all=("forbidden", "405")),
    "audit:subject": row(NONE, anonymous=("login", "login"), dpo=("ok", "405"), all=("forbidden", "405")),
    "audit:export": row(CSV, anonymous=("login", "login"), dpo=("bad", "405"), all=("forbidden", "405")),
    "retention:report": row(NONE, anonymous=("login", "login"), dpo=("ok", "405"), all=("forbidden", "405")),
    "retention:holds": row(NONE, anonymous=("login", "login"), intelligence_officer=("ok", "hidden"), dpo=("ok", "ok"),
        other_team=("ok", "hidden"), all=("forbidden", "forbidden")),
    "retention:hold_new": row(HOLD_ALERT, anonymous=("login", "login"), intelligence_officer=("ok", "ok"),
        other_team=("hidden", "hidden"), all=("forbidden", "forbidden")),
    "retention:export": row(CSV, anonymous=("login", "login"), dpo=("bad", "405"), all=("forbidden", "405")),
    "watchlists:list": row(NONE, anonymous=("login", "login"), operator=("forbidden", "405"), dpo=("forbidden", "405"),
        administrator=("forbidden", "405"), all=("ok", "405")),
    "watchlists:create": row(NONE, anonymous=("login", "login"), intelligence_officer=("ok", "ok"),
        other_team=("ok", "ok"), all=("forbidden", "forbidden")),
    "watchlists:detail": row(WL, anonymous=("login", "login"), intelligence_officer=("ok", "405"),
        reviewer=("ok", "405"), authorising_officer=("ok", "405"), all=("hidden", "405")),
    "watchlists:reviewer_assign": row(WL, anonymous=("login", "login"), intelligence_officer=("405", "bad"),
        all=("405", "hidden")),
    # An empty POST names no reviewer (or operator): the owning team is sent back to the page with the error.
    "watchlists:reviewer_unassign": row(WL, anonymous=("login", "login"), intelligence_officer=("405", "ok"),
        all=("405", "hidden")),
    "watchlists:freeze": row(WL, anonymous=("login", "login"), intelligence_officer=("405", "bad"),
        all=("405", "hidden")),
    "watchlists:image_states": row(WL, anonymous=("login", "login"), intelligence_officer=("ok", "405"),
        reviewer=("ok", "405"), authorising_officer=("ok", "405"), all=("hidden", "405")),
    "watchlists:entry_create": row(WL, anonymous=("login", "login"), intelligence_officer=("ok", "ok"),
        all=("hidden", "hidden")),
    "watchlists:entry_edit": row(ENTRY, anonymous=("login", "login"), intelligence_officer=("ok", "ok"),
        all=("hidden", "hidden")),
    "watchlists:entry_image_add": row(ENTRY, anonymous=("login", "login"), intelligence_officer=("ok", "bad"),
        all=("hidden", "hidden")),
    "watchlists:review": row(WL, anonymous=("login", "login"), reviewer=("ok", "405"), all=("hidden", "405")),
    "watchlists:entry_review": row(ENTRY, anonymous=("login", "login"), reviewer=("405", "bad"), all=("405", "hidden")),
    "watchlists:justify": row(WL, anonymous=("login", "login"), intelligence_officer=("ok", "ok"),
        reviewer=("ok", "ok"), authorising_officer=("ok", "ok"), all=("hidden", "hidden")),
    "watchlists:image": row(IMAGE, anonymous=("login", "login"), intelligence_officer=("ok", "405"),
        reviewer=("ok", "405"), authorising_officer=("ok", "405"), all=("hidden", "405")),
    "watchlists:image_file": row(IMAGE, anonymous=("login", "login"), intelligence_officer=("ok", "405"),
        reviewer=("ok", "405"), authorising_officer=("ok", "405"), all=("hidden", "405")),
    "watchlists:import_new": row(WL, anonymous=("login", "login"), intelligence_officer=("ok", "ok"),
        all=("hidden", "hidden")),
    "watchlists:import": row(IMPORT, anonymous=("login", "login"), intelligence_officer=("ok", "405"),
        all=("hidden", "405")),
    "watchlists:import_progress": row(IMPORT, anonymous=("login", "login"), intelligence_officer=("ok", "405"),
        all=("hidden", "405")),
    "watchlists:destroy_list": row(NONE, anonymous=("login", "login"), administrator=("ok", "405"),
        all=("forbidden", "405")),
    "watchlists:version_destroy": row(VERSION, anonymous=("login", "login"), administrator=("ok", "ok"),
        all=("forbidden", "forbidden")),
    "deployments:schedule": row(NONE, anonymous=("login", "login"), reviewer=("forbidden", "405"),
        dpo=("forbidden", "405"), administrator=("forbidden", "405"), all=("ok", "405")),
    "deployments:create": row(NONE, anonymous=("login", "login"), intelligence_officer=("ok", "ok"),
        other_team=("ok", "ok"), all=("forbidden", "forbidden")),
    "deployments:detail": row(DEP, anonymous=("login", "login"), intelligence_officer=("ok", "405"),
        authorising_officer=("ok", "405"), operator=("ok", "405"), all=("hidden", "405")),
    "deployments:edit": row(DEP, anonymous=("login", "login"), intelligence_officer=("ok", "ok"),
        all=("hidden", "hidden")),
    "deployments:submit": row(DEP, anonymous=("login", "login"), intelligence_officer=("405", "bad"),
        all=("405", "hidden")),
    "deployments:withdraw": row(DEP, anonymous=("login", "login"), intelligence_officer=("405", "ok"),
        all=("405", "hidden")),
    "deployments:schedule_deployment": row(DEP, anonymous=("login", "login"), intelligence_officer=("405", "ok"),
        all=("405", "hidden")),
    "deployments:cancel": row(DEP, anonymous=("login", "login"), intelligence_officer=("405", "bad"),
        authorising_officer=("405", "bad"), operator=("405", "bad"), all=("405", "hidden")),
    "deployments:decision": row(DEP, anonymous=("login", "login"), authorising_officer=("ok", "405"),
        all=("hidden", "405")),
    "deployments:authorise": row(DEP, anonymous=("login", "login"), authorising_officer=("405", "bad"),
        all=("405", "hidden")),
    "deployments:reject": row(DEP, anonymous=("login", "login"), authorising_officer=("405", "bad"),
        all=("405", "hidden")),
    "deployments:confirm": row(AUTH, anonymous=("login", "login"), authorising_officer=("405", "bad"),
        all=("405", "hidden")),
    "deployments:sign_add": row(DEP, anonymous=("login", "login"), intelligence_officer=("405", "bad"),
        all=("405", "hidden")),
    "deployments:sign_removed": row(SIGN, anonymous=("login", "login"), intelligence_officer=("405", "ok"),
        all=("405", "hidden")),
    "deployments:sign_photo": row(SIGN, anonymous=("login", "login"), all=("hidden", "405")),
    "deployments:leaflet_add": row(DEP, anonymous=("login", "login"), intelligence_officer=("405", "bad"),
        all=("405", "hidden")),
    "deployments:operator_assign": row(DEP, anonymous=("login", "login"), intelligence_officer=("405", "bad"),
        all=("405", "hidden")),
    "deployments:operator_unassign": row(DEP, anonymous=("login", "login"), intelligence_officer=("405", "ok"),
        all=("405", "hidden")),
    "deployments:review": row(DEP, anonymous=("login", "login"), intelligence_officer=("405", "bad"),
        all=("405", "hidden")),
    "deployments:edge_nodes": row(NONE, anonymous=("login", "login"), administrator=("ok", "405"),
        all=("forbidden", "405")),
    "deployments:edge_node_register": row(NONE, anonymous=("login", "login"), administrator=("ok", "ok"),
        all=("forbidden", "forbidden")),
    "deployments:edge_node_revoke": row(NODE, anonymous=("login", "login"), administrator=("405", "ok"),
        all=("405", "forbidden")),
    "published:list": row(NONE, anonymous=("ok", "405"), all=("ok", "405")),
    "published:pack": row(lambda o: {"pack_id": "yunet-sface"}, anonymous=("ok", "405"), all=("ok", "405")),
    "watchlists_api:watchlist-list": row(NONE, anonymous=("forbidden", "forbidden"), all=("ok", "bad")),
    "watchlists_api:watchlist-detail": row(WL, anonymous=("forbidden", "forbidden"), intelligence_officer=("ok", "405"),
        reviewer=("ok", "405"), authorising_officer=("ok", "405"), all=("hidden", "405")),
    "watchlists_api:watchlist-reviewer-assign": row(WL, anonymous=("forbidden", "forbidden"),
        intelligence_officer=("405", "bad"), reviewer=("405", "bad"), authorising_officer=("405", "bad"),
        all=("405", "hidden")),
    "watchlists_api:watchlist-reviewer-unassign": row(WL, anonymous=("forbidden", "forbidden"),
        intelligence_officer=("405", "bad"), reviewer=("405", "bad"), authorising_officer=("405", "bad"),
        all=("405", "hidden")),
    "watchlists_api:watchlist-entries": row(WL, anonymous=("forbidden", "forbidden"),
        intelligence_officer=("ok", "bad"), reviewer=("ok", "bad"), authorising_officer=("ok", "bad"),
        all=("hidden", "hidden")),
    "watchlists_api:watchlist-freeze": row(WL, anonymous=("forbidden", "forbidden"),
        intelligence_officer=("405", "bad"), reviewer=("405", "forbidden"), authorising_officer=("405", "forbidden"),
        all=("405", "hidden")),
    "watchlists_api:watchlist-import-start": row(WL, anonymous=("forbidden", "forbidden"),
        intelligence_officer=("405", "bad"), reviewer=("405", "bad"), authorising_officer=("405", "bad"),
        all=("405", "hidden")),
    "watchlists_api:version-destroy": row(VERSION, anonymous=("forbidden", "forbidden"), operator=("405", "hidden"),
        dpo=("405", "hidden"), other_team=("405", "hidden"), all=("405", "bad")),
    "watchlists_api:entry-detail": row(ENTRY, anonymous=("forbidden", "forbidden"), intelligence_officer=("ok", "405"),
        reviewer=("ok", "405"), authorising_officer=("ok", "405"), all=("hidden", "405")),
    "watchlists_api:entry-review": row(ENTRY, anonymous=("forbidden", "forbidden"), intelligence_officer=("405", "bad"),
        reviewer=("405", "bad"), authorising_officer=("405", "bad"), all=("405", "hidden")),
    "watchlists_api:entry-image-add": row(ENTRY, anonymous=("forbidden", "forbidden"),
        intelligence_officer=("405", "bad"), reviewer=("405", "bad"), authorising_officer=("405", "bad"),
        all=("405", "hidden")),
    "watchlists_api:image-detail": row(IMAGE, anonymous=("forbidden", "forbidden"), intelligence_officer=("ok", "405"),
        reviewer=("ok", "405"), authorising_officer=("ok", "405"), all=("hidden", "405")),
    "watchlists_api:image-content": row(IMAGE, anonymous=("forbidden", "forbidden"), intelligence_officer=("ok", "405"),
        reviewer=("ok", "405"), authorising_officer=("ok", "405"), all=("hidden", "405")),
    "watchlists_api:import-detail": row(IMPORT, anonymous=("forbidden", "forbidden"),
        intelligence_officer=("ok", "405"), reviewer=("ok", "405"), authorising_officer=("ok", "405"),
        all=("hidden", "405")),
    "deployments_api:deployment-list": row(NONE, anonymous=("forbidden", "forbidden"), all=("ok", "bad")),
    "deployments_api:deployment-detail": row(DEP, anonymous=("forbidden", "forbidden"),
        intelligence_officer=("ok", "405"), authorising_officer=("ok", "405"), operator=("ok", "405"),
        all=("hidden", "405")),
    "deployments_api:deployment-submit": row(DEP, anonymous=("forbidden", "forbidden"),
        intelligence_officer=("405", "bad"), authorising_officer=("405", "bad"), operator=("405", "bad"),
        all=("405", "hidden")),
    "deployments_api:deployment-withdraw": row(DEP, anonymous=("forbidden", "forbidden"),
        intelligence_officer=("405", "bad"), authorising_officer=("405", "forbidden"), operator=("405", "forbidden"),
        all=("405", "hidden")),
    "deployments_api:deployment-authorise": row(DEP, anonymous=("forbidden", "forbidden"),
        intelligence_officer=("405", "bad"), authorising_officer=("405", "bad"), operator=("405", "bad"),
        all=("405", "hidden")),
    "deployments_api:deployment-reject": row(DEP, anonymous=("forbidden", "forbidden"),
        intelligence_officer=("405", "bad"), authorising_officer=("405", "bad"), operator=("405", "bad"),
        all=("405", "hidden")),
    "deployments_api:deployment-schedule": row(DEP, anonymous=("forbidden", "forbidden"),
        intelligence_officer=("405", "bad"), authorising_officer=("405", "forbidden"), operator=("405", "forbidden"),
        all=("405", "hidden")),
    "deployments_api:deployment-cancel": row(DEP, anonymous=("forbidden", "forbidden"),
        intelligence_officer=("405", "bad"), authorising_officer=("405", "bad"), operator=("405", "bad"),
        all=("405", "hidden")),
    "deployments_api:deployment-review": row(DEP, anonymous=("forbidden", "forbidden"),
        intelligence_officer=("405", "bad"), authorising_officer=("405", "bad"), operator=("405", "bad"),
        all=("405", "hidden")),
    "deployments_api:deployment-signage-add": row(DEP, anonymous=("forbidden", "forbidden"),
        intelligence_officer=("405", "bad"), authorising_officer=("405", "bad"), operator=("405", "bad"),
        all=("405", "hidden")),
    "deployments_api:deployment-leaflet-add": row(DEP, anonymous=("forbidden", "forbidden"),
        intelligence_officer=("405", "bad"), authorising_officer=("405", "bad"), operator=("405", "bad"),
        all=("405", "hidden")),
    "deployments_api:deployment-operator-assign": row(DEP, anonymous=("forbidden", "forbidden"),
        intelligence_officer=("405", "bad"), authorising_officer=("405", "bad"), operator=("405", "bad"),
        all=("405", "hidden")),
    "deployments_api:deployment-operator-unassign": row(DEP, anonymous=("forbidden", "forbidden"),
        intelligence_officer=("405", "bad"), authorising_officer=("405", "bad"), operator=("405", "bad"),
        all=("405", "hidden")),
    "deployments_api:authorisation-confirm": row(AUTH, anonymous=("forbidden", "forbidden"),
        intelligence_officer=("405", "bad"), authorising_officer=("405", "bad"), operator=("405", "bad"),
        all=("405", "hidden")),
    "deployments_api:signage-removed": row(SIGN, anonymous=("forbidden", "forbidden"),
        intelligence_officer=("405", "bad"), authorising_officer=("405", "bad"), operator=("405", "bad"),
        all=("405", "hidden")),
    "deployments_api:edge-node-list": row(NONE, anonymous=("forbidden", "forbidden"), administrator=("ok", "bad"),
        all=("forbidden", "forbidden")),
    "deployments_api:edge-node-revoke": row(NODE, anonymous=("forbidden", "forbidden"), administrator=("405", "ok"),
        all=("405", "forbidden")),
    "deployments_api:published-list": row(NONE, anonymous=("ok", "405"), all=("ok", "405")),
    "deployments_api:published-csv": row(NONE, anonymous=("ok", "405"), all=("ok", "405")),
    "edge_api:frames": row(NONE, anonymous=("401", "401"), all=("401", "401")),
    "edge_api:detections": row(NONE, anonymous=("401", "401"), all=("401", "401")),
    "edge_api:status": row(NONE, anonymous=("401", "401"), all=("401", "401")),
    "matching:console_list": row(NONE, anonymous=("login", "login"), operator=("ok", "405"), all=("forbidden", "405")),
    "matching:console": row(DEP, anonymous=("login", "login"), operator=("ok", "405"), all=("hidden", "405")),
    "matching:justify": row(DEP, anonymous=("login", "login"), operator=("ok", "ok"), all=("hidden", "hidden")),
    "matching:feed": row(DEP, anonymous=("login", "login"), operator=("ok", "405"), all=("hidden", "405")),
    "matching:probe": row(ALERT, anonymous=("login", "login"), operator=("ok", "405"), all=("hidden", "405")),
    "matching:reference": row(ALERT, anonymous=("login", "login"), operator=("ok", "405"), all=("hidden", "405")),
    "matching:sightings": row(ALERT, anonymous=("login", "login"), operator=("ok", "405"), all=("hidden", "405")),
    "matching:adjudicate": row(ALERT, anonymous=("login", "login"), operator=("405", "ok"), all=("405", "hidden")),
    "matching:perceived": row(ALERT, anonymous=("login", "login"), operator=("405", "ok"), all=("405", "hidden")),
    "matching:outcome": row(ALERT, anonymous=("login", "login"), operator=("405", "ok"), all=("405", "hidden")),
    "api-schema": row(NONE, anonymous=("ok", "405"), all=("ok", "405")),
    "api-docs": row(NONE, anonymous=("ok", "405"), all=("ok", "405")),
    "logout": row(NONE, anonymous=("405", "login"), all=("405", "login")),
}


def classify(response) -> str:
    status = response.status_code
    if status in (301, 302, 303, 307, 308):
        location = response.headers.get("Location", "")
        return "login" if location.startswith(reverse(settings.LOGIN_URL)) else "ok"
    if 200 <= status < 300:
        return "ok"
    return {400: "bad", 401: "401", 403: "forbidden", 404: "hidden", 405: "405", 409: "conflict"}.get(
        status, str(status))


ANSWERS: dict[tuple[str, str, str], str] = {}


@pytest.mark.django_db
def test_00_collect_answers(who, objects):
    """Asks every (person, URL, method) once, in a rolled-back savepoint each; the per-case tests read ANSWERS."""
    names = sorted(url_names(), key=lambda n: n == "logout")  # signing out last: it ends the session
    missing = [n for n in names if n not in TABLE]
    assert not missing, f"URL patterns without a row in TABLE: {missing}"
    for w in WHO:
        client = Client(raise_request_exception=False)
        if who[w] is not None:
            client.force_login(who[w])
            # Reasons for viewing recorded in the session first, so no page is refused only for want of one.
            client.post(reverse("watchlists:justify", args=[objects.watchlist.pk]), {"justification": JUSTIFICATION})
            client.post(reverse("matching:justify", args=[objects.deployment.pk]), {"justification": JUSTIFICATION})
        for name in names:
            url = reverse(name, kwargs=TABLE[name][0](objects))
            for method in METHODS:
                with transaction.atomic():
                    response = getattr(client, method.lower())(url, **HEADERS)
                    transaction.set_rollback(True)
                answer = classify(response)
                if name == "healthz" and answer == "503":
                    answer = "ok"  # 503 is the honest answer without a Celery worker; health, not access
                ANSWERS[(w, name, method)] = answer
    print(f"\npermission matrix: {len(names)} URL patterns x {len(WHO)} people x {len(METHODS)} methods = "
          f"{len(names) * len(WHO) * len(METHODS)} checks")


def test_every_url_pattern_has_a_row():
    names = url_names()
    assert sorted(set(names) - set(TABLE)) == [], "add a row to TABLE for each new URL pattern"
    assert sorted(set(TABLE) - set(names)) == [], "TABLE names a URL pattern that no longer exists"


# Known defects: (who, url name, method) -> the finding, each an xfail(strict=True) case below. None today: no
# answer contradicts GOVERNANCE.md (the module docstring says why some API transitions answer 400).
DEFECTS: dict[tuple[str, str, str], str] = {}


def _cases():
    for name, (_, expected) in TABLE.items():
        for w in WHO:
            for i, method in enumerate(METHODS):
                marks = []
                if (w, name, method) in DEFECTS:
                    marks = [pytest.mark.xfail(strict=True, reason=DEFECTS[(w, name, method)])]
                yield pytest.param(w, name, method, expected[w][i], marks=marks, id=f"{name}-{w}-{method}")


@pytest.mark.parametrize(("who_", "name", "method", "expected"), list(_cases()))
def test_permission(who_, name, method, expected):
    if not ANSWERS:
        pytest.fail("ANSWERS is empty: run this module whole (test_00_collect_answers fills it first).")
    assert ANSWERS[(who_, name, method)] == expected, f"{method} {name} as {who_}"


# People who may see the object but not act, each posting a body that passes validation.
REFUSED_WITH_VALID_BODY = [
    ("operator", "page", "deployments:cancel", DEP, {"cancel-reason": "The operator wants to stop early."}),
    ("operator", "api", "deployments_api:deployment-cancel", DEP, {"reason": "The operator wants to stop early."}),
    ("operator", "api", "deployments_api:deployment-operator-assign", DEP, {"operator": "operator"}),
    ("authorising_officer", "api", "deployments_api:deployment-operator-assign", DEP, {"operator": "operator"}),
    ("operator", "api", "deployments_api:deployment-operator-unassign", DEP, {"operator": "operator"}),
    ("authorising_officer", "api", "deployments_api:deployment-operator-unassign", DEP, {"operator": "operator"}),
    ("operator", "api", "deployments_api:deployment-review", DEP, {"what_happened": "Nothing."}),
    ("intelligence_officer", "api", "watchlists_api:version-destroy", VERSION, {"reason": "Not mine to destroy."}),
    ("reviewer", "api", "watchlists_api:version-destroy", VERSION, {"reason": "Not mine to destroy."}),
    ("intelligence_officer", "api", "watchlists_api:entry-review", ENTRY, {"decision": "approve"}),
    ("authorising_officer", "api", "watchlists_api:entry-review", ENTRY, {"decision": "approve"}),
    ("authorising_officer", "api", "watchlists_api:watchlist-reviewer-assign", WL, {"reviewer": "reviewer"}),
    ("reviewer", "api", "watchlists_api:watchlist-reviewer-assign", WL, {"reviewer": "reviewer"}),
    ("authorising_officer", "api", "watchlists_api:watchlist-reviewer-unassign", WL, {"reviewer": "reviewer"}),
    ("reviewer", "api", "watchlists_api:watchlist-reviewer-unassign", WL, {"reviewer": "reviewer"}),
    ("operator", "api", "watchlists_api:watchlist-list", NONE,
     {"operation_name": "Operation Elsewhere", "objective": "Not an operator's job",
      "intelligence_case_ref": "CASE/2026/99"}),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("who_", "kind", "name", "kwargs", "body"), REFUSED_WITH_VALID_BODY,
                         ids=[f"{c[2]}-{c[0]}" for c in REFUSED_WITH_VALID_BODY])
def test_a_valid_body_is_still_refused(who, objects, who_, kind, name, kwargs, body):
    client = Client(raise_request_exception=False)
    client.force_login(who[who_])
    url = reverse(name, kwargs=kwargs(objects))
    if kind == "api":
        response = client.post(url, body, content_type="application/json", **HEADERS)
    else:
        response = client.post(url, body, **HEADERS)
    assert classify(response) in ("forbidden", "hidden"), (response.status_code, response.content[:300])


@pytest.mark.django_db
def test_legal_holds_page_lists_only_holds_a_person_may_see(who, objects):
    """The holds page answers every intelligence officer (they may place holds), so what it lists is the check:
    a hold on this team's alert is shown to its officer and the DPO, never to another team's officer."""
    from datetime import timedelta

    from lfr_governance import clock
    from lfr_governance.retention.holds import legal_hold_place

    legal_hold_place(actor=who["intelligence_officer"], alert=objects.alert, reason="Evidence for a prosecution",
                     owner=who["intelligence_officer"], review_date=(clock.now() + timedelta(days=30)).date())
    marker = f"LFR-{objects.deployment.pk:05d}"
    seen = {}
    for w in ("intelligence_officer", "dpo", "other_team"):
        client = Client()
        client.force_login(who[w])
        response = client.get(reverse("retention:holds"))
        assert response.status_code == 200, w
        seen[w] = marker in response.content.decode()
    assert seen == {"intelligence_officer": True, "dpo": True, "other_team": False}
