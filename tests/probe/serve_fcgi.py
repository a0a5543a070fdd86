"""What `paster serve paste.ini --server-name=fcgi fcgi_host=H fcgi_port=P`
does, without PasteScript: load the app and the [server:fcgi] server
(egg:flup#fcgi_fork) from paste.ini through PasteDeploy, and serve.

usage: serve_fcgi.py PASTE_INI HOST PORT
"""
import sys

import flup.server.paste_factory
from paste.deploy import loadapp, loadserver

# flup 1.0.3's paste factory still names Python 2's `unicode` (in asbool);
# everything else of flup runs on Python 3.
flup.server.paste_factory.unicode = str

paste_ini, host, port = sys.argv[1:4]
global_conf = {"fcgi_host": host, "fcgi_port": port}
app = loadapp("config:" + paste_ini, global_conf=global_conf)
server = loadserver("config:" + paste_ini, name="fcgi", global_conf=global_conf)
server(app)
