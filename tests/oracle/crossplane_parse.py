"""Reference answers from crossplane for the differential test.

Reads file paths, one per line, on standard input; prints one JSON object
mapping each path to crossplane's payload for it, parsed as the test asks:
single file, comments kept, no context or argument checks.
"""
import json
import sys

import crossplane

result = {}
for line in sys.stdin:
    path = line.rstrip("\n")
    if not path:
        continue
    try:
        result[path] = crossplane.parse(
            path, single=True, comments=True, check_ctx=False, check_args=False
        )
    except Exception as error:  # crossplane itself crashed on this file
        result[path] = {"status": "crashed", "errors": [str(error)], "config": []}
json.dump(result, sys.stdout)
