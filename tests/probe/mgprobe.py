"""Stand-ins for MediaGoblin and the Paste pieces its paste.ini files name.

The test suite puts this directory on PYTHONPATH. The *.egg-info folders
beside this file register these factories under the names paste.ini uses
(egg:mediagoblin#app, egg:mediagoblin#errors, egg:Paste#urlmap,
egg:Paste#static, egg:Beaker#beaker_session), so a real paste.ini of any
MediaGoblin version loads through PasteDeploy with the probe in MediaGoblin's
place. The probe answers every request with what it saw, as JSON.
"""
import json
import os


def probe_app(environ, start_response):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    seen = {
        "app": "mediagoblin",
        "SCRIPT_NAME": environ.get("SCRIPT_NAME", ""),
        "PATH_INFO": environ.get("PATH_INFO", ""),
        "QUERY_STRING": environ.get("QUERY_STRING", ""),
        "REQUEST_METHOD": environ.get("REQUEST_METHOD", ""),
        "body": body.decode("latin-1"),
        "CELERY_ALWAYS_EAGER": os.environ.get("CELERY_ALWAYS_EAGER"),
    }
    data = json.dumps(seen, sort_keys=True).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def app_factory(global_conf, **local_conf):
    """egg:mediagoblin#app"""
    return probe_app


def errors_filter_app_factory(app, global_conf, **local_conf):
    """egg:mediagoblin#errors"""
    return app


def beaker_filter_factory(global_conf, **local_conf):
    """egg:Beaker#beaker_session"""
    return lambda app: app


def static_app_factory(global_conf, document_root=None, **local_conf):
    """egg:Paste#static: says it would serve a file (nginx serves them)."""

    def static(environ, start_response):
        data = json.dumps({"app": "static", "document_root": document_root, "PATH_INFO": environ.get("PATH_INFO", "")}).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]

    return static


def urlmap_factory(loader, global_conf, **local_conf):
    """egg:Paste#urlmap: dispatch on the longest matching path prefix and move
    it from PATH_INFO to SCRIPT_NAME, as paste.urlmap.URLMap does."""
    apps = []
    for path, name in local_conf.items():
        if path.startswith("/"):
            apps.append((path.rstrip("/"), loader.get_app(name, global_conf=global_conf)))
    apps.sort(key=lambda item: -len(item[0]))

    def urlmap(environ, start_response):
        path_info = environ.get("PATH_INFO", "")
        for prefix, app in apps:
            if path_info == prefix or path_info.startswith(prefix + "/"):
                environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + prefix
                environ["PATH_INFO"] = path_info[len(prefix):]
                return app(environ, start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"no app for this path\n"]

    return urlmap
