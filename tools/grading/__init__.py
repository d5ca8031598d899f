"""The grader's parts; tools/grade.py puts them together (see its docstring)."""
