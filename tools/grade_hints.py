"""Hints the grader prints under a failed check, by test function name.

A test can carry its own instead: a paragraph of its docstring starting with "Hint:".
Checks with neither get a general hint from what the failure says (a 500, a 404, a
time limit ...). A hint points at where to look; it does not hand out the solution.
"""
HINTS = {
    # 01_hello
    "test_home_page_says_hello": "The view for @app.route(\"/\") should return the greeting.",
    "test_home_page_is_html": "Return a string from the view: Flask sends it as text/html.",
    "test_a_page_with_no_route_is_not_found":
        "Only the URLs you route should exist; an error handler must keep the 404 status "
        "(return the page and 404).",

    # 02_templates
    "test_home_and_about_pages_answer": "Each page needs its route: / and /about, each rendering its template.",
    "test_the_stylesheet_link_leads_to_the_css_file":
        "Link the stylesheet in base.html with url_for('static', filename='style.css'); the "
        "file lives in static/.",
    "test_nav_links_reach_both_pages":
        "The <nav> in base.html should link every page with url_for('<view name>').",
    "test_both_pages_share_the_layout_from_base_html":
        "Every page template starts with {% extends \"base.html\" %} and fills the title and "
        "content blocks.",
    "test_home_page_lists_the_lessons_with_a_for_loop":
        "Pass the list to render_template and write one <li> per item with {% for %} ... {% endfor %}.",
    "test_about_page_shows_the_time_it_was_made_and_greets_for_that_hour":
        "Pass datetime.now() to the template and choose the greeting with {% if %} on its hour.",

    # 03_params
    "test_hello_greets_the_name_given_in_the_query_string": "Read ?name= with request.args.get('name', ...).",
    "test_hello_without_a_query_string_uses_the_defaults":
        "request.args.get takes a default for a value that is not in the URL.",
    "test_times_is_converted_to_a_number_and_repeats_the_greeting":
        "Query values are text: request.args.get('times', 1, type=int) converts it.",
    "test_times_that_is_not_a_number_falls_back_to_the_default":
        "With type=int, a value that does not convert gives the default instead of an error.",
    "test_times_is_kept_between_one_and_ten":
        "A number from the visitor needs bounds: keep it between 1 and 10 before using it.",
    "test_a_script_in_the_name_is_shown_as_text_not_run":
        "Show visitor text with {{ name }} in a template (escaped); never |safe, Markup() or an "
        "f-string of HTML.",
    "test_string_converter_takes_one_path_segment": "A route like /user/<username> takes one segment.",
    "test_int_converter_takes_whole_numbers_only": "Write the converter in the route: <int:number>.",
    "test_float_converter_takes_numbers_with_a_decimal_point": "Write the converter in the route: <float:number>.",
    "test_path_converter_takes_slashes_too": "Only <path:...> accepts slashes in the value.",
    "test_home_page_links_to_working_examples_of_each_parameter":
        "Build each example link with url_for(view, ...): parameters the route does not name "
        "become the query string.",

    # 04_forms
    "test_login_page_shows_the_form_with_a_csrf_token":
        "Render the form's fields in the template, with {{ form.hidden_tag() }} inside the <form>.",
    "test_the_nav_links_to_the_login_page": "Add the login page to the <nav> in base.html with url_for('login').",
    "test_a_post_without_the_csrf_token_is_refused_and_flashes_nothing":
        "CSRFProtect(app) refuses any POST without a valid token with 400; never switch CSRF off "
        "to make a form work.",
    "test_a_post_with_a_wrong_csrf_token_is_refused":
        "CSRFProtect(app) checks the token's signature against the secret key; keep it on.",
    "test_an_empty_form_shows_an_error_next_to_each_field":
        "After a failed validate_on_submit(), render the form again and show each field's "
        "errors right after its input.",
    "test_a_too_short_username_is_an_error_and_the_typed_name_is_kept":
        "Give the field its validators (DataRequired, Length(min=3, ...)) and render it with "
        "{{ form.username() }} so it keeps what was typed.",
    "test_a_valid_form_redirects_and_flashes_a_welcome_once":
        "On success: flash(...) then return redirect(url_for('index')); base.html shows "
        "get_flashed_messages().",
    "test_the_secret_key_comes_from_the_environment":
        "app.config.from_prefixed_env() turns FLASK_SECRET_KEY into SECRET_KEY; no key in the code.",
    "test_the_secret_key_can_come_from_a_dotenv_file": "Call load_dotenv() before app.config.from_prefixed_env().",
    "test_without_a_secret_key_the_app_starts_with_a_random_key_and_one_warning":
        "With no key configured: secrets.token_urlsafe() and one app.logger.warning naming FLASK_SECRET_KEY.",
    "test_env_example_is_committed_with_no_secret_in_it":
        "Commit .env.example listing FLASK_SECRET_KEY= with no value; keep the real .env out of git.",
}
