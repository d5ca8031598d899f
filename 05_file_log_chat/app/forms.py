from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Length


# FlaskForm adds a hidden CSRF token field and checks it too.
class MessageForm(FlaskForm):
    # DataRequired also refuses a box with only spaces in it; Length's error names the limit.
    text = StringField("Message", validators=[DataRequired("Type a message first."), Length(max=500)])
    submit = SubmitField("Send")
