"""The answer key: valid true IDs, every loadable record mapped, every broken row really broken."""

from __future__ import annotations

from collections import Counter

from .extracts import FILES, NAME_FIELD, as_dict, path_of, read_rows
from .test_idnumbers import reference_valid

SOURCES = list(FILES)


def test_true_resident_ids_pass_the_check_and_agree_with_sex_and_birth(persons):
    residents = [p for p in persons if p["id_type"] == "resident_id"]
    assert len(residents) > 1900
    for p in residents:
        i = p["id_number"]
        assert reference_valid(i), p
        assert i[6:14] == p["birth_date"].replace("-", ""), p
        assert int(i[16]) % 2 == (1 if p["sex"] == "1" else 0), p
    others = {p["id_type"] for p in persons} - {"resident_id"}
    assert others and others <= {"passport", "hk_macau_permit", "taiwan_permit"}


def test_population_counts(persons, sample_district):
    status = Counter(p["status"] for p in persons)
    assert status["active"] == 2000
    assert status["deceased"] > 0 and status["moved_out"] > 0
    kinds = Counter(p["population_type"] for p in persons)
    assert kinds["registered"] > kinds["migrant"] > kinds["foreign"] > 0
    assert len({p["person_id"] for p in persons}) == len(persons)


def _keys_by_line(sample_dir, source):
    """{line: [record ids that line holds]} for every data line of an extract."""
    header, rows = read_rows(sample_dir, source)
    out = {}
    for line, fields in rows:
        key = str(fields[0])
        if source == "family_planning":
            out[line] = [key + "-F"] + ([key + "-M"] if fields[4] else [])
        else:
            out[line] = [key]
    return out


def test_truth_covers_exactly_the_non_broken_rows(sample_dir, truth, broken, persons):
    ids = {p["person_id"] for p in persons}
    assert all(t["person_id"] in ids for t in truth)
    by_source = {s: {t["record_id"] for t in truth if t["source"] == s} for s in SOURCES}
    for source in SOURCES:
        bad = {int(b["line_no"]): b["expected_rule"] for b in broken if b["source"] == source}
        expected = set()
        for line, keys in _keys_by_line(sample_dir, source).items():
            if line not in bad:
                expected.update(keys)
            elif bad[line] == "missing_name" and source == "family_planning":
                expected.update(k for k in keys if k.endswith("-M"))  # the woman has no name; her husband loads
        assert by_source[source] == expected, source
    assert len({(t["source"], t["record_id"]) for t in truth}) == len(truth)


def test_records_per_resident_and_coverage(truth, persons):
    assert 2.1 <= len(truth) / 2000 <= 2.5
    per_source = Counter(t["source"] for t in truth)
    assert per_source["police"] > per_source["social_security"] > per_source["labour"] \
        > per_source["civil_affairs"]
    active = {p["person_id"] for p in persons if p["status"] == "active"}
    in_police = {t["person_id"] for t in truth if t["source"] == "police"}
    assert 0.95 <= len(active & in_police) / len(active) <= 0.99
    in_ss = {t["person_id"] for t in truth if t["source"] == "social_security"}
    assert 0.5 <= len(active & in_ss) / len(active) <= 0.7


def test_every_listed_broken_row_is_broken(sample_dir, broken):
    assert {b["expected_rule"] for b in broken} == {"wrong_column_count", "missing_name",
                                                   "truncated_line"}
    for source in SOURCES:
        mine = [b for b in broken if b["source"] == source]
        assert 1 <= len(mine) <= 12, (source, len(mine))  # a handful per file
        assert all(b["file"] == path_of(sample_dir, source).name for b in mine)
        header, rows = read_rows(sample_dir, source)
        lines = dict(rows)
        for b in mine:
            fields = lines[int(b["line_no"])]
            assert str(fields[0]) == b["record_id"]  # the key stays readable
            if b["expected_rule"] == "missing_name":
                assert len(fields) == len(header) or source == "family_planning"
                assert as_dict(header, fields)[NAME_FIELD[source]] == ""
            elif b["expected_rule"] == "wrong_column_count":
                if source == "family_planning":
                    assert fields[len(header)] != ""  # a cell right of the last column
                else:
                    assert len(fields) != len(header)
            else:
                assert source == "police" and int(b["line_no"]) == max(lines)
                assert len(fields) < len(header)


def test_every_other_row_is_well_formed(sample_dir, broken):
    for source in SOURCES:
        bad = {int(b["line_no"]) for b in broken if b["source"] == source}
        header, rows = read_rows(sample_dir, source)
        for line, fields in rows:
            if line in bad:
                continue
            row = as_dict(header, fields)
            if source == "family_planning":
                assert all(x == "" for x in fields[len(header):]), line
            else:
                assert len(fields) == len(header), (source, line)
            assert str(row[NAME_FIELD[source]]).strip() != "", (source, line)


def test_police_file_ends_with_a_truncated_line(sample_dir):
    raw = path_of(sample_dir, "police").read_bytes()
    assert not raw.endswith(b"\n")
    for source in ("civil_affairs", "labour", "social_security"):
        assert path_of(sample_dir, source).read_bytes().endswith(b"\n")


def test_dirt_log_refers_to_loaded_records(dirt, truth):
    loaded = {(t["source"], t["record_id"]) for t in truth}
    assert dirt
    assert all((d["source"], d["record_id"]) in loaded for d in dirt)
