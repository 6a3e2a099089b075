"""Who sees a watchlist: its owning team, its assigned reviewers; nobody else, administrators included."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404

from watchlists import selectors

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "who, sees, sees_images",
    [
        ("owner", True, True),
        ("colleague", True, True),  # same team
        ("reviewer", True, True),  # assigned
        ("outsider", False, False),  # another team
        ("outside_reviewer", False, False),  # a reviewer not assigned
        ("admin", False, False),
        ("ao", True, True),  # a member of the owning team (others only once a deployment names them)
        ("operator", False, False),
    ],
)
def test_visibility(frozen, watchlist, people, who, sees, sees_images):
    user = people[who]
    assert (watchlist in selectors.watchlists_visible(user)) is sees
    image = frozen.entries.first().images.first()
    if sees_images:
        assert selectors.image_get(user, image.pk) == image
    else:
        with pytest.raises(Http404):
            selectors.image_get(user, image.pk)
        with pytest.raises(Http404):
            selectors.watchlist_get(user, watchlist.pk)


def test_anonymous_sees_nothing(frozen, watchlist):
    assert not selectors.watchlists_visible(AnonymousUser()).exists()
    with pytest.raises(Http404):
        selectors.watchlist_get(AnonymousUser(), watchlist.pk)


def test_missing_and_forbidden_answer_alike(watchlist, people):
    with pytest.raises(Http404) as missing:
        selectors.watchlist_get(people["outsider"], 999999)
    with pytest.raises(Http404) as forbidden:
        selectors.watchlist_get(people["outsider"], watchlist.pk)
    assert str(missing.value) == str(forbidden.value)


def test_superuser_flag_opens_nothing(frozen, watchlist, people):
    admin = people["admin"]
    admin.is_superuser = True
    admin.save()
    assert watchlist not in selectors.watchlists_visible(admin)
    with pytest.raises(Http404):
        selectors.image_get(admin, frozen.entries.first().images.first().pk)
