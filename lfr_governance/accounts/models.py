from django.conf import settings
from django.db import models

from .choices import Rank


class Team(models.Model):
    """An owning unit (e.g. a borough intelligence unit); watchlists and deployments belong to one."""

    name = models.CharField(max_length=120, unique=True)
    description = models.CharField(max_length=500, blank=True)
    # Members are also in this group, so object permissions granted to a team follow its membership.
    group = models.OneToOneField("auth.Group", on_delete=models.PROTECT, related_name="team")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Profile(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="profile")
    rank = models.CharField(max_length=40, choices=Rank.choices, default=Rank.CONSTABLE)
    collar_number = models.CharField(
        "warrant or collar number", max_length=20, blank=True, help_text="As shown on the officer's warrant card."
    )
    team = models.ForeignKey(Team, on_delete=models.PROTECT, null=True, blank=True, related_name="members")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["collar_number"], condition=~models.Q(collar_number=""), name="profile_collar_number_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_rank_display()} {self.user.get_full_name() or self.user.username}"
