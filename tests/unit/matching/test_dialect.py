"""The dialect table: every logical function gives the same answers in DuckDB as its definition,
renders for Spark, and nothing byte-based sneaks into a condition."""

from __future__ import annotations

import pytest
import sqlglot
from sqlglot import exp

from shiyou.matching import dialect, similarity

CASES = {
    "chars_differ": [(("440106199001011234", "440106199001011243"), 2), (("12345", "12355"), 1),
                     (("abc", "abc"), 0), (("ab", "abc"), None), (("", ""), None), ((None, "a"), None)],
    "adjacent_swap": [(("440106199001011234", "440106199001011243"), True), (("12345", "12355"), False),
                      (("1122", "1122"), False), (("1212", "2121"), False), (("张伟明", "张明伟"), True)],
    "char_similarity": [(("张伟", "张玮"), 0.5), (("李娜", "李娜"), 1.0)],
    "sorted_parts": [(("热合曼·阿卜杜",), "热合曼·阿卜杜"), (("阿卜杜·热合曼",), "热合曼·阿卜杜"),
                     (("PAUL KIM",), "KIM·PAUL")],
    "json_text": [(('{"role": "husband"}', "$.role"), "husband"), (('{"children": "1"}', "$.role"), None)],
}
DATE_CASES = {
    "year_month": [(("1985-03-14",), "1985-03")],
    "date_digits": [(("1985-03-04",), "19850304")],
    "days_between": [(("1985-03-04", "1985-03-14"), 10)],
}


def _eval(con, fn: str, args: tuple, casts: str | None = None):
    similarity.register(con)
    params = ", ".join(f"CAST(? AS {casts})" if casts else "?" for _ in args)
    sql = dialect.render(f"{fn}({', '.join(f'a{i}' for i in range(len(args)))})")
    cols = ", ".join(f"a{i}" for i in range(len(args)))
    return con.execute(f"SELECT {sql} FROM (SELECT {params}) AS t({cols})", list(args)).fetchall()[0][0]


@pytest.mark.parametrize("fn", sorted(CASES))
def test_text_functions_in_duckdb(duck, fn):
    for args, expected in CASES[fn]:
        got = _eval(duck, fn, args)
        assert got == (pytest.approx(expected) if isinstance(expected, float) else expected), (fn, args)


@pytest.mark.parametrize("fn", sorted(DATE_CASES))
def test_date_functions_in_duckdb(duck, fn):
    for args, expected in DATE_CASES[fn]:
        assert _eval(duck, fn, args, casts="DATE") == expected


def test_lookalike_macro_folds_to_the_group_head(duck):
    macro = dialect.lookalike_macro(["己已巳", "王玉"])
    sql = dialect.render("lookalike_key(v)", macros={"lookalike_key": macro})
    rows = duck.execute(f"SELECT {sql} FROM (VALUES ('王已明'), ('玉巳明'), ('张三')) t(v)").fetchall()
    assert [r[0] for r in rows] == ["王己明", "王己明", "张三"]


@pytest.mark.parametrize("name", sorted(dialect.FUNCTIONS))
def test_every_function_renders_for_both_engines(name):
    fn = dialect.FUNCTIONS[name]
    call = f"{name}({', '.join(f'c{i}' for i in range(fn.arity))})"
    spark = dialect.render(call, "spark")
    sqlglot.parse_one(spark, read="spark", error_level=sqlglot.ErrorLevel.RAISE)
    duck_sql = dialect.render(call, "duckdb")
    out = sqlglot.transpile(duck_sql, read="duckdb", write="spark", unsupported_level=sqlglot.ErrorLevel.RAISE)[0]
    anonymous = {f.name.upper() for f in sqlglot.parse_one(out, read="spark").find_all(exp.Anonymous)}
    assert anonymous <= dialect.SPARK_ANONYMOUS_OK, (name, out)


def test_byte_based_and_unknown_functions_are_refused():
    for bad in ("levenshtein(l.name, r.name) < 2", "jaro_winkler_similarity(a, b) > 0.9", "hamming(a, b) = 1",
                "damerau_levenshtein(a, b) = 1"):
        with pytest.raises(dialect.RenderError, match="UTF-8 bytes"):
            dialect.render(bad)
    with pytest.raises(dialect.RenderError, match="unknown function"):
        dialect.render("soundex_cn(a)")
    with pytest.raises(dialect.RenderError, match="argument"):
        dialect.render("char_similarity(a)")
    with pytest.raises(dialect.RenderError, match="parse"):
        dialect.render("a = = b")


