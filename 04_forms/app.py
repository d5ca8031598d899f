import secrets
from datetime import datetime
from pathlib import Path

from dotenv import load_dotenv
from flask import Flask, flash, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFProtect

import hardening
from forms import LoginForm

# __name__ tells Flask where this app's files live (templates and static files, from stage 2 on).
app = Flask(__name__)
# The secret key signs the session cookie (flashed messages wait there) and the CSRF tokens, so it
# never goes in the code: FLASK_SECRET_KEY, from the environment or the .env next to this file.
load_dotenv(Path(__file__).with_name(".env"))
app.config.from_prefixed_env(loads=str)  # every FLASK_* variable, as text: FLASK_SECRET_KEY -> SECRET_KEY
if not app.config.get("SECRET_KEY"):
    app.config["SECRET_KEY"] = secrets.token_urlsafe()  # fine on your machine, but new at every start
    app.logger.warning("FLASK_SECRET_KEY is not set, so a random key is used: set one in .env (see README.md).")
# Every POST must carry the token of the page it was sent from, or it gets 400 Bad Request.
CSRFProtect(app)
hardening.init_app(app)  # for a real deployment: see hardening.py

LESSONS = [
    "Hello: the application object and one route",
    "Templates: pages built from a shared layout",
    "Parameters: what a URL can tell the app",
    "Forms: reading and checking what a visitor sends",
    "A chat in log files: an application factory and a Blueprint",
    "One shared log: both sides of the chat see the conversation",
    "A realtime chat with Flask-SocketIO",
]


@app.route("/")
def index():
    # Each keyword argument becomes a variable the template can use.
    return render_template("index.html", lessons=LESSONS)


@app.route("/about")
def about():
    return render_template("about.html", now=datetime.now())


# Any URL no route matches: a page in the site's own layout, still with the status 404.
@app.errorhandler(404)
def page_not_found(error):
    return render_template("404.html"), 404


# Query string: /hello?name=Ana&times=3. Both are optional, so each gets a default.
@app.route("/hello")
def hello():
    name = request.args.get("name", "stranger")
    # type=int converts the text; when it is missing or not a number, the default is used.
    times = request.args.get("times", 1, type=int)
    # The visitor chooses this number: keep it in a sensible range.
    times = max(1, min(times, 10))
    return render_template("hello.html", name=name, times=times)


# URL converters: part of the path becomes an argument of the view, already converted.
# A URL whose part does not fit the converter matches no route: 404 Not Found.
def show_converted(converter, value, result):
    return render_template(
        "converted.html", converter=converter, value=value, kind=type(value).__name__, result=result
    )


@app.route("/user/<username>")  # string is the default converter: any text without a slash
def user(username):
    return show_converted("string", username, f"This would be the profile page of {username}.")


# /square/7, not /square/seven or /square/-7; max: the square of a huge number would be a huge page
@app.route("/square/<int(max=999999999):number>")
def square(number):
    return show_converted("int", number, f"{number} squared is {number * number}.")


@app.route("/half/<float:number>")  # needs a decimal point: /half/5.0, not /half/5
def half(number):
    return show_converted("float", number, f"Half of {number} is {number / 2}.")


@app.route("/files/<path:subpath>")  # like string, but slashes are allowed
def files(subpath):
    parts = subpath.split("/")
    return show_converted("path", subpath, f"This path has {len(parts)} parts: {', '.join(parts)}.")


@app.route("/login", methods=["GET", "POST"])
def login():
    # formdata=request.form: only the text fields are read, so a file sent as one counts as missing.
    form = LoginForm(formdata=request.form)
    # True only for a POST whose fields all pass their validators.
    if form.validate_on_submit():
        # A real app would check the password here (see README.md); any valid form will do.
        flash(f"Welcome, {form.username.data}! You are logged in.")
        # Redirect after a successful POST, so reloading the next page does not send the form again.
        return redirect(url_for("index"))
    # A GET, or a POST with errors: show the form (with the errors and what was typed).
    return render_template("login.html", form=form)
