"""The message form. Flask-WTF adds a hidden CSRF token to it and checks it."""
from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField
from wtforms.validators import Length

MAX_LENGTH = 500


class MessageForm(FlaskForm):
    # No DataRequired any more: an empty box is how you ask for the latest messages.
    text = StringField(
        "Message",
        validators=[
            Length(max=MAX_LENGTH, message=f"A message can be at most {MAX_LENGTH} characters long."),
        ],
    )
    submit = SubmitField("Send/Refresh")