def test_nested_logical_functions_render_inside_out():
    sql = dialect.render("chars_differ(date_digits(l.d), date_digits(r.d)) = 1", "spark")
    assert "DATE_FORMAT(l.d, 'yyyyMMdd')" in sql and "date_digits" not in sql.lower()


def _near_pairs(seed: int = 11, n: int = 4000) -> list[tuple[str, str]]:
    """Name-like pairs one or two edits apart (substitutions, insertions, deletions), equal pairs and
    unrelated pairs of 1–7 characters, over a small alphabet so that chance agreements occur."""
    import random

    rng = random.Random(seed)
    chars = "张王李赵伟玮明敏娜丽小晓"

    def word(k):
        return "".join(rng.choice(chars) for _ in range(k))

    def edit(w):
        i = rng.randrange(len(w) + 1)
        op = rng.choice("sid")
        if op == "i" or not w:
            return w[:i] + rng.choice(chars) + w[i:]
        i = min(i, len(w) - 1)
        return w[:i] + (rng.choice(chars) if op == "s" else "") + w[i + 1:]

    out = []
    for _ in range(n):
        a = word(rng.randint(1, 7))
        b = rng.choice([edit(a), edit(edit(a)), word(rng.randint(1, 7)), a])
        out.append((a, b))
    return out + [("张伟", "张玮"), ("欧阳娜娜", "欧阳娜"), ("张小明", "李小红"), ("", "张"), ("张", None)]


@pytest.mark.parametrize("threshold", ["0.3", "0.5", "0.6", "0.66", "0.75", "0.8"])
def test_char_similarity_at_least_gives_the_udf_answer_for_every_pair(duck, threshold):
    # The pre-test may only skip the UDF where its answer is "below": any pair it wrongly
    # rejected shows here as a pair the plain test accepts.
    similarity.register(duck)
    pairs = _near_pairs()
    fast = dialect.render(f"char_similarity_at_least(a, b, {threshold})")
    plain = dialect.render(f"char_similarity(a, b) >= {threshold}")
    duck.execute("CREATE TEMP TABLE p (a VARCHAR, b VARCHAR)")
    duck.executemany("INSERT INTO p VALUES (?, ?)", pairs)
    rows = duck.execute(f"SELECT a, b, coalesce({fast}, false), coalesce({plain}, false) FROM p").fetchall()
    differ = [(a, b) for a, b, f, p in rows if f != p]
    assert not differ, differ[:5]
    assert sum(p for *_, p in rows) > 300  # the sample holds many pairs that meet the threshold


def test_char_similarity_at_least_skips_the_udf_for_pairs_that_cannot_meet_it(duck):
    # 张小明/李小红 share no end: decided without a call. 张小明/张晓明 share first and last: called.
    # As a level's condition (a CASE branch), where DuckDB evaluates an AND's second half only
    # for the rows its first half passed; a bare SELECT list evaluates both halves on every row.
    calls = []

    def counting(a, b):
        calls.append(len(a))
        return similarity.cjk_similarity_arrays(a, b)

    from duckdb import sqltypes

    duck.create_function(similarity.UDF_NAME, counting, [sqltypes.VARCHAR, sqltypes.VARCHAR],
                         sqltypes.DOUBLE, type="arrow", null_handling="special", side_effects=False)
    sql = "CASE WHEN a = b THEN 0 WHEN " + dialect.render("char_similarity_at_least(a, b, 0.66)") + " THEN 1 END"
    got = duck.execute(f"SELECT {sql} FROM (VALUES ('张小明', '李小红'), ('王建国', '赵卫东')) t(a, b)").fetchall()
    assert [r[0] for r in got] == [None, None] and sum(calls) == 0
    got = duck.execute(f"SELECT {sql} FROM (VALUES ('张小明', '张晓明')) t(a, b)").fetchall()
    assert got == [(1,)] and sum(calls) == 1
