"""The hub's forms. Flask-WTF puts a CSRF token in each and checks it on every POST (SEC-18)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectMultipleField, StringField, widgets
from wtforms.validators import DataRequired, EqualTo, Length

from hub.staff.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from hub.staff.roles import Role


class SigninForm(FlaskForm):  # type: ignore[misc]
    """Step one: username and password."""

    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)])


class CodeForm(FlaskForm):  # type: ignore[misc]
    """Step two: the one-time code from the authenticator app."""

    code = StringField(_l("One-time code"), validators=[DataRequired(), Length(min=6, max=8)])


class ConfirmForm(FlaskForm):  # type: ignore[misc]
    """A button that does one thing (sign out, verify the chain): the form exists for its CSRF token."""


def role_labels() -> list[tuple[str, str]]:
    """Roles with their names in the reader's language."""
    labels = {
        Role.ADMIN: _l("Administrator"),
        Role.ELECTION_OFFICER: _l("Election officer"),
        Role.REGISTRAR: _l("Registrar"),
        Role.IT: _l("IT"),
        Role.STAFF: _l("Staff"),
    }
    return [(role.value, str(labels[role])) for role in Role]


class StaffForm(FlaskForm):  # type: ignore[misc]
    """A new staff account."""

    username = StringField(_l("Username"), validators=[DataRequired(), Length(min=2, max=64)])
    display_name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    password = PasswordField(
        _l("Initial password"),
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH)],
    )
    password_again = PasswordField(
        _l("Initial password again"),
        validators=[DataRequired(), EqualTo("password", _l("The passwords differ."))],
    )
    roles = SelectMultipleField(
        _l("Roles"),
        validators=[DataRequired(_l("Choose at least one role."))],
        option_widget=widgets.CheckboxInput(),
        widget=widgets.ListWidget(prefix_label=False),
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.roles.choices = role_labels()
