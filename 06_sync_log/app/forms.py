from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField
from wtforms.validators import Length


# FlaskForm adds a hidden CSRF token field and checks it too.
class MessageForm(FlaskForm):
    # No DataRequired any more: an empty box is how you ask for the latest messages.
    text = StringField("Message", validators=[Length(max=500)])
    submit = SubmitField("Send/Refresh")
