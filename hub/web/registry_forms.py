"""The registrar's forms (Flask-WTF: a CSRF token in each, checked on every POST; SEC-18)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional


def kind_choices() -> list[tuple[str, str]]:
    """Document types in the reader's language."""
    return [
        ("incoming", str(_l("Incoming"))),
        ("outgoing", str(_l("Outgoing"))),
        ("decision", str(_l("Decision"))),
        ("minutes", str(_l("Minutes"))),
        ("agenda", str(_l("Agenda"))),
        ("notice", str(_l("Notice"))),
        ("memo", str(_l("Memo"))),
    ]


def secrecy_choices() -> list[tuple[str, str]]:
    """Secrecy levels in the reader's language."""
    return [
        ("public", str(_l("Public"))),
        ("partial", str(_l("Partly secret (masked copy)"))),
        ("secret", str(_l("Covered by secrecy"))),
    ]


class CaseForm(FlaskForm):  # type: ignore[misc]
    """A new case; its number is the next in the board's series."""

    board = StringField(_l("Board (e.g. KS)"), validators=[DataRequired(), Length(max=6)])
    title = StringField(_l("Case title"), validators=[DataRequired(), Length(max=500)])
    opened_on = DateField(_l("Opened on"), validators=[DataRequired()])


class DocumentForm(FlaskForm):  # type: ignore[misc]
    """A document in a case, with its file."""

    kind = SelectField(_l("Type"), validators=[DataRequired()])
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=500)])
    document_date = DateField(_l("Document date"), validators=[DataRequired()])
    counterpart = StringField(_l("Sender or recipient"), validators=[Optional(), Length(max=300)])
    secrecy = SelectField(_l("Secrecy"), validators=[DataRequired()])
    osl_paragraph = StringField(_l("OSL paragraph (e.g. 26 kap. 1 §)"), validators=[Optional(), Length(max=100)])
    personal_data = BooleanField(_l("Holds personal data (the file is not published)"))
    retention_years = IntegerField(
        _l("Weed after years (empty: keep)"), validators=[Optional(), NumberRange(min=1, max=100)]
    )
    file = FileField(_l("File (PDF, Word, OpenDocument or text)"))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.kind.choices = kind_choices()
        self.secrecy.choices = secrecy_choices()


class RequestHandlingForm(FlaskForm):  # type: ignore[misc]
    """One step in handling a request."""

    status = SelectField(_l("Decision"), validators=[DataRequired()])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.status.choices = [
            ("handling", str(_l("Being handled"))),
            ("granted", str(_l("Granted: sent out"))),
            ("partly", str(_l("Partly granted (masked)"))),
            ("refused", str(_l("Refused (with appeal notice)"))),
        ]


class NoticeForm(FlaskForm):  # type: ignore[misc]
    """A notice for the notice board."""

    title = StringField(_l("Heading"), validators=[DataRequired(), Length(max=300)])
    body = TextAreaField(_l("Text"), validators=[DataRequired(), Length(max=5000)])
    board = StringField(_l("Board (optional)"), validators=[Optional(), Length(max=6)])
    document_id = IntegerField(_l("Document id (optional)"), validators=[Optional()])
    posted_on = DateField(_l("Posted on"), validators=[DataRequired()])
    takedown_on = DateField(_l("Taken down on"), validators=[DataRequired()])


class WeedForm(FlaskForm):  # type: ignore[misc]
    """Confirm the weeding of the checked documents."""

    reason = StringField(_l("Why (rule or decision)"), validators=[DataRequired(), Length(min=5, max=500)])


class PublicRequestForm(FlaskForm):  # type: ignore[misc]
    """A resident's request for a document, from the public web."""

    description = TextAreaField(_l("Which document would you like to see?"), validators=[Length(max=2000)])
    contact = StringField(_l("Contact for the answer (optional)"), validators=[Optional(), Length(max=300)])
