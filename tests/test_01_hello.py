"""Stage 1: one application object, one route."""
STAGE = 1


def test_home_page_says_hello(client):
    """The view for @app.route("/") should return the greeting."""
    response = client.get("/")
    assert response.status_code == 200, f"GET / should answer 200 OK, but answered {response.status_code}"
    assert "Hello" in response.text, "The page at / should greet the visitor with 'Hello'"


def test_home_page_is_html(client):
    """Return a string from the view: Flask sends it as text/html."""
    response = client.get("/")
    assert response.status_code == 200, f"GET / should answer 200 OK, but answered {response.status_code}"
    assert response.mimetype == "text/html", f"GET / should send HTML, but sent {response.mimetype}"


def test_a_page_with_no_route_is_not_found(client):
    """Only the URLs you route should exist; an error handler must keep the 404 status (return the page and
    404)."""
    response = client.get("/no-such-page")
    assert response.status_code == 404, (
        f"A URL that no route matches should answer 404 Not Found, but answered {response.status_code}"
    )
