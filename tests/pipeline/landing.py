"""A small five-source landing folder in the real formats, for pipeline tests."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from tests.files import CONTRACTS, headers, row, write_csv, write_pipe, write_xlsx

IDS = ["440106198801010017", "440106199003070028", "11010519491231002X"]


def folder(landing: Path, source: str, day: dt.date) -> Path:
    return landing / source / day.isoformat()


def file_name(source: str, day: dt.date) -> str:
    return CONTRACTS[source].file.pattern.replace("{yyyymmdd}", day.strftime("%Y%m%d"))


def write_source(landing: Path, source: str, day: dt.date, n: int = 3, tag: str = "") -> Path:
    p = folder(landing, source, day) / file_name(source, day)
    if source == "civil_affairs":
        rows = [row(source, 记录编号=f"MZ{i}", 姓名=f"张三{tag}", 性别="男", 公民身份号码=IDS[i % 3], 人员状态="正常")
                for i in range(n)]
        return write_csv(p, headers(source), rows, bom=True)
    if source == "labour":
        rows = [row(source, 登记编号=f"LD{i}", 姓名=f"李四{tag}", 身份证号=IDS[i % 3], 出生年月="198801") for i in range(n)]
        return write_csv(p, headers(source), rows, encoding="gb18030")
    if source == "family_planning":
        rows = [row(source, 档案编号=f"JS{i}", 女方姓名=f"王芳{tag}", 女方出生日期=dt.date(1990, 3, 7),
                    男方姓名="李军" if i % 2 == 0 else None) for i in range(n)]
        return write_xlsx(p, "育龄妇女信息", headers(source), rows)
    if source == "social_security":
        rows = [row(source, 个人编号=f"100{i}", 姓名=f"赵六{tag}", 证件类型="01", 证件号码=IDS[i % 3]) for i in range(n)]
        return write_pipe(p, headers(source), rows)
    if source == "police":
        rows = [row(source, RYBH=f"R{i}", XM=f"陈七{tag}", ZJLX="111", ZJHM=IDS[i % 3], XBDM="1", ZXBS="0")
                for i in range(n)]
        return write_csv(p, headers(source), rows)
    raise KeyError(source)


def make_day(landing: Path, day: dt.date, sources=None, n: int = 3, tag: str = "") -> None:
    for s in sources or CONTRACTS:
        write_source(landing, s, day, n, tag)


def copy_day(landing: Path, source: str, src: dt.date, dst: dt.date) -> None:
    """Re-deliver yesterday's file unchanged under today's folder and name."""
    target = folder(landing, source, dst)
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(folder(landing, source, src) / file_name(source, src), target / file_name(source, dst))


def redeliver_shorter(landing: Path, source: str, src: dt.date, dst: dt.date) -> None:
    """Re-deliver yesterday's text file under today's folder and name with its last line dropped:
    a new file (a new digest), one record fewer."""
    target = folder(landing, source, dst)
    target.mkdir(parents=True, exist_ok=True)
    data = (folder(landing, source, src) / file_name(source, src)).read_bytes()
    (target / file_name(source, dst)).write_bytes(data.rstrip(b"\r\n").rsplit(b"\n", 1)[0] + b"\n")


def sync_command(landing: Path, warehouse: Path, day: dt.date | None = None) -> list[str]:
    """`shiyou sync` as an operator types it, run with this interpreter."""
    import sys

    cmd = [sys.executable, "-m", "shiyou.cli", "sync", "--landing", str(landing), "--warehouse", str(warehouse)]
    return cmd + (["--date", day.isoformat()] if day else [])


def run_sync_process(landing: Path, warehouse: Path, day: dt.date | None = None, env: dict | None = None):
    """Run `shiyou sync` in its own process (a real exit code, a real kill -9 target)."""
    import subprocess

    root = Path(__file__).resolve().parents[2]
    return subprocess.run(sync_command(landing, warehouse, day), cwd=root, env=env, capture_output=True, text=True)
