from datetime import datetime

from flask import Flask, render_template, request

# __name__ tells Flask where this app's files live (templates and static files, from stage 2 on).
app = Flask(__name__)

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
