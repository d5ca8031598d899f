from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Length


# FlaskForm adds a hidden CSRF token field and checks it too.
class MessageForm(FlaskForm):
    # Only drawn now: chat.js sends the text over the socket, and events.py checks it.
    text = StringField("Message", validators=[Length(max=500)])
    submit = SubmitField("Send")


# The attendant's sign-in, made like stage 4's login form.
class SignInForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=100)], render_kw={"autocomplete": "username"})
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)],
                             render_kw={"autocomplete": "current-password"})
    submit = SubmitField("Sign in")
