"""A stand-in for MediaGoblin's own app, and nothing else.

The test suite puts this directory on PYTHONPATH. mediagoblin.egg-info
beside this file registers these factories under the names paste.ini uses
(egg:mediagoblin#app, egg:mediagoblin#errors), so a real paste.ini of any
MediaGoblin version loads through the real PasteDeploy, Paste (urlmap,
static) and Beaker with the probe in MediaGoblin's place.

The probe answers every request with what it saw, as JSON. It reads the
WSGI environ the way MediaGoblin's app.py does: environ["SCRIPT_NAME"] must
be there (MediaGoblin raises KeyError, and every page is a 502, without it).
"""
import json
import os


def probe_app(environ, start_response):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    seen = {
        "app": "mediagoblin",
        # As mediagoblin/app.py: request.full_path = environ["SCRIPT_NAME"] + ...
        "SCRIPT_NAME": environ["SCRIPT_NAME"],
        "PATH_INFO": environ["PATH_INFO"],
        "QUERY_STRING": environ.get("QUERY_STRING", ""),
        "REQUEST_METHOD": environ["REQUEST_METHOD"],
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
