"""The rule registry (schemas/rules.yaml): id → severity and the text auditors read."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import yaml

from shiyou.paths import SCHEMAS_DIR


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str  # "error" | "warning"
    element: str
    en: str
    zh: str


@lru_cache(maxsize=1)
def all_rules() -> dict[str, Rule]:
    data = yaml.safe_load((SCHEMAS_DIR / "rules.yaml").read_text(encoding="utf-8"))
    rules = {r["id"]: Rule(**r) for r in data["rules"]}
    bad = [r.id for r in rules.values() if r.severity not in ("error", "warning")]
    if bad:
        raise ValueError(f"rules with unknown severity: {bad}")
    return rules


def rule(rule_id: str) -> Rule:
    return all_rules()[rule_id]
