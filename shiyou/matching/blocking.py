"""Blocking: candidate pairs as SQL generated from the rules in matching.yaml.

Statements (each one SQL text, for DuckDB or Spark):

1. ``records_sql``: a narrow ``match_records`` table — the columns the rules and
   comparisons read, the derived ``record_columns`` and the term frequencies.
2. ``rule_sql`` per rule: ``(record_no_l, record_no_r, rule, skipped)``, no_l < no_r
   (record_no: the record's place in record_uid order, see ``records_sql``).
   Blocks (one key value) above the rule's max size are not expanded. A rule's
   ``pair_where`` makes candidates only of the pairs of a block that meet it; of the others,
   a sample (one in ``MatchingConfig.skipped_pairs_sample``) comes out marked ``skipped``:
   never scored, but compared for training (``skipped_sql``, train.py), so that EM estimates
   m, u and λ over what the rules find, as if nothing had been skipped.
3. ``oversize_sql`` per rule: the skipped blocks and their sizes (keys are masked
   in Python before they leave ``run_blocking``).
4. ``pairs_sql``: the union of all rules, one row per pair, the first rule that
   produced it kept (and a bit mask of every rule that did).

``run_blocking`` executes them on a DuckDB connection and reports pair counts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from shiyou.matching.model import BlockingRule, MatchingConfig
from shiyou.sql import literal, quote_ident


@dataclass(frozen=True)
class Tables:
    """Where the matcher reads and writes (dotted names allowed: ``wh.source_records``)."""

    records: str = "source_records"
    match_records: str = "match_records"
    rule_pairs: str = "match_pairs_by_rule"
    pairs: str = "match_pairs"
    gamma: str = "match_gamma"
    skipped_pairs: str = "match_skipped_pairs"  # the training sample of pairs pair_where skipped


def qname(name: str) -> str:
    return ".".join(quote_ident(p) for p in name.split("."))


@dataclass(frozen=True)
class Statement:
    name: str  # e.g. "blocking.rule.phone"
    sql: str


# --- 1. match_records ------------------------------------------------------------------
def records_sql(cfg: MatchingConfig, tables: Tables = Tables(), dialect: str = "duckdb") -> str:
    """SELECT of the narrow per-record table: the columns the rules and levels read, derived
    columns, frequencies."""
    cols = ["record_uid", *cfg.carried_columns()]
    src = qname(tables.records)

    def expr(column: str) -> str:  # a column of the records, or a derived one, over the records
        if column in cfg.record_columns:
            return f"({cfg.render(cfg.record_columns[column], dialect)})"
        return f"r.{quote_ident(column)}"

    select = ["n.record_no", *(quote_ident(c) if c == "record_uid" else f"r.{quote_ident(c)}" for c in cols)]
    select += [f"{cfg.render(sql, dialect)} AS {quote_ident(name)}" for name, sql in cfg.record_columns.items()]
    # record_no: the record's place in record_uid order. Every pair, edge and label joins on it
    # (an integer joins and groups several times faster than the text key), and because it keeps
    # record_uid's order, "uid_l < uid_r" and "the smallest record names the cluster" still hold.
    # Numbered over the key alone: a window over the whole record would carry every column.
    ctes = [f"nums AS (SELECT record_uid, row_number() OVER (ORDER BY record_uid) AS record_no FROM {src})"]
    joins, outs = ["JOIN nums AS n USING (record_uid)"], []
    # The frequencies are counted over the records themselves (narrow scans) and joined in the
    # same pass that builds the row: counting them over the built table and joining back
    # copied every wide row a second time (twice the time at 1M residents).
    # One aggregation and one join per counted column, however many frequencies it has.
    by_column: dict[str, list] = {}
    for f in cfg.frequencies:
        by_column.setdefault(f.of, []).append(f)
    for i, (column, freqs) in enumerate(by_column.items()):
        of = expr(column)
        counts = ", ".join(f"{f'count(DISTINCT {expr(f.distinct)})' if f.distinct else 'count(*)'} AS __n{j}"
                           for j, f in enumerate(freqs))
        ctes.append(f"f{i} AS (SELECT {of} AS __v, {counts} FROM {src} AS r WHERE {of} IS NOT NULL GROUP BY {of})")
        joins.append(f"LEFT JOIN f{i} ON {of} = f{i}.__v")
        outs += [f"f{i}.__n{j} AS {quote_ident(f.name)}" for j, f in enumerate(freqs)]
    return (f"WITH {', '.join(ctes)} SELECT {', '.join(select + outs)} FROM {src} AS r "
            + " ".join(joins))


# --- 2. one rule -------------------------------------------------------------------------
def _render_keys(cfg: MatchingConfig, rule: BlockingRule, keys: list[str], dialect: str) -> list[str]:
    out = [cfg.render(k, dialect) for k in keys]
    if rule.scope == "local" and cfg.settings.local_partition:
        out.append(quote_ident(cfg.settings.local_partition))
    return out


def _keyed_sql(cfg: MatchingConfig, rule: BlockingRule, keys: list[str], where: str | None,
               tables: Tables, dialect: str, carry: list[str] = ()) -> str:
    """record_no, k0, k1 … of the records meeting ``where``, no key null; plus the ``carry``
    columns (what the rule's ``pair_where`` reads of each side)."""
    rendered = _render_keys(cfg, rule, keys, dialect)
    cond = f" WHERE {cfg.render(where, dialect)}" if where else ""
    inner = ", ".join([quote_ident("record_no"), *(f"{k} AS k{i}" for i, k in enumerate(rendered)),
                       *(quote_ident(c) for c in carry)])
    not_null = " AND ".join(f"k{i} IS NOT NULL" for i in range(len(rendered)))
    # Keys are computed in a subquery so that the outer WHERE can name them.
    return f"SELECT * FROM (SELECT {inner} FROM {qname(tables.match_records)}{cond}) AS s WHERE {not_null}"


def _expand_sql(rule: BlockingRule, base: str) -> str:
    """Every key one substitution (over the alphabet) or one adjacent swap away, and the key itself.

    Generated relationally (VALUES tables of positions and characters) so that it is plain
    SQL in every engine; ~ length × (alphabet - 1) + length rows per record, which is why
    only the records that need it (a failed or computed check) are expanded.
    """
    ex = rule.left.expand
    n = ex.length
    positions = ", ".join(f"({p})" for p in range(1, n + 1))
    swaps = ", ".join(f"({p})" for p in range(1, n))
    chars = ", ".join(f"({literal(c)})" for c in ex.alphabet)
    keep = f"length(k0) = {n}"
    return (
        f"SELECT record_no, k0 FROM ({base}) AS b0 "
        f"UNION ALL SELECT record_no, substr(k0, 1, p - 1) || c || substr(k0, p + 1) AS k0 "
        f"FROM ({base}) AS b1 CROSS JOIN (VALUES {positions}) AS pos(p) "
        f"CROSS JOIN (VALUES {chars}) AS alpha(c) WHERE {keep} AND substr(k0, p, 1) <> c "
        f"UNION ALL SELECT record_no, substr(k0, 1, p - 1) || substr(k0, p + 1, 1) || substr(k0, p, 1) "
        f"|| substr(k0, p + 2) AS k0 FROM ({base}) AS b2 CROSS JOIN (VALUES {swaps}) AS pos(p) "
        f"WHERE {keep} AND substr(k0, p, 1) <> substr(k0, p + 1, 1)"
    )


def _sides(cfg: MatchingConfig, rule: BlockingRule, tables: Tables, dialect: str) -> tuple[str, str, int]:
    left, right = rule.sides()
    nkeys = len(_render_keys(cfg, rule, left.keys, dialect))
    carry = rule.pair_columns()
    lsql = _keyed_sql(cfg, rule, left.keys, left.where, tables, dialect, carry)
    if rule.shape == "asymmetric" and left.expand is not None:
        lsql = _expand_sql(rule, lsql)
    rsql = lsql if rule.symmetric else _keyed_sql(cfg, rule, right.keys, right.where, tables, dialect, carry)
    return lsql, rsql, nkeys


def _key_cols(n: int, prefix: str = "") -> str:
    return ", ".join(f"{prefix}k{i}" for i in range(n))


def _kept(side_sql: str, big: str, n: int) -> str:
    """The side's rows whose key is not an oversized block (LEFT JOIN … IS NULL: portable anti-join)."""
    on = " AND ".join(f"b.k{i} = k.k{i}" for i in range(n))
    return f"SELECT k.* FROM ({side_sql}) AS k LEFT JOIN {big} AS b ON {on} WHERE b.k0 IS NULL"


def _big(sides: list[str], n: int, limit: int, sizes: bool = False) -> str:
    """Keys whose block (records of every side with that key) is over the limit (and, with
    ``sizes``, the block's size). A hash aggregate then an anti-join: cheaper than a window
    count over every keyed record."""
    keys = _key_cols(n)
    union = " UNION ALL ".join(f"SELECT {keys} FROM ({s}) AS s{i}" for i, s in enumerate(sides))
    size = ", count(*) AS block_size" if sizes else ""
    return f"SELECT {keys}{size} FROM ({union}) AS u GROUP BY {keys} HAVING count(*) > {limit}"


def _path_ctes(cfg: MatchingConfig, rule: BlockingRule, tables: Tables, dialect: str) -> tuple[list[str], list[int]]:
    """CTEs p0 … pN: (start_no, cur) after each hop; f_i / t_i the from- and to-keys of hop i,
    s_i the keys each start has reached.

    A hop's block is the set of records with one key value meeting the hop's ``where``;
    a block over the rule's max size is not followed (a shared landline, a big household).
    """
    limit = cfg.max_block_size(rule)
    ctes = [f"p0 AS (SELECT record_no AS start_no, record_no AS cur FROM {qname(tables.match_records)} "
            f"WHERE {cfg.render(rule.where, dialect)})"]
    widths = []
    for i, hop in enumerate(rule.path, start=1):
        n = len(_render_keys(cfg, rule, hop.keys, dialect))
        widths.append(n)
        on = " AND ".join(f"t.k{j} = f.k{j}" for j in range(n))
        to = _keyed_sql(cfg, rule, hop.keys, hop.where, tables, dialect)
        ctes.append(f"f{i} AS ({_keyed_sql(cfg, rule, hop.keys, None, tables, dialect)})")
        ctes.append(f"t{i} AS (SELECT * FROM ({to}) AS t0 LEFT JOIN (SELECT {_key_cols(n)}, count(*) AS n "
                    f"FROM ({to}) AS t1 GROUP BY {_key_cols(n)}) AS c USING ({_key_cols(n)}))")
        # The start and the keys it has reached, first (DISTINCT: also a fence the join
        # optimiser does not reorder across): with the three relations in one join, a bad
        # cardinality estimate once paired every target with every start on the inequality
        # below (a nested-loop join of 478M rows, 130 s at 100k residents, instead of 0.03 s).
        ctes.append(f"s{i} AS (SELECT DISTINCT p.start_no, {_key_cols(n, 'f.')} FROM p{i - 1} AS p "
                    f"JOIN f{i} AS f ON f.record_no = p.cur)")
        ctes.append(f"p{i} AS (SELECT DISTINCT f.start_no, t.record_no AS cur FROM s{i} AS f "
                    f"JOIN t{i} AS t ON {on} WHERE t.n <= {limit} AND t.record_no <> f.start_no)")
    return ctes, widths


def _block_sides(rule: BlockingRule) -> list[str]:
    if rule.left is not None and rule.left.expand is not None:
        return ["SELECT * FROM kr"]
    return ["SELECT * FROM kl", "SELECT * FROM kr"]


def blocks_over_sql(cfg: MatchingConfig, rule: BlockingRule, tables: Tables = Tables(),
                    dialect: str = "duckdb") -> str:
    """The oversized blocks of a one-step rule: (k0 … kN, block_size). run_blocking materialises
    it once and both skips (rule_sql's ``blocks_over``) and reports those blocks."""
    lsql, rsql, n = _sides(cfg, rule, tables, dialect)
    if rule.symmetric:
        sides = [lsql]
    elif rule.left.expand is not None:  # expanded left keys are probes: the block is the right side
        sides = [rsql]
    else:
        sides = [lsql, rsql]
    return _big(sides, n, cfg.max_block_size(rule), sizes=True)


def sample_sql(lo: str, hi: str, one_in: int) -> str:
    """True for one pair in ``one_in``, decided by the pair's two record numbers alone.

    Multiplicative hashing in 64-bit integers (the numbers of a city's records stay far below
    overflow): the same pairs in every engine, no engine-specific hash function, and no
    pattern from record numbers that run on within a household (which a plain modulo of
    their difference would follow)."""
    return (f"(({lo} * 2654435761 + {hi} * 2246822519) % 4294967296) < {(1 << 32) // max(one_in, 1)}")


def rule_sql(cfg: MatchingConfig, rule: BlockingRule, tables: Tables = Tables(),
             dialect: str = "duckdb", blocks_over: str | None = None, skip_sample: int | None = None) -> str:
    """Pairs of one rule: (record_no_l, record_no_r, rule, skipped) with no_l < no_r; ``skipped``:
    turned away by the rule's ``pair_where``, in the training sample (see the module's doc).

    blocks_over: a table of the rule's oversized blocks (blocks_over_sql) to skip, instead of
    finding them inside the statement (the single-statement form, e.g. for Spark).
    skip_sample: the sample holds one in this many skipped pairs (default: the most sampling).
    """
    name = literal(rule.name)
    limit = cfg.max_block_size(rule)
    if rule.shape == "path":
        ctes, _ = _path_ctes(cfg, rule, tables, dialect)
        last = f"p{len(rule.path)}"
        return (f"WITH {', '.join(ctes)} SELECT DISTINCT least(start_no, cur) AS record_no_l, "
                f"greatest(start_no, cur) AS record_no_r, {name} AS rule, FALSE AS skipped FROM {last}")
    lsql, rsql, n = _sides(cfg, rule, tables, dialect)
    on = " AND ".join(f"l.k{i} = r.k{i}" for i in range(n))
    skipped = "FALSE"
    if rule.pair_where:
        lo, hi = (("l.record_no", "r.record_no") if rule.symmetric
                  else ("least(l.record_no, r.record_no)", "greatest(l.record_no, r.record_no)"))
        kept = f"coalesce(({cfg.render(rule.pair_where, dialect)}), FALSE)"
        one_in = skip_sample or cfg.settings.skipped_pairs_sample_max
        on += f" AND ({kept} OR {sample_sql(lo, hi, one_in)})"
        skipped = f"NOT {kept}"
    given = f"SELECT {_key_cols(n)} FROM {qname(blocks_over)}" if blocks_over else None
    if rule.symmetric:
        return (f"WITH k AS ({lsql}), big AS ({given or _big(['SELECT * FROM k'], n, limit)}), "
                f"kept AS ({_kept('SELECT * FROM k', 'big', n)}) "
                f"SELECT l.record_no AS record_no_l, r.record_no AS record_no_r, {name} AS rule, "
                f"{skipped} AS skipped FROM kept AS l JOIN kept AS r ON {on} AND l.record_no < r.record_no")
    # Asymmetric: a block's size is its left records plus its right records — except when
    # the left is expanded: its variants are probes, the block is the right records alone.
    return (f"WITH kl AS ({lsql}), kr AS ({rsql}), "
            f"big AS ({given or _big(_block_sides(rule), n, limit)}), "
            f"l2 AS ({_kept('SELECT * FROM kl', 'big', n)}), r2 AS ({_kept('SELECT * FROM kr', 'big', n)}) "
            f"SELECT DISTINCT least(l.record_no, r.record_no) AS record_no_l, "
            f"greatest(l.record_no, r.record_no) AS record_no_r, {name} AS rule, {skipped} AS skipped "
            f"FROM l2 AS l JOIN r2 AS r ON {on} AND l.record_no <> r.record_no")


def oversize_sql(cfg: MatchingConfig, rule: BlockingRule, tables: Tables = Tables(),
                 dialect: str = "duckdb") -> str:
    """Blocks of one rule over its max size: (rule, hop, key parts as text…, block_size), largest
    first — the same blocks rule_sql skips. Keys leave the engine only to be masked (run_blocking).
    For a path, the blocks of each hop's target records (hop 1, 2 …), whether reached or not."""
    limit = cfg.max_block_size(rule)
    name = literal(rule.name)
    if rule.shape == "path":
        widths = [len(_render_keys(cfg, rule, hop.keys, dialect)) for hop in rule.path]
        width = max(widths)
        parts = []
        for i, (hop, n) in enumerate(zip(rule.path, widths), start=1):
            keys = [f"CAST(k{j} AS VARCHAR) AS k{j}" for j in range(n)]
            keys += [f"CAST(NULL AS VARCHAR) AS k{j}" for j in range(n, width)]
            to = _keyed_sql(cfg, rule, hop.keys, hop.where, tables, dialect)
            parts.append(f"SELECT {i} AS hop, {', '.join(keys)}, count(*) AS block_size FROM ({to}) AS t{i} "
                         f"GROUP BY {_key_cols(n)} HAVING count(*) > {limit}")
        return (f"SELECT {name} AS rule, hop, {_key_cols(width)}, block_size FROM ("
                + " UNION ALL ".join(parts) + ") AS o ORDER BY block_size DESC")
    return (f"SELECT {name} AS rule, 0 AS hop, o.* FROM ({blocks_over_sql(cfg, rule, tables, dialect)}) AS o "
            f"ORDER BY block_size DESC")


# --- 3. the union ------------------------------------------------------------------------
def pairs_sql(cfg: MatchingConfig, tables: Tables = Tables(), dialect: str = "duckdb",
              from_rule_table: bool = True, skipped: bool = False) -> str:
    """One row per candidate pair: the first rule (in YAML order) that produced it, and
    ``rules``, the sum of 2^rule_no over every rule that did.

    from_rule_table: read the materialised per-rule pairs; else inline every rule statement
    (the single-statement form, e.g. for an engine that plans it as one job).
    skipped: the same over the skipped pairs of the training sample (see skipped_sql).
    """
    order = " ".join(f"WHEN {literal(r.name)} THEN {i}" for i, r in enumerate(cfg.blocking))
    names = " ".join(f"WHEN {i} THEN {literal(r.name)}" for i, r in enumerate(cfg.blocking))
    if from_rule_table:
        src = qname(tables.rule_pairs)
    else:
        src = "(" + " UNION ALL ".join(f"SELECT * FROM ({rule_sql(cfg, r, tables, dialect)}) AS r{i}"
                                       for i, r in enumerate(cfg.blocking)) + ")"
    # The first rule is found as the smallest rule number and named afterwards: an integer
    # aggregate, where arg_min(rule, rule_no) kept a text state per pair (at 1M residents 11.2M
    # rule pairs into 3.9M pairs: 1.2-1.4 against 1.4-1.9 CPU-seconds).
    return (f"SELECT record_no_l, record_no_r, CASE min(rule_no) {names} END AS rule, "
            f"CAST(sum(rule_bit) AS BIGINT) AS rules FROM ("
            f"SELECT record_no_l, record_no_r, rule, CASE rule {order} END AS rule_no, "
            f"CAST(power(2, CASE rule {order} END) AS BIGINT) AS rule_bit FROM {src} AS a "
            f"WHERE {'' if skipped else 'NOT '}a.skipped) AS t "
            f"GROUP BY record_no_l, record_no_r")


def skipped_sql(cfg: MatchingConfig, tables: Tables = Tables(), dialect: str = "duckdb",
                skip_sample: int | None = None) -> str:
    """The training sample of skipped pairs, one row per pair as pairs_sql gives it (rule, rules
    over the rules that skipped it) and ``stands_for``, how many skipped pairs it counts as in
    training; less the pairs another rule made candidates: those are scored, and EM sees them
    there."""
    one_in = skip_sample or cfg.settings.skipped_pairs_sample_max
    return (f"SELECT s.*, {int(one_in)} AS stands_for FROM ({pairs_sql(cfg, tables, dialect, skipped=True)}) AS s "
            f"LEFT JOIN {qname(tables.pairs)} AS c ON c.record_no_l = s.record_no_l AND c.record_no_r = s.record_no_r "
            f"WHERE c.record_no_l IS NULL")


def statements(cfg: MatchingConfig, tables: Tables = Tables(), dialect: str = "duckdb") -> list[Statement]:
    """Every blocking statement, in the order run_blocking runs them (SELECTs; the runner
    adds CREATE TABLE / INSERT)."""
    out = [Statement("blocking.records", records_sql(cfg, tables, dialect))]
    for r in cfg.blocking:
        out.append(Statement(f"blocking.rule.{r.name}", rule_sql(cfg, r, tables, dialect)))
        out.append(Statement(f"blocking.oversize.{r.name}", oversize_sql(cfg, r, tables, dialect)))
    out.append(Statement("blocking.pairs", pairs_sql(cfg, tables, dialect)))
    out.append(Statement("blocking.skipped_pairs", skipped_sql(cfg, tables, dialect)))
    out.append(Statement("blocking.pairs_one_statement", pairs_sql(cfg, tables, dialect, from_rule_table=False)))
    return out


# --- running on DuckDB ---------------------------------------------------------------------
@dataclass
class RuleReport:
    rule: str
    scope: str
    max_block_size: int
    pairs: int = 0  # pairs this rule produced
    first_pairs: int = 0  # pairs for which it is the first rule (new pairs)
    skipped_sampled: int = 0  # pairs its pair_where turned away that the training sample holds
    skipped_sample: int = 1  # … one in this many
    seconds: float = 0.0  # the pair statement
    check_seconds: float = 0.0  # the oversized-block report
    oversized_blocks: int = 0
    oversized_records: int = 0
    largest_blocks: list[tuple[str, int]] = field(default_factory=list)  # (masked key, size)

    @property
    def skipped_estimate(self) -> int:
        """Pairs of its blocks this rule's pair_where skipped, estimated from the training sample."""
        return self.skipped_sampled * self.skipped_sample


@dataclass
class BlockingReport:
    records: int
    pairs: int
    seconds: float  # everything below
    rules: list[RuleReport]
    records_seconds: float = 0.0  # match_records (derived columns, frequencies)
    union_seconds: float = 0.0

    def rule(self, name: str) -> RuleReport:
        return next(r for r in self.rules if r.rule == name)

    def lines(self) -> list[str]:
        out = [f"{self.records} records, {self.pairs} candidate pairs in {self.seconds:.2f} s "
               f"(match_records {self.records_seconds:.2f} s, union {self.union_seconds:.2f} s)"]
        for r in self.rules:
            skipped = (f"; {r.oversized_blocks} blocks over {r.max_block_size} skipped "
                       f"({r.oversized_records} records)" if r.oversized_blocks else "")
            if r.skipped_sampled:
                skipped += f"; ≈ {r.skipped_estimate} pairs skipped by pair_where"
            out.append(f"  {r.rule:<26} {r.scope:<6} {r.pairs:>9} pairs, {r.first_pairs:>9} new, "
                       f"{r.seconds:.2f} s (+{r.check_seconds:.2f} s block check){skipped}")
        return out


def mask_key(value) -> str:
    """A block key for a report: first character of each part, the rest starred."""
    if value is None:
        return "∅"
    s = str(value)
    return s if len(s) <= 1 else s[0] + "*" * (len(s) - 1)


BLOCKS_OVER = "match_blocks_over"  # one rule's oversized blocks, while that rule runs


def run(con, sql: str) -> None:
    """Execute one statement and finish its result (DuckDB 2.0 refuses other work until then)."""
    con.execute(sql).fetchall()


def scratch(con, name: str, sql: str) -> None:
    """Materialise an intermediate of the run as a TEMP table: held in memory (spilled to the
    run's temp directory under pressure), never compressed and written into the release
    database, dropped with the connection. At 1M residents this saves a third of the time
    a persistent table costs."""
    run(con, f"CREATE OR REPLACE TEMP TABLE {qname(name)} AS {sql}")


def run_blocking(con, cfg: MatchingConfig, tables: Tables = Tables()) -> BlockingReport:
    """Build match_records, the per-rule pairs and the candidate pairs on a DuckDB connection."""
    t0 = time.perf_counter()
    scratch(con, tables.match_records, records_sql(cfg, tables))
    records_seconds = time.perf_counter() - t0
    n_records = con.execute(f"SELECT count(*) FROM {qname(tables.match_records)}").fetchall()[0][0]
    skip_sample = cfg.skipped_pairs_sample(n_records)
    run(con, f"CREATE OR REPLACE TEMP TABLE {qname(tables.rule_pairs)} "
             f"(record_no_l BIGINT, record_no_r BIGINT, rule VARCHAR, skipped BOOLEAN)")
    reports = []
    top = max(cfg.settings.oversize_report_limit, 1)
    for rule in cfg.blocking:
        t = time.perf_counter()
        if rule.shape == "path":
            check_first, blocks_over, oversized = 0.0, None, f"({oversize_sql(cfg, rule, tables)})"
        else:
            # The oversized blocks are found once: the pair statement skips them, the report lists them.
            scratch(con, BLOCKS_OVER, blocks_over_sql(cfg, rule, tables))
            check_first, blocks_over = time.perf_counter() - t, BLOCKS_OVER
            oversized = f"(SELECT NULL AS rule, 0 AS hop, * FROM {qname(BLOCKS_OVER)})"
            t = time.perf_counter()
        run(con, f"INSERT INTO {qname(tables.rule_pairs)} "
                 f"{rule_sql(cfg, rule, tables, blocks_over=blocks_over, skip_sample=skip_sample)}")
        seconds = time.perf_counter() - t
        t = time.perf_counter()
        over = con.execute(f"SELECT *, count(*) OVER () AS n_blocks, sum(block_size) OVER () AS n_records "
                           f"FROM {oversized} AS o ORDER BY block_size DESC LIMIT {top}").fetchall()
        rep = RuleReport(rule.name, rule.scope, cfg.max_block_size(rule), seconds=seconds)
        # Only the largest few blocks' keys leave the engine, and only to be masked here.
        if over:
            rep.oversized_blocks, rep.oversized_records = over[0][-2], int(over[0][-1])
        rep.largest_blocks = [("|".join(mask_key(v) for v in row[2:-3] if v is not None), row[-3])  # keys: after rule, hop
                              for row in over[: cfg.settings.oversize_report_limit]]
        rep.check_seconds = check_first + time.perf_counter() - t
        reports.append(rep)
    run(con, f"DROP TABLE IF EXISTS {qname(BLOCKS_OVER)}")
    t = time.perf_counter()
    scratch(con, tables.pairs, pairs_sql(cfg, tables))
    scratch(con, tables.skipped_pairs, skipped_sql(cfg, tables, skip_sample=skip_sample))
    union_seconds = time.perf_counter() - t
    counts = {(rule, skipped): n for rule, skipped, n in con.execute(
        f"SELECT rule, skipped, count(*) FROM {qname(tables.rule_pairs)} GROUP BY ALL").fetchall()}
    firsts = dict(con.execute(f"SELECT rule, count(*) FROM {qname(tables.pairs)} GROUP BY rule").fetchall())
    for rep in reports:
        rep.pairs, rep.first_pairs = counts.get((rep.rule, False), 0), firsts.get(rep.rule, 0)
        rep.skipped_sampled, rep.skipped_sample = counts.get((rep.rule, True), 0), skip_sample
    n_pairs = con.execute(f"SELECT count(*) FROM {qname(tables.pairs)}").fetchall()[0][0]
    return BlockingReport(n_records, n_pairs, time.perf_counter() - t0, reports, records_seconds, union_seconds)
