from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.contact import Contact, contact_parse
from core.forms import SafeForm

from .roles import Role, role_choices, role_get


class RoleField(forms.ChoiceField):
    def __init__(self, **kwargs) -> None:
        super().__init__(label=_("Role"), choices=role_choices, widget=forms.RadioSelect, **kwargs)

    def clean(self, value) -> Role:  # type: ignore[override]
        key = super().clean(value)
        role = role_get(key)
        if role is None:  # unreachable after the choice check; keeps the type honest
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return role


class InviteForm(SafeForm):
    contact = forms.CharField(
        label=_("Mobile number or e-mail"),
        max_length=254,
        help_text=_("It becomes their login."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "email"}),
    )
    role = RoleField()

    def clean_contact(self) -> Contact:
        value = self.cleaned_data["contact"].strip()
        contact = contact_parse(value)
        if contact is None:
            if "@" in value:
                raise ValidationError(_("Enter a valid e-mail address."), code="email")
            raise ValidationError(
                _("Enter a valid e-mail address or an 11-digit mainland mobile number."),
                code="mobile",
            )
        return contact


class RoleForm(SafeForm):
    role = RoleField()
