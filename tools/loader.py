"""Load one stage's Flask app in isolation.

Every stage has a module or package called ``app``. Python caches imports in
``sys.modules`` by name, so a plain ``import app`` would hand the second stage
the first stage's module. ``load_app`` removes the stage's top-level names
from the cache, imports the stage from its own folder, and takes the names out
again afterwards: each call gets a freshly executed app and no stage can see
another.
"""
import importlib
import sys
import traceback
from contextlib import contextmanager
from pathlib import Path



class StageLoadError(Exception):
    """The stage's code could not be imported or its app could not be built."""


def top_level_names(folder):
    """The module and package names a stage folder defines (``app``, ``forms``, ...)."""
    names = {path.stem for path in folder.glob("*.py")}
    names |= {path.parent.name for path in folder.glob("*/__init__.py")}
    return names


def _forget(names):
    for name in list(sys.modules):
        if name.split(".", 1)[0] in names:
            del sys.modules[name]


@contextmanager
def isolated_imports(folder):
    folder = Path(folder).resolve()
    names = top_level_names(folder)
    saved = {n: m for n, m in sys.modules.items() if n.split(".", 1)[0] in names}
    _forget(names)
    sys.path.insert(0, str(folder))
    importlib.invalidate_caches()
    dont_write_bytecode = sys.dont_write_bytecode
    sys.dont_write_bytecode = True  # never write __pycache__ into a student's folder
    try:
        yield
    finally:
        sys.dont_write_bytecode = dont_write_bytecode
        sys.path.remove(str(folder))
        _forget(names)
        sys.modules.update(saved)


def describe_error(error, folder):
    """One short paragraph naming the error and the line of the stage's code that raised it."""
    folder = str(Path(folder).resolve())
    where = ""
    if isinstance(error, SyntaxError) and error.filename:
        where = f" ({Path(error.filename).name}, line {error.lineno})"
        if where.strip() in str(error):  # Python already says where
            where = ""
    else:
        frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename.startswith(folder)]
        if frames:
            last = frames[-1]
            where = f" ({Path(last.filename).relative_to(folder)}, line {last.lineno}: {last.line})"
    return f"{type(error).__name__}: {error}{where}"


def load_app(folder, test_config=None, as_flask_run=False):
    """Import the stage in ``folder`` and return its Flask app (and the module it came from).

    A stage with an application factory gets ``create_app(test_config)``; an
    early stage's module-level ``app`` gets ``test_config`` applied to it.

    as_flask_run: as `flask --app app run` in the folder loads it, for a process of its own
    (a server of tools/grading/app_host.py): ``create_app()`` with no argument unless a check
    gives a test_config, and the folder and the stage's modules left where the import put them.
    """
    folder = Path(folder)
    # It runs where the app runs (tools/grading/app_host.py), which sees tools/ but not the course.
    if not ((folder / "app.py").is_file() or (folder / "app" / "__init__.py").is_file()):
        found = ", ".join(sorted(p.name for p in folder.iterdir())) if folder.is_dir() else "nothing"
        raise StageLoadError(
            f"{folder} should contain app.py (a Flask object `app`) or an app/ package (app/__init__.py "
            f"with create_app()); found: {found}"
        )
    if as_flask_run:
        sys.path.insert(0, str(folder.resolve()))
        return _import_app(folder, test_config, configure=test_config is not None)
    with isolated_imports(folder):
        return _import_app(folder, test_config)


def _import_app(folder, test_config, configure=True):
    try:
        module = importlib.import_module("app")
        if hasattr(module, "create_app"):
            app = module.create_app(test_config) if configure else module.create_app()
        else:
            app = module.app
            if configure:
                app.config.update(test_config or {})
    except Exception as error:  # a student's broken code: report it, never crash the run
        raise StageLoadError(describe_error(error, folder)) from None
    return app, module
