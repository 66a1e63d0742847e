"""The Grafana dashboard and the alert rules: PromQL that parses, naming only series the
platform publishes (a renamed metric would leave a panel empty and an alert silent)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml
from prometheus_client import REGISTRY

import services.gateway.metrics
import services.notifications.metrics
import services.tracking.metrics
import shared.metrics

MONITORING = Path(__file__).resolve().parent.parent / "deploy" / "monitoring"
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}
# Imported for the metrics they define (each in the process registry once imported).
DEFINING = (shared.metrics, services.gateway.metrics, services.notifications.metrics,
            services.tracking.metrics)  # fmt: skip


def published() -> set[str]:
    names = set()
    for family in REGISTRY.collect():
        names |= {family.name + suffix for suffix in SUFFIXES.get(family.type, ("",))}
        names |= {sample.name for sample in family.samples}
    return names


def alert_rules() -> list[dict[str, Any]]:
    document = yaml.safe_load((MONITORING / "alerts.yaml").read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def dashboard_queries() -> list[str]:
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    return [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]


def series(expression: str) -> set[str]:
    return set(re.findall(r"\b(?:onestop|process)_[a-z0-9_]+\b", expression))


@pytest.mark.parametrize("expression", [r["expr"] for r in alert_rules()] + dashboard_queries())
def test_each_query_parses_and_names_published_series(expression: str) -> None:
    promql_parser.parse(expression)  # raises on a syntax error
    named = series(expression)
    assert named, expression
    assert named <= published(), named - published()


def test_the_alerts_cover_the_issues_list_and_say_what_is_wrong() -> None:
    rules = {rule["alert"]: rule for rule in alert_rules()}
    wanted = {"OnestopPortalSyncLagging", "OnestopEventDeadLetters", "OnestopOverdueGrowing",
              "OnestopServerErrors"}  # fmt: skip
    assert wanted <= set(rules)
    for name, rule in rules.items():
        assert rule["labels"]["severity"] in ("warning", "critical"), name
        assert rule["annotations"]["summary"], name
        assert re.fullmatch(r"\d+m", rule["for"]), name


def test_a_broken_query_is_caught() -> None:
    with pytest.raises(ValueError, match="unclosed"):
        promql_parser.parse("sum by (service (rate(onestop_http_requests_total[5m]))")
