"""cjk_similarity: per character (code point), vectorised, null-safe, the same in SQL and Python."""

from __future__ import annotations

import pyarrow as pa
import pytest

from shiyou.matching import similarity


def test_counts_characters_not_utf8_bytes(duck):
    """DuckDB's own levenshtein says 3 for 张伟/张玮 (bytes); one character of two differs."""
    similarity.register(duck)
    assert duck.execute("SELECT levenshtein('张伟', '张玮')").fetchall()[0][0] == 3
    got = duck.execute("SELECT cjk_similarity('张伟', '张玮'), cjk_similarity('张小明', '张晓明'), "
                       "cjk_similarity('欧阳娜娜', '欧阳娜'), cjk_similarity('张伟', '张伟')").fetchall()[0]
    assert got == pytest.approx((0.5, 2 / 3, 0.75, 1.0))


def test_null_in_null_out_and_empty_strings(duck):
    similarity.register(duck)
    rows = duck.execute("SELECT cjk_similarity(a, b) FROM (VALUES (NULL, '张伟'), ('张伟', NULL), ('', ''), "
                        "('', '张')) t(a, b)").fetchall()
    assert [r[0] for r in rows] == [None, None, 1.0, 0.0]


def test_whole_columns_across_vectors(duck):
    """More rows than one DuckDB vector (2048): the UDF is called per chunk, results stay aligned."""
    similarity.register(duck)
    duck.execute("CREATE TABLE t AS SELECT i, CASE WHEN i % 2 = 0 THEN '王芳' ELSE '王芳芳' END AS a, "
                 "CASE WHEN i % 3 = 0 THEN NULL ELSE '王芳' END AS b FROM range(5000) r(i)").fetchall()
    rows = duck.execute("SELECT i, cjk_similarity(a, b) FROM t ORDER BY i").fetchall()
    for i, s in rows:
        expected = None if i % 3 == 0 else (1.0 if i % 2 == 0 else 2 / 3)
        assert s == pytest.approx(expected) if expected is not None else s is None


def test_register_twice_is_harmless(duck):
    similarity.register(duck)
    similarity.register(duck)
    assert duck.execute("SELECT cjk_similarity('a', 'a')").fetchall() == [(1.0,)]


def test_python_face_takes_chunked_arrays():
    a = pa.chunked_array([["张伟", None], ["李娜"]])
    b = pa.chunked_array([["张玮"], ["王芳", "李娜"]])
    assert similarity.cjk_similarity_arrays(a, b).to_pylist() == [0.5, None, 1.0]
