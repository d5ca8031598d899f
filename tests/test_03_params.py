"""Stage 3: what a URL tells the app: query strings and URL converters."""
import re

STAGE = 3


def greetings(response, name):
    """How many times the page says "Hello, <name>!"."""
    assert response.status_code == 200, (
        f"GET {response.request.full_path} should answer 200 OK, but answered {response.status_code}"
    )
    return response.text.count(f"Hello, {name}!")


def page(client, path):
    response = client.get(path)
    assert response.status_code == 200, f"GET {path} should answer 200 OK, but answered {response.status_code}"
    return response.text


def not_found(client, path, why):
    response = client.get(path)
    assert response.status_code == 404, (
        f"GET {path} should answer 404 Not Found ({why}), but answered {response.status_code}"
    )


def converts(client, path, shown, explanation, refused, python_type=None):
    """GET `path` shows `shown` (and names the Python type the view got); each URL in `refused` is 404,
    for the reason given with it."""
    html = page(client, path)
    assert shown in html, f"{path} should show {explanation}"
    if python_type:
        assert re.search(rf"\b{python_type}\b", html), f"{path} should say the view got a Python {python_type}"
    for url, why in refused.items():
        not_found(client, url, why)


def test_hello_greets_the_name_given_in_the_query_string(client):
    """Read ?name= with request.args.get('name', ...)."""
    assert greetings(client.get("/hello?name=Ana"), "Ana") == 1, (
        "/hello?name=Ana should say 'Hello, Ana!' once: read the name with request.args.get('name', ...)"
    )


def test_hello_without_a_query_string_uses_the_defaults(client):
    """request.args.get takes a default for a value that is not in the URL."""
    assert greetings(client.get("/hello"), "stranger") == 1, (
        "/hello with no query string should say 'Hello, stranger!' once: give request.args.get a default"
    )


def test_times_is_converted_to_a_number_and_repeats_the_greeting(client):
    """Query values are text: request.args.get('times', 1, type=int) converts it."""
    assert greetings(client.get("/hello?name=Ana&times=3"), "Ana") == 3, (
        "/hello?name=Ana&times=3 should say 'Hello, Ana!' three times: read times with type=int"
    )


def test_times_that_is_not_a_number_falls_back_to_the_default(client):
    """With type=int, a value that does not convert gives the default instead of an error."""
    assert greetings(client.get("/hello?name=Ana&times=many"), "Ana") == 1, (
        "With times=many (not a number) the page should still work and greet once:"
        " request.args.get('times', 1, type=int) gives the default when the conversion fails"
    )


def test_times_is_kept_between_one_and_ten(client):
    """A number from the visitor needs bounds: keep it between 1 and 10 before using it."""
    assert greetings(client.get("/hello?name=Ana&times=100000"), "Ana") == 10, (
        "times=100000 should be capped at 10 greetings: a visitor must not make the server build a huge page"
    )
    assert greetings(client.get("/hello?name=Ana&times=-4"), "Ana") == 1, (
        "times=-4 should still greet once: the number comes from the visitor, keep it at least 1"
    )


def test_a_script_in_the_name_is_shown_as_text_not_run(client):
    """Show visitor text with {{ name }} in a template (escaped); never |safe, Markup() or an f-string of HTML."""
    attack = '<script>alert("gotcha")</script>'
    response = client.get("/hello", query_string={"name": attack})
    assert response.status_code == 200, f"/hello with a script as name should still answer 200, not {response.status_code}"
    assert attack not in response.text, (
        "A <script> typed into the name reached the page as HTML, so it would run in the browser:"
        " the template should show it escaped, as text"
    )
    assert "&lt;script&gt;" in response.text, "The escaped name (&lt;script&gt;...) should appear on the page as text"


def test_string_converter_takes_one_path_segment(client):
    """A route like /user/<username> takes one segment."""
    converts(client, "/user/ana", "ana", "the username 'ana' taken from the URL", python_type="str",
             refused={"/user/ana/extra": "the string converter stops at a slash"})


def test_int_converter_takes_whole_numbers_only(client):
    """Write the converter in the route: <int:number>."""
    converts(client, "/square/7", "49", "49: the int converter hands the view the number 7", python_type="int",
             refused={"/square/abc": "abc is not a whole number", "/square/2.5": "2.5 is not a whole number"})


def test_float_converter_takes_numbers_with_a_decimal_point(client):
    """Write the converter in the route: <float:number>."""
    converts(client, "/half/5.0", "2.5", "2.5: the float converter hands the view the number 5.0",
             python_type="float",
             refused={"/half/abc": "abc is not a number", "/half/5": "the float converter needs a decimal point: 5.0"})


def test_path_converter_takes_slashes_too(client):
    """Only <path:...> accepts slashes in the value."""
    converts(client, "/files/notes/2026/plan.txt", "notes/2026/plan.txt",
             "the whole path: the path converter keeps the slashes",
             refused={"/files/": "the path converter needs at least one character"})


def test_home_page_links_to_working_examples_of_each_parameter(client):
    """Build each example link with url_for(view, ...): parameters the route does not name become the query
    string."""
    links = re.findall(r'<a href="([^"]+)"', page(client, "/"))
    for start in ("/hello?", "/user/", "/square/", "/half/", "/files/"):
        matching = [link for link in links if link.startswith(start)]
        assert matching, f"The home page should link to an example URL starting with {start} (build it with url_for)"
        href = matching[0].replace("&amp;", "&")
        response = client.get(href)
        assert response.status_code == 200, f"The example link {href} on the home page should work, but answered {response.status_code}"


def test_int_converter_refuses_numbers_over_its_max(client):
    """Give the int converter its max: <int(max=999999999):number>."""
    for digits in (3000, 5000):
        not_found(client, "/square/" + "9" * digits,
                  f"a number of {digits:,} digits is too big: give the converter a max, <int(max=999999999):number>")
    assert "999999998000000001" in page(client, "/square/999999999"), "/square/999999999 (the max) should still be squared"
