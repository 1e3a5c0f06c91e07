"""SLO as code: production rules generated from the same SLO file that gates CI (pure).

``prometheus``: recording and alerting rules; ``promtool``: their unit tests;
``alertmanager``: a routing snippet by severity. Every query is the verifier's own
(:mod:`slocheck.evaluate.plan`).
"""

from slocheck.rules.prometheus import RuleSet, rule_set

__all__ = ["RuleSet", "rule_set"]
