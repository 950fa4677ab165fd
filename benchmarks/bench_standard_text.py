"""Micro-benchmark: name and address standardisation on 1,000,000 distinct values.

Generates seeded synthetic names and addresses with the dirt described in the
source extracts (traditional characters, full-width digits, stray spaces,
minority separators, Chinese numerals, unit-word variants), keeps 1M DISTINCT
values of each (the pipeline standardises distinct values), and times
``normalise_names`` / ``normalise_addresses``.  Prints seconds and peak RSS.

    .venv/bin/python benchmarks/bench_standard_text.py [--n 1000000] [--seed 20261120]
"""

from __future__ import annotations

import argparse
import gc
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shiyou.standard.addresses import normalise_addresses  # noqa: E402
from shiyou.standard.names import normalise_names  # noqa: E402

SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜"
    "崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤单區張陳黃劉"
) + ["欧阳", "司马", "诸葛", "上官", "尉迟"]
GIVEN = list(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红燕鹏宇浩凯建国志文斌辉林梅琳丹婷雪慧倩颖晶晨欣怡佳"
    "俊博子涵睿轩梓萱思雨诗晓东海波宁玲龍偉麗華嘉铭泽宏坤锦荣德福贵祥瑞一二三春夏秋冬金银"
)
MINORITY_PARTS = ["阿卜杜拉", "艾合买提", "买买提", "古丽", "热依拉", "努尔", "阿依古丽", "吐尔逊", "艾力", "巴特尔"]
SEPARATORS = ["·", "•", ".", "・", "", "．"]

ROAD_STEMS = [
    "天河北", "天河东", "天河", "体育西", "体育东", "林和西", "林和中", "中山", "黄埔", "员村", "华夏", "花城",
    "珠江东", "冼村", "石牌东", "石牌西", "龙口西", "龙口东", "天寿", "五山", "燕岭", "沙河", "广园东", "岑村",
]  # fmt: skip
ROAD_SUFFIX = ["路", "大道", "街", "北路", "南路"]
ESTATES = ["中信广场", "华景新城", "骏景花园", "汇景新城", "金碧小区", "天河公园", "东方新世界", "南国花园",
           "翠湖山庄", "侨林苑", "美林海岸", "名雅苑", "SOHO东海岸", "员村新村", ""]  # fmt: skip
PREFIXES = ["", "", "天河区", "广州市天河区", "广东省广州市天河区", "广东省广州市天河区林和街道", "天河区石牌街道"]
CN_DIGITS = "零一二三四五六七八九"


