from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField
from wtforms.validators import Length

MAX_LENGTH = 500


# FlaskForm adds a hidden CSRF token field and checks it too.
class MessageForm(FlaskForm):
    text = StringField(
        "Message",
        validators=[
            # No DataRequired any more: an empty box is how you ask for the latest messages.
            Length(max=MAX_LENGTH, message=f"A message can be at most {MAX_LENGTH} characters long."),
        ],
    )
    submit = SubmitField("Send/Refresh")
