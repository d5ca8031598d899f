"""The message form. Flask-WTF adds a hidden CSRF token to it and checks it."""
from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Length

MAX_LENGTH = 500


class MessageForm(FlaskForm):
    text = StringField(
        "Message",
        validators=[
            DataRequired("Type a message first."),  # also refuses a box of only spaces
            Length(max=MAX_LENGTH, message=f"A message can be at most {MAX_LENGTH} characters long."),
        ],
    )
    submit = SubmitField("Send")
