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
    "test_int_converter_refuses_numbers_over_its_max": "Give the int converter its max: <int(max=999999999):number>.",
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

    # 05_file_log_chat
    "test_the_app_is_a_package_built_by_create_app":
        "app/__init__.py defines create_app(test_config=None), which builds and returns a new "
        "Flask app and registers the Blueprint from app/routes.py.",
    "test_create_app_takes_settings_from_the_environment":
        "In create_app: load_dotenv(), then app.config.from_prefixed_env(), then test_config.",
    "test_test_config_wins_over_the_environment":
        "Apply test_config after from_prefixed_env(), and only set LOG_DIR with setdefault.",
    "test_a_missing_log_folder_is_created": "os.makedirs(app.config['LOG_DIR'], exist_ok=True) in create_app.",
    "test_without_a_secret_key_the_app_warns_and_picks_a_random_one":
        "With no key configured: secrets.token_urlsafe() and one app.logger.warning naming FLASK_SECRET_KEY.",
    "test_home_page_links_to_both_clients": "The home page links /user and /attendant with url_for('main.chat', role=...).",
    "test_each_client_shows_a_message_form_in_the_shared_layout":
        "One chat.html extending base.html, with the form's fields and {{ form.hidden_tag() }}.",
    "test_an_unknown_role_is_not_found":
        "Let the route accept only the two roles: /<any(user, attendant):role>.",
    "test_sending_appends_one_line_to_that_clients_log_and_redirects":
        "Append to <LOG_DIR>/<role>.log through chat_log.append, then redirect to the same page.",
    "test_the_two_clients_do_not_see_each_other": "Each role reads and writes its own log file only.",
    "test_an_empty_message_shows_an_error_and_writes_nothing":
        "DataRequired on the text field refuses an empty or blank box with an error.",
    "test_a_message_over_the_limit_shows_an_error_naming_the_limit_and_writes_nothing":
        "Length(max=500) on the text field: its error names the limit.",
    "test_messages_are_shown_as_text_not_run_as_html": "Show messages with {{ message.text }} (escaped), never |safe.",
    "test_a_message_cannot_forge_a_log_line":
        "Write the text with json.dumps(text): quotes, newlines and every non-ASCII character "
        "become escapes, so one message is one line.",
    "test_each_message_shows_its_time_as_a_person_reads_it":
        "Keep the ISO time in <time datetime=\"...\">, and show it as a person reads it, e.g. 2026-12-04 17:00.",
    "test_the_log_reads_back_every_message_in_order":
        "Read each line with line.split(' ', 2) and json.loads the third part.",

    # 06_sync_log
    "test_both_clients_write_to_one_shared_chat_log":
        "Both roles append to one <LOG_DIR>/chat.log, each line with its own role.",
    "test_each_page_shows_the_whole_conversation_who_what_and_when":
        "Both pages read chat.log and list every message with its time and role.",
    "test_the_button_is_send_refresh": "The submit button's label is Send/Refresh.",
    "test_an_empty_box_writes_nothing_and_shows_the_conversation_now":
        "An empty or blank box is a Refresh: write nothing, show no error, redirect to the page.",
    "test_a_refresh_before_anyone_wrote_creates_no_message": "A Refresh never writes to chat.log.",
    "test_sending_appends_one_line_to_chat_log_and_redirects":
        "Append to chat.log, then redirect (post/redirect/get).",

    # 07_realtime
    "test_start_a_chat_creates_its_log_and_opens_its_page":
        "POST /user creates chat_<ID>.log (ID = start time, YYYYMMDD-hhmmss) and redirects to /user/<ID>.",
    "test_two_sessions_in_the_same_second_get_distinct_ids_and_files":
        "Create the log with open(path, 'x'); if it exists, try <ID>-2, <ID>-3 ...",
    "test_sessions_started_at_once_in_many_threads_get_distinct_ids":
        "Only open(path, 'x') decides who gets an ID: checking os.path.exists first is a race.",
    "test_chat_pages_are_not_found_for_unknown_sessions_and_roles":
        "Accept an ID only when it matches the strict pattern AND its log file exists; route "
        "roles with any(user, attendant).",
    "test_join_gets_the_history_then_live_messages":
        "On join: join_room, read the session's log and emit history to that window, all under one lock.",
    "test_a_message_reaches_both_roles_of_its_session_and_never_another":
        "Emit each message to the session's room (to=chat_id), never broadcast to everyone.",
    "test_the_attendants_list_is_live_and_gives_every_session_newest_first":
        "watch joins the desk room and answers with every session, the newest first; starting a chat "
        "emits session to the desk room.",
    "test_each_message_is_logged_once_and_reads_back_exactly":
        "Append every message to its own session's chat_<ID>.log, in the same format as before.",
    "test_html_in_a_message_stays_text":
        "In chat.js build each <li> with textContent or text nodes, never innerHTML.",
    "test_a_foreign_origin_cannot_open_a_socket":
        "Leave cors_allowed_origins at its default; never '*'.",
    "test_the_served_socketio_client_speaks_the_servers_protocol":
        "Serve socket.io-client 4.x from app/static/vendor/ (make setup fetches it).",
}
