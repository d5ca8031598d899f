"""Stage 2: the mistakes its lesson note warns about (the layout really extended, the debugger off)."""
from support.mistakes import debugger_switches, templates_folder, templates_not_extending_the_layout

STAGE = 2

DEBUGGER = ("The debugger runs any Python a visitor types into an error page: it is for your own machine only, "
            "turned on when you start the server (flask run --debug, make stage N), never in the code or a "
            "committed settings file, and the development server never listens on 0.0.0.0. Found:\n  ")


def test_the_code_never_switches_the_debugger_on(stage_folder):
    found = debugger_switches(stage_folder)
    assert not found, DEBUGGER + "\n  ".join(found)


def test_every_page_template_extends_the_layout(stage_folder):
    templates = templates_folder(stage_folder)
    assert (templates / "base.html").is_file(), f"The layout should be a template of its own: {templates}/base.html"
    pages = [p for p in templates.glob("*.html") if p.name != "base.html"]
    assert pages, f"The pages should be templates in {templates}, next to base.html"
    missing = templates_not_extending_the_layout(stage_folder)
    assert not missing, (
        f"These page templates do not extend the layout: {', '.join(missing)}. Each page starts with "
        '{% extends "base.html" %} and fills in its blocks; a copy of the layout in each page means every '
        "change to it must be made in every file"
    )
