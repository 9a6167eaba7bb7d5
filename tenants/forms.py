from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.contact import Contact, contact_parse
from core.forms import SafeFormMixin

from .provisioning import SUBDOMAIN_MAX, subdomain_check, subdomain_taken
from .shop_site import shop_site


class SignupForm(SafeFormMixin, forms.Form):
    """A creator opens her shop. The shop name goes into page titles and mail subjects: the
    mixin refuses line breaks, control characters and bidi overrides in it."""

    shop_name = forms.CharField(label=_("Shop name"), max_length=100)
    subdomain = forms.CharField(
        label=_("Shop address"),
        max_length=SUBDOMAIN_MAX,
        help_text=_("Lower-case letters, digits and hyphens: this becomes NAME.vstore."),
        widget=forms.TextInput(attrs={"autocapitalize": "none", "autocomplete": "off"}),
    )
    contact = forms.CharField(
        label=_("E-mail or mobile number"),
        max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "username", "inputmode": "email"}),
    )
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    theme = forms.ChoiceField(
        label=_("Theme"),
        # The content site (cms, a layer above) owns the themes: asked through tenants.shop_site.
        choices=lambda: shop_site().theme_choices(),
        initial=lambda: shop_site().DEFAULT_THEME,
        widget=forms.RadioSelect,
    )

    def clean_shop_name(self) -> str:
        name = self.cleaned_data["shop_name"].strip()
        if not name:
            raise ValidationError(_("Give your shop a name."), code="required")
        return name

    def clean_subdomain(self) -> str:
        value = subdomain_check(self.cleaned_data["subdomain"])
        if subdomain_taken(value):
            raise ValidationError(_("This subdomain is taken."), code="subdomain_taken")
        return value

    def clean_contact(self) -> Contact:
        value = self.cleaned_data["contact"].strip()
        parsed = contact_parse(value)
        if parsed is None:
            if "@" in value:
                raise ValidationError(_("Enter a valid e-mail address."), code="email")
            raise ValidationError(
                _("Enter a valid e-mail address or an 11-digit mainland mobile number."),
                code="mobile",
            )
        contact = parsed
        if get_user_model().objects.filter(username=contact.login).exists():
            raise ValidationError(
                _("An account with this e-mail or mobile number exists already."),
                code="contact_taken",
            )
        return contact

    def clean(self) -> dict:
        data = super().clean() or {}
        p1, p2 = data.get("password1"), data.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error(
                "password2", ValidationError(_("The passwords differ."), code="mismatch")
            )
        elif p1:
            contact = data.get("contact")
            probe = get_user_model()(
                username=contact.login if contact else "", email=contact.email if contact else ""
            )
            try:
                password_validation.validate_password(p1, probe)
            except ValidationError as error:
                self.add_error("password1", error)
        return data


class DomainForm(SafeFormMixin, forms.Form):
    """A custom domain the creator adds to her shop (checked again by domain_claim_add)."""

    domain = forms.CharField(label=_("Your domain"), max_length=253)
