from datetime import datetime

from flask import Flask, render_template

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
