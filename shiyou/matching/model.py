"""schemas/matching.yaml as typed objects: blocking rules, comparisons and their levels.

Loading checks everything it can before any SQL runs — YAML shape, SQL that
parses, logical functions and their arity, columns that exist, the null level
first and the else level last, look-alike groups that do not overlap — and
reports every problem in one ``MatchingConfigError``.
"""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlglot import exp

from shiyou.matching import dialect
from shiyou.paths import SCHEMAS_DIR
from shiyou.standard import elements

MATCHING_YAML = SCHEMAS_DIR / "matching.yaml"
_NAME = re.compile(r"[a-z][a-z0-9_]{0,40}")


class MatchingConfigError(Exception):
    """matching.yaml is invalid; the message lists every problem at once."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Settings(_Strict):
    default_max_block_size: int = Field(100, gt=1)
    # At city scale: the column local (address-like) rules add to their keys, e.g. district.
    local_partition: str | None = None
    oversize_report_limit: int = Field(20, ge=0)  # oversized blocks listed per rule (masked)
    # Scoring (train.py, predict.py). Probabilities of a match, turned into weight cut-offs.
    match_probability: float = Field(0.99, gt=0, lt=1)  # at or above: match
    review_probability: float = Field(0.5, gt=0, lt=1)  # at or above (and below match): clerical review
    u_random_pairs: int = Field(1_000_000, gt=0)  # record pairs drawn to estimate u
    em_max_iterations: int = Field(100, gt=0)
    em_tolerance: float = Field(1e-6, gt=0)  # stop when no m, u or λ moves more than this
    # A sync scores with the previous release's model while it is younger than this (days) and
    # was trained on the same config, code and sources (train.fingerprint); 0: train every sync.
    retrain_after_days: int = Field(30, ge=0)
    # Clustering (cluster.py): a match pair between two different anchor IDs is cut unless its
    # weight reaches this (bits); null: never joined.
    different_id_override_weight: float | None = None
    # Blocking rules' pair_where: of the pairs it turns away, one in records ÷ this many (at most
    # skipped_pairs_sample_max; all of them in a district under twice this) is compared anyway
    # for training only, counted that many times (blocking.skipped_sql, train.py). Sampling saves
    # comparisons at scale; a small district's EM would feel it.
    skipped_pairs_sample_per: int = Field(250_000, ge=1)
    skipped_pairs_sample_max: int = Field(8, ge=1)
    tf_levels: list[str] = Field(default_factory=lambda: ["exact", "same_key", "exact_shared"])  # levels whose u is the value's frequency


class Frequency(_Strict):
    """A per-record count over all records: how many records (or distinct values) share ``of``."""

    name: str
    of: str
    distinct: str | None = None  # count distinct values of this column instead of records
    description: str = ""


class Expansion(_Strict):
    """Turn one key value into every value one typing error away (see blocking.py)."""

    kind: Literal["one_edit"] = "one_edit"
    alphabet: str = "0123456789"
    length: int = Field(17, gt=1, le=64)  # keys of exactly this length are expanded


class Side(_Strict):
    keys: list[str] = Field(min_length=1)
    where: str | None = None
    expand: Expansion | None = None


class Hop(_Strict):
    """One step of a path: from the current record to records with equal ``keys`` meeting ``where``."""

    keys: list[str] = Field(min_length=1)
    where: str | None = None


class BlockingRule(_Strict):
    """Three shapes: symmetric (``keys`` + ``where``), asymmetric (``left`` / ``right``) and
    ``path`` (start records, then hops through other records; pairs are start × end)."""

    name: str
    description: str = ""
    scope: Literal["local", "global"]
    keys: list[str] | None = None  # symmetric: equality on these expressions
    where: str | None = None  # symmetric: records taking part; path: the start records
    left: Side | None = None  # asymmetric: left records' keys meet right records' keys
    right: Side | None = None
    path: list[Hop] | None = None
    # Symmetric and asymmetric rules: a condition on the pair (l./r. columns) a pair of the
    # block must meet. The block (and its size) is unchanged; only the pairs it yields are fewer.
    pair_where: str | None = None
    max_block_size: int | None = Field(None, gt=1)

    @model_validator(mode="after")
    def _one_shape(self):
        symmetric = self.keys is not None
        asymmetric = self.left is not None or self.right is not None
        if symmetric + asymmetric + (self.path is not None) != 1:
            raise ValueError("a rule has either `keys` (+ `where`), `left` and `right`, or `path`")
        if self.path is not None:
            if not self.path:
                raise ValueError("`path` needs at least one hop")
            if not self.where:
                raise ValueError("a path rule names its start records in `where`")
            if self.pair_where is not None:
                raise ValueError("`pair_where` is for rules with `keys` or `left` / `right`, not `path`")
        elif asymmetric:
            if self.left is None or self.right is None:
                raise ValueError("an asymmetric rule needs both `left` and `right`")
            if len(self.left.keys) != len(self.right.keys):
                raise ValueError("`left.keys` and `right.keys` need the same number of keys")
            if self.right.expand is not None:
                raise ValueError("only the left side may be expanded")
            if self.left.expand is not None and len(self.left.keys) != 1:
                raise ValueError("an expanded side has exactly one key")
            if self.left.expand is not None and self.pair_where is not None:
                raise ValueError("an expanded side's rule takes no `pair_where`")
            if self.where is not None:
                raise ValueError("an asymmetric rule puts `where` on its sides")
        elif not self.keys:
            raise ValueError("`keys` needs at least one expression")
        return self

    @property
    def symmetric(self) -> bool:
        return self.keys is not None

    @property
    def shape(self) -> str:
        return "symmetric" if self.keys is not None else "path" if self.path is not None else "asymmetric"

    def pair_columns(self) -> list[str]:
        """The columns ``pair_where`` reads (without l./r.), in order of first use."""
        if not self.pair_where:
            return []
        return list(dict.fromkeys(c.name for c in _columns(dialect.parse(self.pair_where))))

    def sides(self) -> tuple[Side, Side]:
        if self.path is not None:
            raise ValueError("a path rule has no sides")
        if self.symmetric:
            s = Side(keys=self.keys, where=self.where)
            return s, s
        return self.left, self.right


class Level(_Strict):
    label: str
    label_zh: str = ""
    sql: str | None = None
    is_null: bool = Field(False, alias="null_level")
    is_else: bool = Field(False, alias="else_level")

    @model_validator(mode="after")
    def _sql_unless_else(self):
        if self.is_else and self.sql:
            raise ValueError("the else level has no `sql`")
        if not self.is_else and not self.sql:
            raise ValueError("a level needs `sql` (or `else_level: true`)")
        if self.is_else and self.is_null:
            raise ValueError("a level cannot be both null and else")
        return self


class Comparison(_Strict):
    name: str
    label: str
    description: str = ""
    levels: list[Level] = Field(min_length=3)
    term_frequencies: list[str] = Field(default_factory=list)  # frequency columns carried into gamma

    @property
    def column(self) -> str:
        return f"gamma_{self.name}"

    def level_labels(self) -> dict[int, str]:
        """gamma value -> label: the null level is -1, then 0, 1 … in YAML order (0 = strongest)."""
        out, i = {}, 0
        for lv in self.levels:
            if lv.is_null:
                out[-1] = lv.label
            else:
                out[i] = lv.label
                i += 1
        return out

    def gamma_of(self, label: str) -> int:
        return {v: k for k, v in self.level_labels().items()}[label]


class CannotLink(_Strict):
    """A match pair meeting ``sql`` is cut before clustering (cluster.py). ``sql`` reads l./r.
    record columns and ``level_is('<comparison>', '<level label>')``."""

    name: str
    description: str = ""
    sql: str


_LEVEL_IS = re.compile(r"level_is\(\s*'([a-z0-9_]+)'\s*,\s*'([a-z0-9_]+)'\s*\)")


class MatchingConfig(_Strict):
    version: int
    settings: Settings = Field(default_factory=Settings)
    record_columns: dict[str, str] = Field(default_factory=dict)  # derived once per record
    frequencies: list[Frequency] = Field(default_factory=list)
    lookalike_characters: list[str] = Field(default_factory=list)
    blocking: list[BlockingRule] = Field(min_length=1)
    comparisons: list[Comparison] = Field(min_length=1)
    cannot_link: list[CannotLink] = Field(default_factory=list)

    def level_test(self, sql: str) -> str:
        """``level_is('name', 'different')`` -> ``g.gamma_name = 8`` (g: the gamma row of the pair)."""
        def swap(m: re.Match) -> str:
            comp = self.comparison(m.group(1))
            return f"g.{comp.column} = {comp.gamma_of(m.group(2))}"
        return _LEVEL_IS.sub(swap, sql)

    def skipped_pairs_sample(self, n_records: int) -> int:
        """One in how many of the pairs pair_where skips the training sample holds."""
        s = self.settings
        return max(1, min(s.skipped_pairs_sample_max, n_records // s.skipped_pairs_sample_per))

    def max_block_size(self, rule: BlockingRule) -> int:
        return rule.max_block_size or self.settings.default_max_block_size

    def rule(self, name: str) -> BlockingRule:
        return next(r for r in self.blocking if r.name == name)

    def comparison(self, name: str) -> Comparison:
        return next(c for c in self.comparisons if c.name == name)

    @cached_property
    def macros(self) -> dict[str, dialect.Function]:
        """Config-dependent logical functions (the look-alike table, the blocking rules' bits)."""
        return {"lookalike_key": dialect.lookalike_macro(self.lookalike_characters),
                "blocked_by": dialect.blocked_by_macro([r.name for r in self.blocking])}

    def render(self, sql: str, dialect_name: str = "duckdb") -> str:
        return dialect.render(sql, dialect_name, self.macros)

    # --- what the matcher needs of each record --------------------------------------
    def base_columns(self) -> list[str]:
        """Columns of the standard record the matcher reads (besides record_uid)."""
        return self._columns_read(record_columns=True)

    def carried_columns(self) -> list[str]:
        """The base columns match_records keeps: those the rules, levels, frequencies and
        cannot-link rules read. A column only a record column reads (``attributes`` for the
        family role, ``file`` and ``line_no`` for the delivery row …) is read to compute it and
        not copied into the narrow table (2.2M rows at 1M residents)."""
        return self._columns_read(record_columns=False)

    def _columns_read(self, record_columns: bool) -> list[str]:
        """Record columns read by the rules, levels and cannot-link rules, then (``record_columns``)
        by the derived record columns, then by the frequencies and the local partition."""
        derived = set(self.record_columns) | {f.name for f in self.frequencies}
        cols: dict[str, None] = {}
        for sql in self._record_level_sql():
            for c in _columns(dialect.parse(sql)):
                if c.name not in derived and c.table != "g":
                    cols[c.name] = None
        if record_columns:
            for sql in self.record_columns.values():
                for c in _columns(dialect.parse(sql)):
                    cols[c.name] = None
        for f in self.frequencies:
            for name in (f.of, f.distinct):
                if name and name not in derived:
                    cols[name] = None
        if self.settings.local_partition:
            cols[self.settings.local_partition] = None
        cols.pop("record_uid", None)
        return list(cols)

    def _record_level_sql(self) -> list[str]:
        out = []
        for r in self.blocking:
            if r.path is not None:
                out += [r.where] + [k for h in r.path for k in h.keys] + [h.where for h in r.path if h.where]
                continue
            for side in r.sides():
                out += side.keys + ([side.where] if side.where else [])
            out += [r.pair_where] if r.pair_where else []
        for c in self.comparisons:
            out += [lv.sql for lv in c.levels if lv.sql]
        out += [self.level_test(c.sql) for c in self.cannot_link]
        return out


def _columns(tree: exp.Expression) -> list[exp.Column]:
    # Lambda parameters (i -> …) parse as columns too; they are not record columns.
    lambda_vars = {str(p.name) for lam in tree.find_all(exp.Lambda) for p in lam.expressions}
    return [c for c in tree.find_all(exp.Column) if not (not c.table and c.name in lambda_vars)]


def _name_problems(where: str, kind: str, name: str, names: list[str]) -> list[str]:
    """A rule's or a comparison's name: lower_snake_case and used once among its kind."""
    out = []
    if not _NAME.fullmatch(name):
        out.append(f"{where}: {kind} names are lower_snake_case")
    if names.count(name) > 1:
        out.append(f"{where}: {kind} name used twice")
    return out


def _problems(cfg: MatchingConfig) -> list[str]:
    out: list[str] = []
    known = set(elements.all_elements()) | {"record_uid", "id_number_raw"}
    derived = set(cfg.record_columns) | {f.name for f in cfg.frequencies}
    columns = known | derived
    macros = cfg.macros

    def check_sql(where: str, sql: str, qualified: bool, gamma: bool = False, allowed: set[str] = columns) -> None:
        """qualified: l./r. columns (levels); gamma: g.gamma_* columns allowed too (cannot_link);
        allowed: the column names it may read."""
        try:
            tree = dialect.parse(sql)
        except dialect.RenderError as e:
            out.append(f"{where}: {e}")
            return
        out.extend(f"{where}: {p}" for p in dialect.check(tree, macros))
        for col in _columns(tree):
            table = col.table
            if gamma and table == "g" and col.name in {c.column for c in cfg.comparisons}:
                continue
            if qualified and table not in ("l", "r"):
                out.append(f"{where}: column {col.sql()!r} must be qualified as l.{col.name} or r.{col.name}")
            elif not qualified and table:
                out.append(f"{where}: column {col.sql()!r} must not be qualified (keys are per record)")
            if col.name not in allowed:
                out.append(f"{where}: unknown column {col.name!r}")

    for name in [*cfg.record_columns, *(f.name for f in cfg.frequencies)]:
        if not _NAME.fullmatch(name):
            out.append(f"record column {name!r}: use lower_snake_case")
        if name in known:
            out.append(f"record column {name!r} shadows a column of the standard record")
    for name, sql in cfg.record_columns.items():
        # derived columns are computed from the standard record only
        check_sql(f"record_columns.{name}", sql, qualified=False, allowed=known)
    for f in cfg.frequencies:
        for c in (f.of, f.distinct):
            if c and c not in columns:
                out.append(f"frequencies.{f.name}: unknown column {c!r}")
    if cfg.settings.local_partition and cfg.settings.local_partition not in columns:
        out.append(f"settings.local_partition: unknown column {cfg.settings.local_partition!r}")

    seen: dict[str, int] = {}
    for group in cfg.lookalike_characters:
        if len(group) < 2 or len(set(group)) != len(group):
            out.append(f"lookalike_characters {group!r}: a group is two or more different characters")
        for ch in group:
            seen[ch] = seen.get(ch, 0) + 1
    for ch, n in seen.items():
        if n > 1:
            out.append(f"lookalike_characters: {ch!r} is in {n} groups (merge them)")

    names = [r.name for r in cfg.blocking]
    for r in cfg.blocking:
        where = f"blocking.{r.name}"
        out += _name_problems(where, "rule", r.name, names)
        if r.path is not None:
            check_sql(f"{where}.where", r.where, qualified=False)
            for i, hop in enumerate(r.path):
                for key in hop.keys:
                    check_sql(f"{where}.path.{i}.keys", key, qualified=False)
                if hop.where:
                    check_sql(f"{where}.path.{i}.where", hop.where, qualified=False)
            continue
        left, right = r.sides()
        for side_name, side in (("left", left), ("right", right)) if not r.symmetric else (("", left),):
            w = f"{where}.{side_name}" if side_name else where
            for key in side.keys:
                check_sql(f"{w}.keys", key, qualified=False)
            if side.where:
                check_sql(f"{w}.where", side.where, qualified=False)
        if r.pair_where:
            check_sql(f"{where}.pair_where", r.pair_where, qualified=True)
    if len(cfg.blocking) > 62:
        out.append("blocking: at most 62 rules (pairs carry a bit per rule)")

    cnames = [c.name for c in cfg.comparisons]
    for c in cfg.comparisons:
        where = f"comparisons.{c.name}"
        out += _name_problems(where, "comparison", c.name, cnames)
        if not c.levels[0].is_null or sum(lv.is_null for lv in c.levels) != 1:
            out.append(f"{where}: exactly one null level, and it comes first")
        if not c.levels[-1].is_else or sum(lv.is_else for lv in c.levels) != 1:
            out.append(f"{where}: exactly one else level, and it comes last")
        labels = [lv.label for lv in c.levels]
        for lab in sorted({x for x in labels if labels.count(x) > 1}):
            out.append(f"{where}: level label {lab!r} used twice")
        for lv in c.levels:
            if lv.sql:
                check_sql(f"{where}.{lv.label}", lv.sql, qualified=True)
        for tf in c.term_frequencies:
            if tf not in {f.name for f in cfg.frequencies}:
                out.append(f"{where}: term frequency {tf!r} is not in `frequencies`")
    for cl in cfg.cannot_link:
        where = f"cannot_link.{cl.name}"
        for comp, label in _LEVEL_IS.findall(cl.sql):
            if comp not in cnames:
                out.append(f"{where}: level_is: unknown comparison {comp!r}")
            elif label not in cfg.comparison(comp).level_labels().values():
                out.append(f"{where}: level_is: {comp} has no level {label!r}")
        if not [p for p in out if p.startswith(where)]:
            check_sql(where, cfg.level_test(cl.sql), qualified=True, gamma=True)
    return out


def load_matching_config(path: Path | str | None = None, data: dict | None = None) -> MatchingConfig:
    """Load and check matching.yaml (or an already-parsed dict); every problem in one error."""
    where = str(path or MATCHING_YAML)
    if data is None:
        try:
            data = yaml.safe_load(Path(path or MATCHING_YAML).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as e:
            raise MatchingConfigError(f"{where}: cannot read YAML ({e.__class__.__name__}: {e})") from None
    try:
        cfg = MatchingConfig.model_validate(data)
    except ValidationError as e:
        lines = [f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}" for err in e.errors()]
        raise MatchingConfigError(f"{where}: {len(lines)} problem(s)\n  " + "\n  ".join(lines)) from None
    problems = _problems(cfg)
    if problems:
        raise MatchingConfigError(f"{where}: {len(problems)} problem(s)\n  " + "\n  ".join(problems))
    return cfg