def _cn(n: int) -> str:
    if n < 10:
        return CN_DIGITS[n]
    if n < 20:
        return "十" + (CN_DIGITS[n % 10] if n % 10 else "")
    return CN_DIGITS[n // 10] + "十" + (CN_DIGITS[n % 10] if n % 10 else "")


def _cat(*parts: np.ndarray) -> np.ndarray:
    out = parts[0].astype(object)
    for p in parts[1:]:
        out = out + p.astype(object)
    return out


def make_names(n: int, rng: np.random.Generator) -> pd.Series:
    got: list[pd.Series] = []
    total = 0
    while total < n:
        m = int((n - total) * 1.6) + 1000
        sur = rng.choice(np.array(SURNAMES, dtype=object), m)
        g1 = rng.choice(np.array(GIVEN, dtype=object), m)
        g2 = rng.choice(np.array(GIVEN + [""] * 25, dtype=object), m)
        g3 = rng.choice(np.array(GIVEN + [""] * 120, dtype=object), m)
        han = _cat(sur, g1, g2, g3)
        # stray spaces (half- and full-width) in ~5 %
        sp = rng.random(m) < 0.05
        han[sp] = _cat(sur[sp], rng.choice(np.array([" ", "\u3000", "  "], dtype=object), sp.sum()), g1[sp], g2[sp])
        # minority names in ~4 %
        mi = rng.random(m) < 0.04
        k = mi.sum()
        parts = np.array(MINORITY_PARTS, dtype=object)
        han[mi] = _cat(rng.choice(parts, k), rng.choice(np.array(SEPARATORS, dtype=object), k), rng.choice(parts, k),
                       rng.choice(np.array(GIVEN + [""] * 30, dtype=object), k))  # fmt: skip
        s = pd.Series(han).drop_duplicates()
        got.append(s)
        total = pd.concat(got).drop_duplicates().size
    return pd.concat(got).drop_duplicates().iloc[:n].reset_index(drop=True)


def make_addresses(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """``address`` (1M distinct spellings) and the ``expected_key`` of the
    flat each one was generated from."""
    got: list[pd.DataFrame] = []
    total = 0
    obj = lambda xs: np.array(xs, dtype=object)  # noqa: E731
    while total < n:
        m = int((n - total) * 1.3) + 1000
        prefix = rng.choice(obj(PREFIXES), m)
        road = _cat(rng.choice(obj(ROAD_STEMS), m), rng.choice(obj(ROAD_SUFFIX), m))
        door = rng.integers(1, 600, m)
        estate = rng.choice(obj(ESTATES), m)
        bld = rng.integers(1, 40, m)
        floor = rng.integers(1, 34, m)
        flat = rng.integers(1, 9, m)
        room_s = obj([f"{f}{r:02d}" for f, r in zip(floor, flat)])
        door_s = obj([f"{d}号" for d in door])
        bld_word = rng.choice(obj(["栋", "栋", "座", "幢", "号楼"]), m)
        bld_s = _cat(obj([str(b) for b in bld]), bld_word)
        # Chinese numerals next to the unit word in ~10 %
        cn = rng.random(m) < 0.10
        bld_s[cn] = _cat(obj([_cn(int(b)) for b in bld[cn]]), bld_word[cn])
        room_form = rng.integers(0, 5, m)
        room_txt = np.where(
            room_form == 0, room_s + "室",
            np.where(room_form == 1, room_s + "房",
                     np.where(room_form == 2, room_s,
                              np.where(room_form == 3, obj([f"{f}楼{r:02d}" for f, r in zip(floor, flat)]),
                                       room_s + "室")))).astype(object)  # fmt: skip
        addr = _cat(prefix, road, door_s, estate, bld_s, room_txt)
        expected = _cat(road, obj([f"|{d}|{b}|" for d, b in zip(door, bld)]), room_s)
        # traditional characters in ~3 %, full-width digits in ~3 %, spaces in ~5 %
        tr = rng.random(m) < 0.03
        addr[tr] = obj([a.replace("号", "號").replace("栋", "棟").replace("广", "廣") for a in addr[tr]])
        fw = rng.random(m) < 0.03
        fwt = str.maketrans("0123456789", "０１２３４５６７８９")
        addr[fw] = obj([a.translate(fwt) for a in addr[fw]])
        spc = rng.random(m) < 0.05
        addr[spc] = obj([a.replace("号", "号 ", 1) for a in addr[spc]])
        got.append(pd.DataFrame({"address": addr, "expected_key": expected}).drop_duplicates("address"))
        total = pd.concat(got).drop_duplicates("address").shape[0]
    return pd.concat(got).drop_duplicates("address").iloc[:n].reset_index(drop=True)


def _peak_rss_mb() -> float:
    """Peak resident set size of this process since start (or since the last
    :func:`_reset_peak`), MB."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak() -> None:
    """Linux: writing 5 to clear_refs resets VmHWM, so each step's peak is its own."""
    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=20261120)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)

    t0 = time.perf_counter()
    names = make_names(args.n, rng)
    addr_frame = make_addresses(args.n, rng)
    addresses = addr_frame["address"]
    print(f"generated {len(names):,} distinct names, {len(addresses):,} distinct addresses "
          f"in {time.perf_counter() - t0:.1f} s; peak RSS {_peak_rss_mb():.0f} MB")  # fmt: skip

    _reset_peak()
    base = _rss_mb()
    t = time.perf_counter()
    nn = normalise_names(names)
    t_names = time.perf_counter() - t
    print(f"normalise_names:     {t_names:6.2f} s  ({t_names / len(names) * 1e6:.2f} µs/value); "
          f"distinct name_key {nn['name_key'].nunique():,}; "
          f"peak RSS {_peak_rss_mb():.0f} MB (+{_peak_rss_mb() - base:.0f} MB over the input)")  # fmt: skip
    del nn

    _reset_peak()
    base = _rss_mb()
    t = time.perf_counter()
    aa = normalise_addresses(addresses)
    t_addr = time.perf_counter() - t
    correct = (aa["address_key"] == addr_frame["expected_key"]).fillna(False).mean()
    print(f"normalise_addresses: {t_addr:6.2f} s  ({t_addr / len(addresses) * 1e6:.2f} µs/value); "
          f"address_key == generating flat for {correct:.2%}; "
          f"{addr_frame['expected_key'].nunique():,} flats -> {aa['address_key'].nunique():,} keys; "
          f"peak RSS {_peak_rss_mb():.0f} MB (+{_peak_rss_mb() - base:.0f} MB over the input)")  # fmt: skip

if __name__ == "__main__":
    main()
