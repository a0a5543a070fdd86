"""Validates JSON against a JSON Schema with python-jsonschema: the whole
of standard input as one document, or with --lines each non-empty line as
one (rdjsonl). Also checks what a schema cannot: with --unique KEY, that no
two items of the array share KEY (GitLab drops issues whose fingerprint
repeats). Prints each problem and exits 1 when there is one."""
import json
import sys

import jsonschema

schema_path = sys.argv[1]
args = sys.argv[2:]
with open(schema_path) as f:
    schema = json.load(f)
validator_class = jsonschema.validators.validator_for(schema)
validator_class.check_schema(schema)
validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)

text = sys.stdin.read()
if "--lines" in args:
    documents = [json.loads(line) for line in text.splitlines() if line.strip()]
else:
    documents = [json.loads(text)]

problems = []
for index, document in enumerate(documents):
    for error in validator.iter_errors(document):
        where = "/".join(str(p) for p in error.absolute_path)
        problems.append(f"document {index + 1} at /{where}: {error.message}")
if "--unique" in args:
    key = args[args.index("--unique") + 1]
    for document in documents:
        values = [item.get(key) for item in document]
        repeated = {v for v in values if values.count(v) > 1}
        problems.extend(f"{key} {v} repeats" for v in sorted(repeated))
for problem in problems:
    print(problem)
if problems:
    sys.exit(1)
print(f"valid: {len(documents)} document(s)")
