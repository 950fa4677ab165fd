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
