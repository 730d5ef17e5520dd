"""Risk-level rules a supervisor can read and edit (risk_rules.toml, in Chinese).

The bundled file holds the published default rules. A copy at ``$SHEGONG_HOME/visits/risk_rules.toml``
replaces it: a supervisor edits that copy and the next record follows it. A broken file is reported
in Chinese with what is wrong; it never silently falls back to other rules.
"""

from __future__ import annotations

import shutil
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from assistant.visits.lexicon import CATEGORIES, FLAGS
from shegong.errors import UserError

BUNDLED = Path(__file__).with_name("risk_rules.toml")
LEVELS = ("高", "中")


@dataclass(frozen=True)
class Rule:
    level: str
    any_of: tuple[str, ...] = ()
    all_of: tuple[str, ...] = ()
    at_least: int = 0
    categories: tuple[str, ...] = ()
    note: str = ""

    def matches(self, flags: set[str], categories: set[str]) -> bool:
        if self.categories and not (set(self.categories) & categories):
            return False
        if self.any_of and not (set(self.any_of) & flags):
            return False
        if self.all_of and not set(self.all_of) <= flags:
            return False
        if self.at_least and len(flags) < self.at_least:
            return False
        return bool(self.any_of or self.all_of or self.at_least)

    def which(self, flags: set[str]) -> list[str]:
        """The flags that made this rule hold, in the published order."""
        used = set(self.all_of) | (set(self.any_of) & flags) | (flags if self.at_least else set())
        return [f for f in FLAGS if f in used]


@dataclass
class RuleSet:
    rules: list[Rule]
    referrals: dict[str, str] = field(default_factory=dict)
    path: Path = BUNDLED

    def level(self, flags: set[str], categories: set[str] = frozenset()) -> tuple[str, list[str]]:
        """(低/中/高, reasons). The first rule that holds decides; 高 rules are tried before 中 rules."""
        for level in LEVELS:
            for rule in self.rules:
                if rule.level == level and rule.matches(flags, categories):
                    reason = "、".join(rule.which(flags))
                    return level, [f"{reason}（{rule.note}）" if rule.note else reason]
        return "低", ["未发现需要升级的风险标记" if not flags else "、".join(f for f in FLAGS if f in flags)
                      + "（未达到中、高风险规则）"]


def user_rules_path() -> Path:
    from shegong.config import get_settings

    return get_settings().home / "visits" / "risk_rules.toml"


def active_rules_path() -> Path:
    path = user_rules_path()
    return path if path.is_file() else BUNDLED


def copy_for_editing() -> Path:
    """Put an editable copy of the default rules in the data directory (kept if one is there)."""
    path = user_rules_path()
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(BUNDLED, path)
    return path


def load_rules(path: Path | None = None) -> RuleSet:
    path = Path(path) if path else active_rules_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise UserError(f"读不到风险规则文件 {path}：{e.strerror or e}") from e
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise UserError(f"风险规则文件 {path} 的写法有误，请按文件开头的说明修改：{e}") from e
    rules = []
    for i, raw in enumerate(data.get("规则", []), 1):
        where = f"风险规则文件 {path.name} 第 {i} 条规则"
        level = raw.get("等级")
        if level not in LEVELS:
            raise UserError(f"{where}：等级只能写“高”或“中”，现在是“{level}”")
        lists = {}
        for key in ("任一", "同时", "类别"):
            value = raw.get(key, [])
            if isinstance(value, str):
                value = [value]
            allowed = CATEGORIES if key == "类别" else FLAGS
            unknown = [v for v in value if v not in allowed]
            if unknown:
                raise UserError(f"{where}：不认识的{'对象类别' if key == '类别' else '风险标记'}“{'、'.join(unknown)}”。"
                                f"可用的有：{'、'.join(allowed)}")
            lists[key] = tuple(value)
        at_least = raw.get("至少", 0)
        if not isinstance(at_least, int) or at_least < 0:
            raise UserError(f"{where}：“至少”要写一个正整数")
        rule = Rule(level, lists["任一"], lists["同时"], at_least, lists["类别"], str(raw.get("说明", "")))
        if not (rule.any_of or rule.all_of or rule.at_least):
            raise UserError(f"{where}：至少要写“任一”“同时”“至少”中的一项")
        rules.append(rule)
    referrals = {str(k): str(v) for k, v in (data.get("转介") or {}).items()}
    unknown = [k for k in referrals if k not in FLAGS]
    if unknown:
        raise UserError(f"风险规则文件 {path.name} 的[转介]里有不认识的风险标记：{'、'.join(unknown)}")
    return RuleSet(rules, referrals, path)
