"""The one place with engine-specific SQL: logical function name -> DuckDB and Spark SQL.

matching.yaml writes conditions in plain SQL plus the logical functions of
``FUNCTIONS`` (``char_similarity(l.name_key, r.name_key) >= 0.66``). ``render``
parses such text with SQLGlot, replaces every logical call by the engine's
template and prints the tree in that engine's dialect. Everything else in the
matcher is dialect-neutral SQL text, so moving to Spark means filling in the
second column of this table, nothing more.

Templates take ``{0}``, ``{1}`` … for the (already rendered) arguments.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlglot
from sqlglot import exp

from shiyou.matching.similarity import UDF_NAME

DIALECTS = ("duckdb", "spark")


@dataclass(frozen=True)
class Function:
    arity: int
    duckdb: str
    spark: str
    doc: str


# Plain SQL that reads the same in DuckDB and Spark: one template for both engines.
_SIMILAR_AT_LEAST = (
    "((greatest(length({0}), length({1})) * (1 - {2}) >= 2 OR greatest(length({0}), length({1})) < 3"
    " OR left({0}, 2) = left({1}, 2) OR right({0}, 2) = right({1}, 2)"
    " OR (left({0}, 1) = left({1}, 1) AND right({0}, 1) = right({1}, 1)))"
    f" AND {UDF_NAME}({{0}}, {{1}}) >= {{2}})")

FUNCTIONS: dict[str, Function] = {
    # Per-character similarity: a UDF registered under the same name in every engine
    # (similarity.register for DuckDB, a pandas UDF at the city tier). Never DuckDB's
    # byte-based levenshtein/jaro on Chinese.
    "char_similarity": Function(
        2, f"{UDF_NAME}({{0}}, {{1}})", f"{UDF_NAME}({{0}}, {{1}})",
        "1 - edit distance / longer length, per code point; null if either side is null"),
    # The same test with a cheap pre-test in plain SQL, so the UDF runs on few pairs. Where the
    # threshold allows at most one edit (longer length × (1 - t) < 2), two strings one of which has
    # 3+ characters and that meet it agree on their first two, their last two, or their first and
    # last characters (one substitution, insertion or deletion leaves one of those intact); most
    # candidate pairs of different people, often of one family and surname, fail that. The same
    # answer as char_similarity(a, b) >= t for every input (tests/unit/matching/test_dialect.py).
    # The saving needs a CASE branch (every level is one): there DuckDB runs an AND's second half
    # only for rows its first half passed; in a plain SELECT list it runs both on every row.
    "char_similarity_at_least": Function(
        3, _SIMILAR_AT_LEAST, _SIMILAR_AT_LEAST,
        "char_similarity(a, b) >= t, the UDF only for pairs that can meet t"),
    # Number of positions whose characters differ; null unless both have the same, non-zero length.
    "chars_differ": Function(
        2,
        "CASE WHEN length({0}) = length({1}) AND length({0}) > 0 THEN array_length(list_filter("
        "range(1, length({0}) + 1), i -> substr({0}, i, 1) <> substr({1}, i, 1))) END",
        "CASE WHEN length({0}) = length({1}) AND length({0}) > 0 THEN size(filter("
        "sequence(1, length({0})), i -> substr({0}, i, 1) <> substr({1}, i, 1))) END",
        "positions with different characters (same length only)"),
    # Two different adjacent characters swapped, everything else equal (13/31 typed the wrong way round).
    "adjacent_swap": Function(
        2,
        "(length({0}) = length({1}) AND length({0}) > 1 AND {0} <> {1} AND array_length(list_filter("
        "range(1, length({0}) + 1), i -> substr({0}, i, 1) <> substr({1}, i, 1))) = 2 AND array_length("
        "list_filter(range(1, length({0})), i -> substr({0}, i, 1) = substr({1}, i + 1, 1) AND "
        "substr({0}, i + 1, 1) = substr({1}, i, 1) AND substr({0}, i, 1) <> substr({0}, i + 1, 1))) = 1)",
        "(length({0}) = length({1}) AND length({0}) > 1 AND {0} <> {1} AND size(filter("
        "sequence(1, length({0})), i -> substr({0}, i, 1) <> substr({1}, i, 1))) = 2 AND size("
        "filter(sequence(1, length({0}) - 1), i -> substr({0}, i, 1) = substr({1}, i + 1, 1) AND "
        "substr({0}, i + 1, 1) = substr({1}, i, 1) AND substr({0}, i, 1) <> substr({0}, i + 1, 1))) = 1)",
        "true when the strings differ by one swap of two adjacent, different characters"),
    "year_month": Function(1, "strftime({0}, '%Y-%m')", "date_format({0}, 'yyyy-MM')",
                           "date as YYYY-MM"),
    "date_digits": Function(1, "strftime({0}, '%Y%m%d')", "date_format({0}, 'yyyyMMdd')",
                            "date as YYYYMMDD (for digit-level typo tests)"),
    "days_between": Function(2, "date_diff('day', {0}, {1})", "datediff({1}, {0})",
                             "days from the first date to the second"),
    "json_text": Function(2, "json_extract_string({0}, {1})", "get_json_object({0}, {1})",
                          "text at a JSON path ('$.role')"),
    # Name parts in a fixed order: 热合曼·阿卜杜 and 阿卜杜·热合曼 give the same value.
    "sorted_parts": Function(
        1, "array_to_string(list_sort(string_split_regex({0}, '[· ]+')), '·')",
        "array_join(array_sort(split({0}, '[· ]+')), '·')",
        "parts split on · or space, sorted, joined with ·"),
    # Engine-independent digest: hash() differs between engines and releases, md5 does not,
    # so samples and partitions drawn with it are the same on DuckDB and Spark.
    "key_digest": Function(1, "md5({0})", "md5({0})", "md5 hex digest of a text value"),
}

# Functions a condition may not call directly: they count UTF-8 bytes, not characters.
# Compared without underscores: SQLGlot spells jaro_winkler_similarity JAROWINKLER_SIMILARITY.
FORBIDDEN = {"levenshtein", "damerau_levenshtein", "jaro_similarity", "jaro_winkler_similarity",
             "jaccard", "editdist3", "hamming", "mismatches"}
_FORBIDDEN_KEYS = {f.replace("_", "") for f in FORBIDDEN}

# Spark built-ins (or our UDFs) that SQLGlot does not model and leaves anonymous.
SPARK_ANONYMOUS_OK = {UDF_NAME.upper()}


class RenderError(ValueError):
    """An expression cannot be rendered: unparseable, a wrong arity, a forbidden function."""


def _function_name(node: exp.Expression) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.this).lower()
    return node.sql_name().lower() if isinstance(node, exp.Func) else ""


def parse(sql: str) -> exp.Expression:
    """Parse a condition or expression as written in matching.yaml (DuckDB syntax)."""
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except sqlglot.errors.ParseError as e:
        raise RenderError(f"cannot parse {sql!r}: {str(e).splitlines()[0]}") from None
    if tree is None:
        raise RenderError(f"empty expression {sql!r}")
    return tree


def check(tree: exp.Expression, macros: dict[str, Function] | None = None) -> list[str]:
    """Problems with the functions an expression calls (arity, byte-based similarity)."""
    known = {**FUNCTIONS, **(macros or {})}
    out = []
    for node in tree.find_all(exp.Func):
        name = _function_name(node)
        if name.replace("_", "") in _FORBIDDEN_KEYS:
            out.append(f"{name}() counts UTF-8 bytes, not characters: use char_similarity()")
        elif isinstance(node, exp.Anonymous):
            if name not in known:
                out.append(f"unknown function {name}() (logical functions: {', '.join(sorted(known))})")
            elif len(node.expressions) != known[name].arity:
                out.append(f"{name}() takes {known[name].arity} argument(s), got {len(node.expressions)}")
    return out


def _substitute(tree: exp.Expression, dialect: str, known: dict[str, Function]) -> exp.Expression:
    def swap(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Anonymous) and str(node.this).lower() in known:
            fn = known[str(node.this).lower()]
            if len(node.expressions) != fn.arity:
                raise RenderError(f"{node.this}() takes {fn.arity} argument(s)")
            args = [a.sql(dialect=dialect) for a in node.expressions]
            template = getattr(fn, dialect)
            return sqlglot.parse_one(template.format(*args), read=dialect)
        return node

    # Bottom-up: a call's arguments are substituted before the call itself is rendered.
    return _bottom_up(tree, swap)


def _bottom_up(tree: exp.Expression, fn) -> exp.Expression:
    for key, value in list(tree.args.items()):
        if isinstance(value, exp.Expression):
            tree.set(key, _bottom_up(value, fn))
        elif isinstance(value, list):
            tree.set(key, [_bottom_up(v, fn) if isinstance(v, exp.Expression) else v for v in value])
    return fn(tree)


def render(sql: str | exp.Expression, dialect: str = "duckdb",
           macros: dict[str, Function] | None = None) -> str:
    """SQL text of an expression for one engine, logical functions replaced."""
    if dialect not in DIALECTS:
        raise RenderError(f"unknown dialect {dialect!r}")
    tree = parse(sql) if isinstance(sql, str) else sql.copy()
    problems = check(tree, macros)
    if problems:
        raise RenderError("; ".join(problems))
    return _substitute(tree, dialect, {**FUNCTIONS, **(macros or {})}).sql(dialect=dialect)


def lookalike_macro(groups: list[str]) -> Function:
    """``lookalike_key(x)``: every character of a look-alike group replaced by the group's first.

    己/已/巳 → 己: two names equal under this key differ only by characters that look alike.
    ``translate`` is character-based and standard in both engines, but DuckDB rebuilds its
    map for every row (cost ∝ length of the map): a regular-expression test first lets
    only the names holding a character to replace pay for it — list the common character
    of a group first.
    """
    src = "".join(g[1:] for g in groups)
    dst = "".join(g[0] * (len(g) - 1) for g in groups)
    src_lit, dst_lit = (s.replace("'", "''") for s in (src, dst))
    fold = f"translate({{0}}, '{src_lit}', '{dst_lit}')"
    return Function(
        1,
        f"CASE WHEN regexp_matches({{0}}, '[{src_lit}]') THEN {fold} ELSE {{0}} END",
        f"CASE WHEN {{0}} RLIKE '[{src_lit}]' THEN {fold} ELSE {{0}} END",
        "name with look-alike characters folded")


def blocked_by_macro(rule_names: list[str]) -> Function:
    """``blocked_by('rule')``: the candidate pair was produced by that blocking rule.

    Reads the pair's bit mask ``p.rules`` (blocking.pairs_sql: bit i = i-th rule), so a level
    can use how a pair was found — a husband reached through his wife's police household is
    evidence no single column carries. Random pairs have no bits.
    """
    bits = " ".join(f"WHEN '{n}' THEN {1 << i}" for i, n in enumerate(rule_names))
    template = f"(p.rules & CASE {{0}} {bits} ELSE 0 END) <> 0"
    return Function(1, template, template, "the pair was produced by this blocking rule")
