"""Reference answers from Python's configparser, set up as PasteDeploy does.

Reads absolute file paths, one per line, on standard input. Prints a JSON
object mapping each path to either
  {"sections": {section: {key: value or {"error": ExceptionName}}}}
(DEFAULT included) or {"error": ExceptionName, "line": n or null}.
"""
import json
import os
import sys

from paste.deploy.loadwsgi import NicerConfigParser


def read(path):
    parser = NicerConfigParser(
        path,
        defaults={"here": os.path.dirname(path), "__file__": path},
    )
    parser.optionxform = str
    try:
        with open(path) as f:
            parser.read_file(f)
    except Exception as error:
        line = getattr(error, "lineno", None)
        if line is None and getattr(error, "errors", None):
            line = error.errors[0][0]
        return {"error": type(error).__name__, "line": line}
    sections = {}
    for section in ["DEFAULT"] + parser.sections():
        keys = list(parser._defaults) if section == "DEFAULT" else parser.options(section)
        values = {}
        for key in keys:
            try:
                values[key] = parser.get(section, key)
            except Exception as error:
                values[key] = {"error": type(error).__name__}
        sections[section] = values
    return {"sections": sections}


result = {}
for line in sys.stdin:
    path = line.rstrip("\n")
    if path:
        result[path] = read(path)
json.dump(result, sys.stdout)
