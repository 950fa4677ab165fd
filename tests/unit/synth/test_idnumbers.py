"""GB 11643 generation against an independent pure-Python reference."""

from __future__ import annotations

import numpy as np

from shiyou.synth.idnumbers import is_valid, make_ids, sequence_for_sex, to_legacy15, unique_sequences

WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def reference_check(first17: str) -> str:
    return "10X98765432"[sum(int(c) * w for c, w in zip(first17, WEIGHTS)) % 11]


def reference_valid(value: str) -> bool:
    return (len(value) == 18 and value[:17].isascii() and value[:17].isdigit()
            and value[17].upper() == reference_check(value[:17]))


def test_worked_example_from_the_standard():
    ids = make_ids(np.array([110105]), np.array(["1949-12-31"], dtype="datetime64[D]"), np.array([2]))
    assert ids.tolist() == ["11010519491231002X"]
    assert to_legacy15(ids).tolist() == ["110105491231002"]


def test_vectorised_ids_match_the_reference():
    rng = np.random.default_rng(1)
    n = 5000
    county = rng.choice([440106, 430521, 653101, 110105], n)
    birth = np.datetime64("1930-01-01") + rng.integers(0, 35000, n)
    sex = rng.integers(1, 3, n)
    seq = sequence_for_sex(rng, sex)
    ids = make_ids(county, birth, seq).tolist()
    for value, c, b, s, q in zip(ids, county, birth, sex, seq):
        assert value[:6] == str(c)
        assert value[6:14] == str(b).replace("-", "")
        assert int(value[14:17]) == q and q % 2 == (1 if s == 1 else 0)
        assert value[17] == reference_check(value[:17])


def test_is_valid_rejects_dirty_values():
    good = "11010519491231002X"
    values = [good, good.lower(), "１１010519491231002X", "110105194912310021", good[:17],
              "'" + good, "4.40106E+17", "", " " + good[1:], good[:6] + " " + good[7:]]
    assert is_valid(np.array(values)).tolist() == [reference_valid(v) for v in values]
    assert is_valid(np.array(values)).tolist() == [True, True] + [False] * 8


def test_unique_sequences_removes_collisions_but_keeps_fixed_rows():
    rng = np.random.default_rng(3)
    n = 20000
    county = np.full(n, 440106)
    birth = np.datetime64("1990-01-01") + rng.integers(0, 30, n)  # crowded on purpose
    sex = rng.integers(1, 3, n)
    seq = sequence_for_sex(rng, sex)
    fixed = np.zeros(n, bool)
    fixed[:2] = True
    seq[1], birth[1], sex[1] = seq[0], birth[0], sex[0]  # a deliberate shared number
    out = unique_sequences(rng, county, birth, sex, seq, fixed)
    ids = make_ids(county, birth, out)
    assert ids[0] == ids[1]
    assert len(set(ids[2:].tolist())) == n - 2
    assert ((out % 2) == (sex == 1)).all()
