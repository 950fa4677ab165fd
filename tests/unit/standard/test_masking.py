"""Masked values never show a full ID or phone; SQL views and Python agree."""

from shiyou.standard import masking
from tests.conftest import eval_sql


def test_id_mask_matches_brief():
    assert masking.mask_id("44010619900101123X") == "440106********123X"
    assert masking.mask_id("110105491231002") == "110105*****1002"


def test_phone_and_name():
    assert masking.mask_phone("13800138000") == "138****8000"
    assert masking.mask_name("欧阳娜娜") == "欧***"


def test_free_text_masks_digit_runs():
    line = "R1,张伟,,111,44010619900101123X,1,13800138000,天河北路233号"
    out = masking.mask_text(line)
    assert "44010619900101123X" not in out and "13800138000" not in out
    assert "233号" in out  # door numbers are not personal keys


def test_free_text_keeps_the_date_of_a_delivery_file_name_and_masks_numbers_beside_it():
    out = masking.mask_text("civil_affairs: minzheng_20261120.csv line 7: phone 13800138000, 旧号 20261120")
    assert out == "civil_affairs: minzheng_20261120.csv line 7: phone 138****8000, 旧号 202*1120"
    assert masking.mask_text("jisheng_20261120.xlsx, shebao_20261120.txt") == "jisheng_20261120.xlsx, shebao_20261120.txt"
    # only a date, only right before a delivery's file extension
    assert masking.mask_text("13800138000.csv 19900101.CSV 20261120.csvx 20261320.csv") == (
        "138****8000.csv 199*0101.CSV 202*1120.csvx 202*1320.csv")


def test_sql_twins(duck):
    ids = eval_sql(duck, ["44010619900101123X", None], lambda v: masking.sql_mask_id(v))
    assert ids == ["440106********123X", None]
    assert eval_sql(duck, ["13800138000"], masking.sql_mask_phone) == ["138****8000"]
    assert "13800138000" not in eval_sql(duck, ["tel 13800138000"], masking.sql_mask_text)[0]
