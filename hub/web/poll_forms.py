"""The election officer's and the trustees' forms (Flask-WTF: a CSRF token in each, checked on every POST; SEC-18).

Times are entered as Swedish local time (Europe/Stockholm) and stored as aware datetimes; options are one per
line, ``name | Swedish label | English label``, so a draft is one form and one POST.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from hub.polls.drafts import PollOption, PollSpec
from hub.web.forms import role_labels

LOCAL = ZoneInfo("Europe/Stockholm")  # what an officer in Krokom means by "08:00"
TIME_FORMAT = "%Y-%m-%dT%H:%M"
MAX_OPTIONS = 20  # a consultation with more choices than this is not readable on a kiosk screen


def method_choices() -> list[tuple[str, str]]:
    """Ballot methods in the reader's language."""
    return [
        ("single", str(_l("One option (single choice)"))),
        ("yes-no-abstain", str(_l("Yes, no or abstain"))),
        ("approval", str(_l("Several options (approval), between a minimum and a maximum"))),
    ]


def kind_choices() -> list[tuple[str, str]]:
    """Secret or named, in the reader's language (chosen when the poll is created; it never changes)."""
    return [
        ("secret", str(_l("Secret poll (residents, encrypted, trustees count)"))),
        ("named", str(_l("Named poll (staff vote, public by name)"))),
    ]


def revote_choices() -> list[tuple[str, str]]:
    """Re-vote rules in the reader's language."""
    return [
        ("latest", str(_l("The latest ballot counts (a voter may change their mind)"))),
        ("first", str(_l("The first ballot counts"))),
    ]


def parse_options(text: str) -> tuple[PollOption, ...]:
    """Options from the text area; `ValueError` with a message for the officer naming the line."""
    options = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [part.strip() for part in line.split("|")]
        if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
            raise ValueError(str(_l("Line %(line)d: write name | Swedish label | English label.", line=number)))
        options.append(PollOption(parts[0], parts[1], parts[2] if len(parts) == 3 else ""))
    if len(options) > MAX_OPTIONS:
        raise ValueError(str(_l("A poll has at most %(num)d options.", num=MAX_OPTIONS)))
    return tuple(options)


def options_text(options: tuple[PollOption, ...]) -> str:
    """The text area's content for existing options."""
    return "\n".join(f"{o.name} | {o.sv} | {o.en}".rstrip(" |") for o in options)


def local(at: dt.datetime) -> dt.datetime:
    """An aware datetime in Swedish local time (for showing and for the form)."""
    return at.astimezone(LOCAL)


class PollForm(FlaskForm):  # type: ignore[misc]
    """A draft poll: texts, options, rules and schedule."""

    kind = RadioField(_l("Kind of poll"), default="secret", validators=[DataRequired()])
    roles = SelectMultipleField(
        _l("Named poll: the roles that vote (none: every member on the staff list)"),
        option_widget=widgets.CheckboxInput(),
        widget=widgets.ListWidget(prefix_label=False),
        validators=[Optional()],
    )
    poll_id = StringField(
        _l("Poll id (in addresses: lower-case letters, digits and hyphens)"),
        validators=[DataRequired(), Length(min=2, max=63)],
    )
    title_sv = StringField(_l("Title in Swedish"), validators=[DataRequired(), Length(max=300)])
    title_en = StringField(_l("Title in English"), validators=[Optional(), Length(max=300)])
    description_sv = TextAreaField(_l("Description in Swedish (Markdown)"), validators=[Length(max=20000)])
    description_en = TextAreaField(_l("Description in English (Markdown)"), validators=[Length(max=20000)])
    options = TextAreaField(
        _l("Options, one per line: name | Swedish label | English label (none for yes, no or abstain)"),
        validators=[Length(max=10000)],
    )
    method = SelectField(_l("Method"), validators=[DataRequired()])
    min_selections = IntegerField(_l("Approval: fewest options"), default=1, validators=[Optional()])
    max_selections = IntegerField(_l("Approval: most options"), default=1, validators=[Optional()])
    opens_at = DateTimeLocalField(
        _l("Opens (Swedish time)"), format=TIME_FORMAT, validators=[DataRequired(_l("Give a date and time."))]
    )
    closes_at = DateTimeLocalField(
        _l("Closes (Swedish time)"), format=TIME_FORMAT, validators=[DataRequired(_l("Give a date and time."))]
    )
    revote = SelectField(_l("If a resident votes again"), validators=[DataRequired()])
    min_age = IntegerField(_l("Age limit in years (empty: none)"), validators=[Optional(), NumberRange(0, 130)])

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.method.choices = method_choices()
        self.revote.choices = revote_choices()
        self.kind.choices = kind_choices()
        self.roles.choices = role_labels()

    def validate_options(self, field: TextAreaField) -> None:
        """The options must parse (the service checks the rest)."""
        try:
            parse_options(field.data or "")
        except ValueError as exc:
            raise ValidationError(str(exc)) from None

    def spec(self) -> PollSpec:
        """What the officer decided, for `hub.polls.drafts`."""
        return PollSpec(
            title_sv=self.title_sv.data or "",
            title_en=self.title_en.data or "",
            description_sv=self.description_sv.data or "",
            description_en=self.description_en.data or "",
            options=parse_options(self.options.data or ""),
            method=self.method.data,
            min_selections=self.min_selections.data or 1,
            max_selections=self.max_selections.data or 1,
            opens_at=self.opens_at.data.replace(tzinfo=LOCAL),
            closes_at=self.closes_at.data.replace(tzinfo=LOCAL),
            revote=self.revote.data,
            min_age=self.min_age.data if self.kind.data != "named" else None,  # staff: no age limit (D77)
            secret=self.kind.data != "named",
            roles=tuple(self.roles.data or ()) if self.kind.data == "named" else (),
        )


class RollForm(FlaskForm):  # type: ignore[misc]
    """The voter roll: a CSV with one personnummer per line."""

    file = FileField(_l("Voter roll (CSV, one personnummer per line)"))
    replace = BooleanField(_l("Replace the roll (empty it first)"))


class TrusteesForm(FlaskForm):  # type: ignore[misc]
    """The key holders: k of n staff members, in order."""

    threshold = IntegerField(
        _l("How many must take part in counting (k)"), validators=[DataRequired(), NumberRange(1, 20)]
    )
    usernames = StringField(
        _l("Trustees' usernames in order, separated by commas (trustee 1 first)"),
        validators=[DataRequired(), Length(max=1000)],
    )

    def names(self) -> list[str]:
        """The usernames, in order."""
        return [name.strip() for name in (self.usernames.data or "").split(",") if name.strip()]


class FileForm(FlaskForm):  # type: ignore[misc]
    """One file from a trustee's machine (a round file or a partial decryption)."""

    file = FileField(_l("File"))
