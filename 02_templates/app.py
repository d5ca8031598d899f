from datetime import datetime

from flask import Flask, render_template

app = Flask(__name__)

LESSONS = [
    "Hello: the application object and one route",
    "Templates: pages built from a shared layout",
    "Parameters: what a URL can tell the app",
    "Forms: reading and checking what a visitor sends",
    "A chat kept in a log file",
    "Several visitors writing to one log safely",
    "A realtime chat with WebSockets",
]


@app.route("/")
def index():
    # Each keyword argument becomes a variable the template can use.
    return render_template("index.html", lessons=LESSONS)


@app.route("/about")
def about():
    return render_template("about.html", now=datetime.now())
