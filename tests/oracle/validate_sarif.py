"""Validates a SARIF log read on standard input with sarif-pydantic's
SARIF 2.1.0 models, plus what those models leave open: the version, rule
references that resolve, and regions that make sense."""
import json
import sys

from sarif_pydantic import Sarif

text = sys.stdin.read()
log = Sarif.model_validate_json(text)
raw = json.loads(text)
assert raw["version"] == "2.1.0", "version must be 2.1.0"
for run in log.runs:
    rules = run.tool.driver.rules or []
    ids = [rule.id for rule in rules]
    assert len(ids) == len(set(ids)), "rule ids repeat"
    for result in run.results or []:
        assert result.rule_id in ids, f"unknown rule {result.rule_id}"
        assert ids[result.rule_index] == result.rule_id, "ruleIndex does not match ruleId"
        for location in result.locations or []:
            region = location.physical_location.region
            if region is not None:
                assert region.start_line >= 1 and region.start_column >= 1
                assert (region.end_line, region.end_column) >= (region.start_line, region.start_column)
print("valid SARIF 2.1.0:", sum(len(run.results or []) for run in log.runs), "results")
