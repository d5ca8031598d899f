from flask import Flask

# __name__ tells Flask where this app's files live (templates and static files, from stage 2 on).
app = Flask(__name__)


@app.route("/")
def index():
    return "<h1>Hello, Flask!</h1><p>This page was made by the index() function in app.py.</p>"
