"""The standard's pieces stay in step: model checks ↔ rules.yaml ↔ data elements ↔ generated docs."""

from shiyou import docs
from shiyou.ingest.mapping import output_columns
from shiyou.ingest.validate import check_rule_ids, standard_schema
from shiyou.standard.elements import all_elements
from shiyou.standard.rules import all_rules

READER_RULES = {"wrong_column_count", "truncated_line"}


def test_every_model_check_is_a_documented_rule_and_back():
    assert check_rule_ids() | READER_RULES == set(all_rules())


def test_model_columns_are_data_elements():
    elements = set(all_elements())
    assert set(standard_schema().columns) <= elements


def test_every_fed_element_reaches_the_mapped_table():
    names = {n for n, _ in output_columns()}
    fed = {e.name for e in all_elements().values() if e.fed}
    missing = {f for f in fed if f not in names and f + "_raw" not in names}
    assert not missing


def test_generated_data_standard_doc_is_current():
    assert docs.TARGET.read_text(encoding="utf-8") == docs.render(), "run: python -m shiyou.docs"
