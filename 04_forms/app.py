import secrets
from datetime import datetime
from pathlib import Path

from dotenv import load_dotenv
from flask import Flask, flash, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect

from forms import LoginForm

# Settings come from the environment, or from the .env file next to this one (see .env.example);
# the path is given, so a .env in some parent folder is never read.
load_dotenv(Path(__file__).with_name(".env"))

# __name__ tells Flask where this app's files live (templates and static files, from stage 2 on).
app = Flask(__name__)
# Lax: the browser sends the session cookie with no other site's form post, only with links to here.
app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
# Every FLASK_* variable becomes a setting: FLASK_SECRET_KEY -> app.config["SECRET_KEY"].
# loads=str keeps each one the text it is: without it, FLASK_SECRET_KEY=123456 would become a number.
app.config.from_prefixed_env(loads=str)
# A request body (a form, an upload) over this many bytes gets 413 before the app reads it.
max_bytes = app.config["MAX_CONTENT_LENGTH"] or "1000000"
if not (max_bytes.isascii() and max_bytes.isdigit()):
    raise SystemExit(f"FLASK_MAX_CONTENT_LENGTH should be a number of bytes, not {max_bytes!r}")
app.config["MAX_CONTENT_LENGTH"] = int(max_bytes)
if not app.config.get("SECRET_KEY"):
    # The key signs the session cookie (flashed messages live there) and the CSRF tokens.
    # A random one is fine on your own machine, but it changes at every start.
    app.config["SECRET_KEY"] = secrets.token_urlsafe()
    app.logger.warning(
        "FLASK_SECRET_KEY is not set, so a random key is used: copy .env.example to .env and set one."
    )
# Every POST must carry the token from the page it was sent from, or it gets 400 Bad Request.
CSRFProtect(app)


@app.after_request
def secure_headers(response):
    # nosniff: the browser takes each answer as the Content-Type says, never guesses it is a script.
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    # DENY: no other site may show these pages in a frame and trick a visitor into clicking in them.
    response.headers.setdefault("X-Frame-Options", "DENY")
    return response

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


# A POST without a valid CSRF token (a form left open while the secret key changed, say).
@app.errorhandler(CSRFError)
def form_not_sent(error):
    return render_template("400.html", reason=error.description), 400


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
        # A real app would look the user up, check the password, and log them in, for
        # longer if form.remember_me.data is True (see README.md). Here any valid form will do.
        flash(f"Welcome, {form.username.data}! You are logged in.")
        # Redirect after a successful POST, so reloading the next page does not send the form again.
        return redirect(url_for("index"))
    # A GET, or a POST with errors: show the form (with the errors and what was typed).
    return render_template("login.html", form=form)
