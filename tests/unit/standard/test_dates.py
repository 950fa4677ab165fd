"""Date formats of the contracts: text, Excel serial numbers, month-only, impossible dates."""

import datetime as dt

from shiyou.standard import dates
from tests.conftest import eval_sql


def test_day_formats_in_order(duck):
    fmts = ["excel_serial", "%Y-%m-%d", "%Y/%m/%d"]
    got = eval_sql(duck, ["1985-03-07", "1985/3/7", "31113", "31113.0", "1980-02-30", "19800230", None, "x"],
                   lambda v: dates.sql_day(v, fmts))
    d = dt.date(1985, 3, 7)
    assert got == [d, d, d, d, None, None, None, None]  # Excel serial 31113 is 1985-03-07


def test_compact_and_impossible(duck):
    got = eval_sql(duck, ["19491231", "19800230", "2020"], lambda v: dates.sql_day(v, ["%Y%m%d"]))
    assert got == [dt.date(1949, 12, 31), None, None]


def test_month_only_is_not_a_day(duck):
    day = eval_sql(duck, ["198503", "198513"], lambda v: dates.sql_day(v, ["%Y%m"]))
    month = eval_sql(duck, ["198503", "198513"], lambda v: dates.sql_month(v, ["%Y%m"]))
    assert day == [None, None]
    assert month == [dt.date(1985, 3, 1), None]


def test_datetime_text(duck):
    got = eval_sql(duck, ["2023/01/05 12:03:04"], lambda v: dates.sql_day(v, ["%Y/%m/%d %H:%M:%S"]))
    assert got == [dt.date(2023, 1, 5)]


def test_implausible_years_are_not_dates(duck):
    """Year 0000 or 9999 is a typing accident (and would break Python's date type downstream)."""
    got = eval_sql(duck, ["00000101", "99991231", "18991231"], lambda v: dates.sql_day(v, ["%Y%m%d"]))
    assert got == [None, None, dt.date(1899, 12, 31)]


def test_compact_formats_need_every_digit(duck):
    """`1980123` is not a date: 1980-12-03 or 1980-01-23? DuckDB alone would guess."""
    got = eval_sql(duck, ["1980123", "19801203", "198012", "19801"], lambda v: dates.sql_day(v, ["%Y%m%d"]))
    assert got == [None, dt.date(1980, 12, 3), None, None]
    assert eval_sql(duck, ["19801"], lambda v: dates.sql_month(v, ["%Y%m"])) == [None]


def test_date_time_cells_count_by_their_day(duck):
    got = eval_sql(duck, ["1990-03-07 00:00:00", "1990-03-07 13:45"], lambda v: dates.sql_day(v, ["%Y-%m-%d"]))
    assert got == [dt.date(1990, 3, 7), dt.date(1990, 3, 7)]
