"""The admin site for people and teams: thin forms over the accounts services.

Nothing here edits a group, a permission, superuser or staff status directly. Roles, rank and team are form
fields whose save calls the services (one audited transaction each, four-eyes: never one's own); the Group
admin is not registered, so role groups and their permissions change only through roles.py (`roles_sync`).
"""

from contextvars import ContextVar

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm, UserCreationForm
from django.contrib.auth.models import Group, User
from django.urls import reverse
from django.utils.html import format_html
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from .choices import Rank, Role
from .models import Profile, Team
from .roles import user_roles
from .selectors import person_access_refusal, person_profile
from .services import (
    person_details_set,
    person_password_set,
    person_roles_set,
    person_team_set,
    team_get_or_create,
    team_update,
    user_create,
)

# Fields that are a person's access: only another administrator changes them.
ACCESS_FIELDS = ("roles", "team", "rank")
COLLAR_TAKEN = "Another person already has this warrant or collar number: check it, or leave it blank."

# Who is setting a password in this request: Django's password view builds its form without the request.
_password_actor: ContextVar = ContextVar("password_actor", default=None)


class _PersonFields(forms.Form):
    """The profile and access fields, which are not User fields: saved by the services, never by the form."""

    rank = forms.ChoiceField(choices=Rank.choices, initial=Rank.CONSTABLE)
    collar_number = forms.CharField(label="Warrant or collar number", max_length=20, required=False,
                                    help_text="As shown on the officer's warrant card.")
    team = forms.ModelChoiceField(queryset=Team.objects.all(), required=False,
                                  help_text="Members see their team's watchlists and deployments.")
    roles = forms.MultipleChoiceField(choices=Role.choices, required=False, widget=forms.CheckboxSelectMultiple)

    actor = None  # set per request on the class get_form builds

    def _person_pk(self):
        return None

    def clean_collar_number(self):
        collar = self.cleaned_data["collar_number"].strip()
        if collar and Profile.objects.filter(collar_number=collar).exclude(user_id=self._person_pk()).exists():
            raise forms.ValidationError(COLLAR_TAKEN)
        return collar


class PersonCreationForm(_PersonFields, UserCreationForm):
    class Meta(UserCreationForm.Meta):
        fields = ("username", "first_name", "last_name", "email")


class PersonChangeForm(_PersonFields, forms.ModelForm):
    class Meta:
        model = User
        fields = ("first_name", "last_name", "email", "is_active")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        person = self.instance
        profile = person_profile(person)
        self.initial.setdefault("roles", sorted(user_roles(person)))
        self.initial.setdefault("team", profile.team_id if profile else None)
        self.initial.setdefault("rank", profile.rank if profile else Rank.CONSTABLE)
        self.initial.setdefault("collar_number", profile.collar_number if profile else "")
        refusal = person_access_refusal(self.actor, person)
        if refusal:
            # Disabled fields ignore what is posted; the services refuse the change as well.
            for name in ACCESS_FIELDS:
                if name in self.fields:
                    self.fields[name].disabled = True
                    self.fields[name].help_text = refusal

    def _person_pk(self):
        return self.instance.pk


class AuditedPasswordChangeForm(AdminPasswordChangeForm):
    def save(self, commit=True):
        password = self.cleaned_data["password1"] if self.cleaned_data.get("set_usable_password", True) else None
        person_password_set(actor=_password_actor.get(), person=self.user, password=password)
        return self.user


class UserAdmin(BaseUserAdmin):
    form = PersonChangeForm
    add_form = PersonCreationForm
    add_form_template = None
    change_password_form = AuditedPasswordChangeForm
    inlines = []
    filter_horizontal = ()
    fieldsets = (
        (None, {"fields": ("username", "password_link")}),
        ("Personal info", {"fields": ("first_name", "last_name", "email")}),
        ("Police details", {"fields": ("rank", "collar_number")}),
        ("Access", {"fields": ("is_active", "roles", "team", "is_staff", "is_superuser")}),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "password1", "password2")}),
        ("Personal info", {"fields": ("first_name", "last_name", "email")}),
        ("Police details", {"fields": ("rank", "collar_number")}),
        ("Access", {"fields": ("roles", "team")}),
    )
    readonly_fields = ("username", "password_link", "is_staff", "is_superuser", "last_login", "date_joined")
    list_display = ("username", "first_name", "last_name", "email", "is_active", "roles_list")
    list_filter = ("is_active", "groups")

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else ()

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.actor = request.user  # a new class per call (modelform_factory), so no request sees another's
        return form

    @admin.display(description="Password")
    def password_link(self, obj):
        url = reverse("admin:auth_user_password_change", args=[obj.pk])
        return format_html('<a href="{}">Set a new password</a> (each reset is recorded in the audit log)', url)

    @admin.display(description="Roles")
    def roles_list(self, obj):
        return ", ".join(Role(r).label for r in sorted(user_roles(obj))) or "-"

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if not change:
            created = user_create(
                actor=request.user, username=data["username"], password=data["password1"],
                first_name=data["first_name"], last_name=data["last_name"], email=data["email"],
                roles=data["roles"], rank=data["rank"], collar_number=data["collar_number"], team=data["team"],
            )
            # The admin logs and redirects with `obj`: make it the person the service created.
            obj.pk, obj._state.adding, obj._state.db = created.pk, False, created._state.db
            return
        person_details_set(actor=request.user, person=obj, first_name=data["first_name"],
                           last_name=data["last_name"], email=data["email"], is_active=data["is_active"],
                           rank=data["rank"], collar_number=data["collar_number"])
        if "roles" in form.changed_data:
            person_roles_set(actor=request.user, person=obj, roles=data["roles"])
        if "team" in form.changed_data:
            person_team_set(actor=request.user, person=obj, team=data["team"])

    def save_related(self, request, form, formsets, change):
        """Nothing more to save: the forms hold no groups or permissions, and the services saved the rest."""

    def user_change_password(self, request, id, form_url=""):
        token = _password_actor.set(request.user)
        try:
            return super().user_change_password(request, id, form_url)
        finally:
            _password_actor.reset(token)

    # People are deactivated, never deleted: audit rows point at them.
    def has_delete_permission(self, request, obj=None):
        return False


class TeamAdmin(admin.ModelAdmin):
    # Not the team's group: membership of it is what carries a team's object permissions.
    fields = ("name", "description")
    list_display = ("name", "description")
    search_fields = ("name",)

    def save_model(self, request, obj, form, change):
        if change:
            team_update(actor=request.user, team=obj, name=obj.name, description=obj.description)
            return
        created = team_get_or_create(actor=request.user, name=obj.name, description=obj.description)
        obj.pk, obj.group_id, obj._state.adding, obj._state.db = created.pk, created.group_id, False, created._state.db

    def has_delete_permission(self, request, obj=None):
        return False


admin.site.unregister(User)
admin.site.unregister(Group)
admin.site.register(User, UserAdmin)
admin.site.register(Team, TeamAdmin)
admin.site.site_header = "LFR governance administration"


# An officer's authenticator secret is theirs alone: django-otp's device admin would show an administrator the
# secret (and its QR code) of anyone's second factor, enough to sign in as them with their password.
for _device in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_device):
        admin.site.unregister(_device)
