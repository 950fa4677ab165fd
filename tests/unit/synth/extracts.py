"""Read the generated extracts back the way a pipeline would (independent of the generator)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import python_calamine

FILES = {
    "civil_affairs": "minzheng_{d}.csv", "labour": "laodong_{d}.csv",
    "family_planning": "jisheng_{d}.xlsx", "social_security": "shebao_{d}.txt",
    "police": "gongan_syrk_{d}.csv",
}
HEADERS = {
    "civil_affairs": "记录编号,姓名,性别,公民身份号码,出生日期,民族,婚姻状况,户籍地址,现居住地址,联系电话,服务类别,登记日期,人员状态,状态变更日期",
    "labour": "登记编号,姓名,身份证号,性别代码,出生年月,文化程度,就业状态,工作单位,手机号码,居住地址,登记时间",
    "family_planning": "档案编号,女方姓名,女方身份证号,女方出生日期,男方姓名,男方身份证号,婚姻状况,现有子女数,户籍地,现居住地址,联系电话,建档日期",
    "social_security": "个人编号,姓名,证件类型,证件号码,性别,出生日期,参保状态,险种类型,单位名称,联系电话,通讯地址,最后缴费年月",
    "police": "RYBH,XM,CYM,ZJLX,ZJHM,XBDM,MZDM,CSRQ,RYLB,HJDZ,JZDZ,DZBM,HH,YHZGX,LXDH,DJRQ,ZXBS,ZXYY,ZXRQ",
}
ENCODINGS = {"civil_affairs": "utf-8-sig", "labour": "gb18030", "social_security": "utf-8",
             "police": "utf-8"}
NAME_FIELD = {"civil_affairs": "姓名", "labour": "姓名", "family_planning": "女方姓名",
              "social_security": "姓名", "police": "XM"}
ID_FIELD = {"civil_affairs": "公民身份号码", "labour": "身份证号", "family_planning": "女方身份证号",
            "social_security": "证件号码", "police": "ZJHM"}


def path_of(root: Path, source: str, day: str = "2026-11-20") -> Path:
    return root / "landing" / source / day / FILES[source].format(d=day.replace("-", ""))


def read_rows(root: Path, source: str) -> tuple[list[str], list[tuple[int, list]]]:
    """(header, [(line number as an editor shows it, fields)]) for one extract."""
    path = path_of(root, source)
    if source == "family_planning":
        wb = python_calamine.CalamineWorkbook.from_path(str(path))
        rows = wb.get_sheet_by_name("育龄妇女信息").to_python(skip_empty_area=False)
        header = [h for h in rows[0] if h != ""]
        return header, [(i + 1, r) for i, r in enumerate(rows) if i > 0]
    text = path.read_bytes().decode(ENCODINGS[source])
    if source == "social_security":
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        return lines[0].split("|"), [(i + 1, ln.split("|")) for i, ln in enumerate(lines) if i > 0]
    reader = csv.reader(io.StringIO(text, newline=""))
    rows = [(reader.line_num, r) for r in reader]  # physical line where the row ends
    return rows[0][1], rows[1:]


def as_dict(header: list[str], fields: list) -> dict[str, object]:
    return dict(zip(header, fields))
