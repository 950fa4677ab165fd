"""The five departments' extracts: who is in each, and each column as that department writes it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from . import lexicon as lx
from .dirt import Dirtier, DirtLog, ethnic_names
from .population import (ACTIVE, CHILD, DECEASED, EMPLOYED, FLEXIBLE, FOREIGN, HEAD, MIGRANT,
                         MOVED_OUT, REGISTERED, RESIDENT_ID, RETIRED, SPOUSE, UNEMPLOYED,
                         Population, age_at, hard_case_count)
from .rates import COVERAGE as C
from .rates import HABITS as H
from .rates import dirt_rate
from .vec import T, cat, empty, fmt_date, random_dates, stream, strs, table, ymd_parts, zpad

# Spec column order, per source.
COLUMNS = {
    "civil_affairs": ["记录编号", "姓名", "性别", "公民身份号码", "出生日期", "民族", "婚姻状况",
                      "户籍地址", "现居住地址", "联系电话", "服务类别", "登记日期", "人员状态",
                      "状态变更日期"],
    "labour": ["登记编号", "姓名", "身份证号", "性别代码", "出生年月", "文化程度", "就业状态",
               "工作单位", "手机号码", "居住地址", "登记时间"],
    "family_planning": ["档案编号", "女方姓名", "女方身份证号", "女方出生日期", "男方姓名",
                        "男方身份证号", "婚姻状况", "现有子女数", "户籍地", "现居住地址",
                        "联系电话", "建档日期"],
    "social_security": ["个人编号", "姓名", "证件类型", "证件号码", "性别", "出生日期", "参保状态",
                        "险种类型", "单位名称", "联系电话", "通讯地址", "最后缴费年月"],
    "police": ["RYBH", "XM", "CYM", "ZJLX", "ZJHM", "XBDM", "MZDM", "CSRQ", "RYLB", "HJDZ",
               "JZDZ", "DZBM", "HH", "YHZGX", "LXDH", "DJRQ", "ZXBS", "ZXYY", "ZXRQ"],
}
FILE_PATTERNS = {
    "civil_affairs": "minzheng_{d}.csv", "labour": "laodong_{d}.csv",
    "family_planning": "jisheng_{d}.xlsx", "social_security": "shebao_{d}.txt",
    "police": "gongan_syrk_{d}.csv",
}
# Which column holds the person's name / ID / an address, per source (used by later passes).
NAME_COLUMN = {"civil_affairs": "姓名", "labour": "姓名", "family_planning": "女方姓名",
               "social_security": "姓名", "police": "XM"}
ID_COLUMN = {"civil_affairs": "公民身份号码", "labour": "身份证号",
             "family_planning": "女方身份证号", "social_security": "证件号码", "police": "ZJHM"}
ADDRESS_COLUMN = {"civil_affairs": "现居住地址", "labour": "居住地址",
                  "family_planning": "现居住地址", "social_security": "通讯地址", "police": "JZDZ"}
MARITAL_CIVIL = {"10": "未婚", "21": "已婚", "22": "已婚", "30": "丧偶", "40": "离婚"}
MARITAL_FP = {"10": "未婚", "21": "初婚", "22": "再婚", "30": "丧偶", "40": "离婚"}


@dataclass
class SourceTable:
    """One department's extract before it is written: rows in file order."""

    source: str
    file_name: str
    columns: list[str]
    data: dict[str, np.ndarray]  # column -> values (StringDType; object cells for xlsx)
    person: np.ndarray  # person index per row
    key: np.ndarray  # record key per row
    husband: np.ndarray | None = None  # family planning: husband's person index or -1
    protected: np.ndarray | None = None  # rows carrying a hard case: never broken
    broken: np.ndarray | None = None  # '' or the rule a pipeline must quarantine the row by
    damage: dict[int, tuple] = field(default_factory=dict)  # row -> how the line is broken

    def __len__(self) -> int:
        return int(self.person.shape[0])


@dataclass
class Ctx:
    pop: Population
    seed: int
    multiplier: float
    log: DirtLog
    snapshot_tag: str

    def rng(self, name: str) -> np.random.Generator:
        return stream(self.seed, name)

    def dirtier(self, source: str) -> Dirtier:
        return Dirtier(source, self.rng(source + ".dirt"), self.multiplier, self.log)


def _map_codes(values: np.ndarray, mapping: dict[str, str]) -> np.ndarray:
    codes = sorted(mapping)
    idx = np.searchsorted(table(codes), np.asarray(values, dtype=T))
    return table([mapping[c] for c in codes])[idx]


def _sample(rng, candidates: np.ndarray, k: int) -> np.ndarray:
    """Up to k distinct candidates, sorted."""
    return np.sort(rng.choice(candidates, size=min(k, candidates.size), replace=False))


def _order(rng, dates: np.ndarray) -> np.ndarray:
    """Row order by registration date (ties at random): keys then grow with the date."""
    return np.lexsort((rng.random(dates.shape[0]), dates.astype("datetime64[D]").astype(np.int64)))


def _years_after(birth: np.ndarray, years: int) -> np.ndarray:
    return birth + np.timedelta64(int(years * 365.25), "D")


def _table(ctx: Ctx, source: str, data: dict, person, key, **kw) -> SourceTable:
    return SourceTable(source, FILE_PATTERNS[source].format(d=ctx.snapshot_tag), COLUMNS[source],
                       {c: data[c] for c in COLUMNS[source]}, person, key, **kw)


def _end_dates(pop: Population, idx: np.ndarray) -> np.ndarray:
    """The last day a person was around: snapshot, or the death / move-out date."""
    return np.where(pop.status[idx] == ACTIVE, pop.snapshot, pop.status_date[idx])


# --- police -------------------------------------------------------------------------

def police(ctx: Ctx) -> SourceTable:
    pop, rng = ctx.pop, ctx.rng("police.rows")
    n = len(pop)
    u = rng.random(n)
    cov = np.select([pop.pop_type == REGISTERED, pop.pop_type == MIGRANT],
                    [C["police_registered"], C["police_migrant"]], C["police_foreign"])
    active_in = (pop.status == ACTIVE) & (u < cov)
    dead_in = (pop.status == DECEASED) & (u < C["police_deceased_cancelled"])
    mov = pop.status == MOVED_OUT
    mov_cancel = mov & (u < C["police_moved_cancelled"])
    mov_stale = mov & ~mov_cancel & (u < C["police_moved_cancelled"] + C["police_moved_still_active"])
    persons = np.flatnonzero(active_in | dead_in | mov_cancel | mov_stale)
    # The same person registered twice (two RYBH).
    k = hard_case_count("police_duplicate", pop.n_active)
    cand = np.flatnonzero(active_in & (pop.doc_type == RESIDENT_ID))
    dups = _sample(rng, cand, k)
    pop.flag("police_duplicate", dups)
    person = np.concatenate([persons, dups])
    is_dup = np.concatenate([np.zeros(persons.size, bool), np.ones(dups.size, bool)])
    m = person.size
    djrq = pop.arrival[person].copy()
    djrq[is_dup] = random_dates(rng, djrq[is_dup] + np.timedelta64(30, "D"),
                                np.full(dups.size, pop.snapshot - np.timedelta64(1, "D")))
    djrq = np.minimum(djrq, pop.snapshot - np.timedelta64(1, "D"))
    cancelled = ~is_dup & np.isin(person, np.flatnonzero(dead_in | mov_cancel))
    reason = np.where(pop.status[person] == DECEASED, "死亡", "迁出")
    zxrq = pop.status_date[person] + rng.integers(0, 61, m)
    # A quarter of the duplicates were noticed and cancelled as 重复登记.
    dup_found = is_dup & (rng.random(m) < H["police_duplicate_noticed"])
    zxrq[dup_found] = random_dates(rng, djrq[dup_found], np.full(int(dup_found.sum()), pop.snapshot))
    cancelled |= dup_found
    reason = np.where(dup_found, "重复登记", reason)
    # Rare other reasons.
    other = cancelled & ~dup_found & (rng.random(m) < H["police_other_reason"])
    reason = np.where(other, "其他", reason)
    zxrq = np.minimum(zxrq, pop.snapshot)

    order = _order(rng, djrq)
    person, is_dup, djrq, cancelled, reason, zxrq = (a[order] for a in
                                                     (person, is_dup, djrq, cancelled, reason, zxrq))
    number = np.cumsum(rng.integers(1, 4, m))
    key = cat("R", str(lx.DISTRICT_CODE), zpad(number, 7))

    d = ctx.dirtier("police")
    p = person
    data: dict[str, np.ndarray] = {"RYBH": key}
    data["XM"] = d.names(pop.name[p], pop.surname_len[p], pop.name_kind[p], "XM")
    data["CYM"] = pop.former_name[p]
    data["ZJLX"] = table(["111", "414", "516", "511"])[pop.doc_type[p]]
    data["ZJHM"] = d.ids(pop.id_number[p], pop.birth[p], pop.doc_type[p] == RESIDENT_ID, "ZJHM")
    data["XBDM"] = d.sex(pop.sex[p], ("1", "2"), "XBDM", unknown_codes=True)
    data["MZDM"] = np.where(pop.ethnic[p] > 0, zpad(pop.ethnic[p], 2), "").astype(T)
    data["CSRQ"] = d.dates(pop.birth[p], "YMD", "CSRQ")
    data["RYLB"] = strs(pop.pop_type[p] + 1)
    data["HJDZ"] = pop.hukou_text[p]
    data["JZDZ"], used = d.addresses(pop.dwellings, pop.dwelling[p], pop.prev_dwelling[p], "JZDZ")
    data["DZBM"] = pop.dwellings.dzbm[used]
    data["HH"] = pop.hh_number[pop.household[p]]
    data["YHZGX"] = pop.rel[p]
    data["LXDH"] = d.phones(pop.contact_mobile[p], pop.old_mobile[p],
                            pop.hh_landline[pop.household[p]], rng.random(m) < H["landline_police"], "LXDH")
    data["DJRQ"] = fmt_date(djrq, "YMD")
    data["ZXBS"] = np.where(cancelled, "1", "0").astype(T)
    data["ZXYY"] = np.where(cancelled, reason, "").astype(T)
    data["ZXRQ"] = np.where(cancelled, fmt_date(zxrq, "YMD"), "").astype(T)
    protected = np.isin(person, dups)
    return _table(ctx, "police", data, person, key, protected=protected)


# --- social security -----------------------------------------------------------------

def social_security(ctx: Ctx) -> SourceTable:
    pop, rng = ctx.pop, ctx.rng("social_security.rows")
    n = len(pop)
    age = pop.age()
    emp = pop.employment
    u = rng.random(n)
    foreign = pop.pop_type == FOREIGN
    kid = age < 18
    p_in = np.select(
        [foreign, kid, emp == EMPLOYED, emp == FLEXIBLE, emp == UNEMPLOYED, emp == RETIRED],
        [np.where(emp == EMPLOYED, C["ss_foreign"], 0.0), C["ss_child"], C["ss_employed"],
         C["ss_flexible"], C["ss_unemployed"], C["ss_retired"]], C["ss_other_adult"])
    p_in = np.select([pop.status == DECEASED, pop.status == MOVED_OUT],
                     [np.where(foreign, 0.0, C["ss_deceased"]), C["ss_moved"]], p_in)
    inc = u < p_in
    persons = np.flatnonzero(inc)
    # Duplicate enrolment (重复参保): a second 个人编号 for the same person.
    k = hard_case_count("ss_duplicate", pop.n_active)
    cand = persons[(pop.status[persons] == ACTIVE) & (pop.doc_type[persons] == RESIDENT_ID)
                   & (age[persons] >= 18)]
    dups = _sample(rng, cand, k)
    pop.flag("ss_duplicate", dups)
    person = np.concatenate([persons, dups])
    is_dup = np.concatenate([np.zeros(persons.size, bool), np.ones(dups.size, bool)])
    m = person.size
    a, e, st = age[person], emp[person], pop.status[person]
    scheme = np.select(
        [a < 18, (e == EMPLOYED) & (rng.random(m) < 0.3),
         (e == EMPLOYED) | (e == FLEXIBLE) | (e == UNEMPLOYED),
         (e == RETIRED) & (pop.pop_type[person] == REGISTERED) & (rng.random(m) < 0.8)],
        ["城乡居民基本医疗保险", "职工基本医疗保险", "职工基本养老保险", "职工基本养老保险"],
        np.where(rng.random(m) < 0.5, "城乡居民基本养老保险", "城乡居民基本医疗保险")).astype(T)
    status = np.select([e == UNEMPLOYED, (e == RETIRED) | (a >= 60)], ["暂停缴费", "待遇享受"],
                       "参保缴费").astype(T)
    v = rng.random(m)
    # Most deaths reach social security; the rest keep drawing a pension (or sit suspended).
    status = np.where(st == DECEASED, np.where(v < 0.9, "终止参保",
                      np.where(status == "待遇享受", status, "暂停缴费")), status)
    status = np.where(st == MOVED_OUT, np.where(v < 0.4, "终止参保", np.where(v < 0.7, "暂停缴费", status)),
                      status).astype(T)
    # The duplicate is a second scheme, still paying: that is what auditors look for.
    scheme[is_dup] = np.where(np.strings.startswith(scheme[is_dup], "职工"), "城乡居民基本医疗保险",
                              "职工基本医疗保险")
    status[is_dup] = "参保缴费"
    end = _end_dates(pop, person)
    lo = np.maximum(np.maximum(pop.birth[person], np.datetime64("1996-01-01")),
                    pop.arrival[person] - np.timedelta64(365, "D"))
    enrolled = random_dates(rng, lo, np.maximum(end, lo))
    enrolled[is_dup] = random_dates(rng, enrolled[is_dup], np.full(dups.size, pop.snapshot))

    paid_dead = (st == DECEASED) & (status == "待遇享受")
    pop.flag("deceased_still_paid", person[paid_dead])
    order = _order(rng, enrolled)
    person, is_dup, scheme, status, enrolled, end, paid_dead = (
        x[order] for x in (person, is_dup, scheme, status, enrolled, end, paid_dead))
    number = 1_000_000_000 + np.cumsum(rng.integers(1, 6, m))
    key = strs(number)

    d = ctx.dirtier("social_security")
    p = person
    data: dict[str, np.ndarray] = {"个人编号": key}
    data["姓名"] = d.names(pop.name[p], pop.surname_len[p], pop.name_kind[p], "姓名")
    data["证件类型"] = table(["01", "02", "03", "04"])[pop.doc_type[p]]
    ids = pop.id_number[p].copy()
    # Enrolled twice because the second time the old 15-digit number was used.
    legacy = is_dup & (ymd_parts(pop.birth[p])[0] < 1985) & (pop.doc_type[p] == RESIDENT_ID)
    ids[legacy] = cat(np.strings.slice(ids[legacy], 0, 6), np.strings.slice(ids[legacy], 8, 17))
    ctx.log.add("social_security", np.flatnonzero(legacy), "证件号码", "id_legacy_15")
    data["证件号码"] = d.ids(ids, pop.birth[p], (pop.doc_type[p] == RESIDENT_ID) & ~legacy, "证件号码")
    data["性别"] = d.sex(pop.sex[p], ("1", "2"), "性别")
    data["出生日期"] = d.dates(pop.birth[p], "YMD", "出生日期")
    data["参保状态"] = status
    data["险种类型"] = scheme
    data["单位名称"] = np.where(np.strings.startswith(scheme, "职工") & (pop.employment[p] == EMPLOYED),
                            pop.employer[p], "").astype(T)
    data["联系电话"] = d.phones(pop.contact_mobile[p], pop.old_mobile[p],
                            pop.hh_landline[pop.household[p]], rng.random(m) < H["landline_social_security"],
                            "联系电话")
    data["通讯地址"], _ = d.addresses(pop.dwellings, pop.dwelling[p], pop.prev_dwelling[p], "通讯地址")
    last = np.where(status == "参保缴费", end - rng.integers(0, 40, m),
                    np.where(status == "暂停缴费", end - rng.integers(90, 1000, m), end))
    last = np.maximum(last, enrolled)
    data["最后缴费年月"] = np.where(status == "待遇享受", "", fmt_date(last, "YM")).astype(T)
    return _table(ctx, "social_security", data, person, key,
                  protected=np.isin(person, dups) | paid_dead)


# --- labour ----------------------------------------------------------------------------

def labour(ctx: Ctx) -> SourceTable:
    pop, rng = ctx.pop, ctx.rng("labour.rows")
    n = len(pop)
    age = pop.age()
    emp = pop.employment
    p_in = np.select([emp == EMPLOYED, emp == UNEMPLOYED, emp == FLEXIBLE, (emp == RETIRED) & (age < 75)],
                     [C["labour_employed"], C["labour_unemployed"], C["labour_flexible"],
                      C["labour_retired"]], 0.0)
    p_in = np.where(pop.status == MOVED_OUT, p_in * C["labour_moved"],
                    np.where(pop.status == DECEASED, 0.0, p_in))
    p_in[pop.doc_type != RESIDENT_ID] = 0.0
    person = np.flatnonzero(rng.random(n) < p_in)
    m = person.size
    end = _end_dates(pop, person)
    lo = np.maximum(np.maximum(_years_after(pop.birth[person], 16), np.datetime64("2008-01-01")),
                    pop.arrival[person])
    day = random_dates(rng, lo, np.maximum(end, lo))
    order = _order(rng, day)
    person, day = person[order], day[order]
    year = ymd_parts(day)[0]
    # 5-digit sequence within the registration year.
    first_of_year = np.searchsorted(year, year, side="left")
    seq = np.arange(m) - first_of_year + 1
    key = cat("LD", str(lx.DISTRICT_CODE), strs(year), zpad(seq, 5))

    d = ctx.dirtier("labour")
    p = person
    data: dict[str, np.ndarray] = {"登记编号": key}
    data["姓名"] = d.names(pop.name[p], pop.surname_len[p], pop.name_kind[p], "姓名")
    data["身份证号"] = d.ids(pop.id_number[p], pop.birth[p], np.ones(m, bool), "身份证号")
    data["性别代码"] = d.sex(pop.sex[p], ("1", "2"), "性别代码")
    data["出生年月"] = d.dates(pop.birth[p], "YM", "出生年月", month_only=True)
    data["文化程度"] = table(lx.EDUCATION)[pop.education[p]]
    e = pop.employment[p]
    data["就业状态"] = np.select([e == EMPLOYED, e == UNEMPLOYED, e == FLEXIBLE], ["就业", "失业", "灵活就业"],
                             "退休").astype(T)
    gig = table(["", "个体", "自由职业", "外卖骑手", "网约车司机"])[rng.integers(0, 5, m)]
    data["工作单位"] = np.where(e == EMPLOYED, pop.employer[p], np.where(e == FLEXIBLE, gig, "")).astype(T)
    data["手机号码"] = d.phones(pop.mobile[p], pop.old_mobile[p], empty(m), np.zeros(m, bool), "手机号码")
    data["居住地址"], _ = d.addresses(pop.dwellings, pop.dwelling[p], pop.prev_dwelling[p], "居住地址")
    secs = rng.integers(8 * 3600 + 1800, 17 * 3600 + 1800, m)
    data["登记时间"] = cat(fmt_date(day, "Y/M/D"), " ", zpad(secs // 3600, 2), ":",
                       zpad(secs // 60 % 60, 2), ":", zpad(secs % 60, 2))
    return _table(ctx, "labour", data, person, key)


# --- civil affairs ---------------------------------------------------------------------

CIVIL_SERVICES = ["高龄津贴", "低保", "特困供养", "残疾人补贴", "临时救助"]


def civil_affairs(ctx: Ctx) -> SourceTable:
    pop, rng = ctx.pop, ctx.rng("civil_affairs.rows")
    n = len(pop)
    end_all = np.where(pop.status == ACTIVE, pop.snapshot, pop.status_date)
    age_end = age_at(pop.birth, end_all)
    reg = (pop.pop_type == REGISTERED) & (pop.doc_type == RESIDENT_ID)
    hh_size = np.bincount(pop.household)[pop.household]
    wants = [
        reg & (age_end >= 80) & (rng.random(n) < C["civil_80plus"]),
        reg & pop.hh_low_income[pop.household] & (rng.random(n) < C["civil_low_income"]),
        reg & (age_end >= 60) & (hh_size == 1) & (rng.random(n) < C["civil_extremely_poor"]),
        reg & pop.disabled & (rng.random(n) < C["civil_disabled"]),
        (pop.doc_type == RESIDENT_ID) & (pop.pop_type != FOREIGN) & (rng.random(n) < C["civil_temporary"]),
    ]
    person = np.concatenate([np.flatnonzero(w) for w in wants])
    service = np.concatenate([np.full(int(w.sum()), i) for i, w in enumerate(wants)])
    m = person.size
    end = end_all[person]
    # 高龄津贴 is applied for soon after the 80th birthday; the others any time in 10 years.
    lo80 = np.maximum(_years_after(pop.birth[person], 80), np.datetime64("2008-01-01"))
    lo = np.maximum(np.maximum(end - np.timedelta64(3650, "D"), _years_after(pop.birth[person], 1)),
                    np.datetime64("2008-01-01"))
    lo = np.minimum(np.where(service == 0, lo80, lo), end)
    hi = np.where(service == 0, np.minimum(lo + np.timedelta64(400, "D"), end),
                  end - np.timedelta64(10, "D"))
    registered_on = random_dates(rng, lo, np.maximum(hi, lo))
    st = pop.status[person]
    status = np.select([st == DECEASED, st == MOVED_OUT], ["死亡", "迁出"], "正常").astype(T)
    stopped = (st == ACTIVE) & (rng.random(m) < H["civil_stopped"])
    status[stopped] = "停发"
    change = np.where(st == ACTIVE, random_dates(rng, registered_on, np.full(m, pop.snapshot)),
                      np.minimum(pop.status_date[person] + rng.integers(5, 120, m), pop.snapshot))
    # Deceased, still paid: the death never reached civil affairs.
    k = hard_case_count("deceased_still_paid", pop.n_active)
    dead_rows = np.flatnonzero(st == DECEASED)
    still = _sample(rng, dead_rows, k)
    status[still] = "正常"
    pop.flag("deceased_still_paid", person[still])
    has_change = status != "正常"
    protected = np.zeros(m, bool)
    protected[still] = True

    order = _order(rng, registered_on)
    person, service, registered_on, status, change, has_change, protected = (
        x[order] for x in (person, service, registered_on, status, change, has_change, protected))
    year = ymd_parts(registered_on)[0]
    key = cat("MZ", strs(year), zpad(np.arange(1, m + 1), 7))

    d = ctx.dirtier("civil_affairs")
    p = person
    data: dict[str, np.ndarray] = {"记录编号": key}
    data["姓名"] = d.names(pop.name[p], pop.surname_len[p], pop.name_kind[p], "姓名")
    data["性别"] = d.sex(pop.sex[p], ("男", "女"), "性别")
    data["公民身份号码"] = d.ids(pop.id_number[p], pop.birth[p], np.ones(m, bool), "公民身份号码")
    data["出生日期"] = d.dates(pop.birth[p], "Y-M-D", "出生日期")
    eth = ethnic_names(pop.ethnic[p], rng, 0.3)
    data["民族"] = np.where(rng.random(m) < H["civil_ethnic_blank"], "", eth).astype(T)
    data["婚姻状况"] = np.where(rng.random(m) < H["civil_marital_blank"], "",
                            _map_codes(pop.marital[p], MARITAL_CIVIL)).astype(T)
    hukou = pop.hukou_dwelling[p]
    reg_rows = hukou >= 0
    hk = pop.hukou_text[p].copy()
    if reg_rows.any():
        hk[reg_rows], _ = d.addresses(pop.dwellings, hukou[reg_rows], np.full(int(reg_rows.sum()), -1),
                                      "户籍地址", rows=np.flatnonzero(reg_rows))
    data["户籍地址"] = hk
    addr, _ = d.addresses(pop.dwellings, pop.dwelling[p], pop.prev_dwelling[p], "现居住地址")
    data["现居住地址"] = d.punctuation(addr, "现居住地址")
    old = pop.age()[p] >= 70
    data["联系电话"] = d.phones(pop.contact_mobile[p], pop.old_mobile[p],
                            pop.hh_landline[pop.household[p]],
                            rng.random(m) < np.where(old, H["landline_civil_affairs_70plus"],
                                                     H["landline_civil_affairs"]),
                            "联系电话")
    data["服务类别"] = table(CIVIL_SERVICES)[service]
    data["登记日期"] = fmt_date(registered_on, "Y-M-D")
    data["人员状态"] = status
    data["状态变更日期"] = np.where(has_change, fmt_date(change, "Y-M-D"), "").astype(T)
    return _table(ctx, "civil_affairs", data, person, key, protected=protected)


# --- family planning -----------------------------------------------------------------

def family_planning(ctx: Ctx) -> SourceTable:
    pop, rng = ctx.pop, ctx.rng("family_planning.rows")
    n = len(pop)
    age_end = age_at(pop.birth, pop.snapshot)
    woman = (pop.sex == 2) & (pop.doc_type == RESIDENT_ID) & (age_end >= 15) & (age_end <= 49)
    married = (pop.marital == "21") | (pop.marital == "22")
    p_in = np.where(married, C["fp_married"],
                    np.where(age_end >= 20, C["fp_unmarried_20plus"], C["fp_teen"]))
    p_in = np.select([pop.status == MOVED_OUT, pop.status == DECEASED], [p_in * C["fp_moved"], 0.0], p_in)
    person = np.flatnonzero(woman & (rng.random(n) < p_in))
    m = person.size
    # Her husband, when he lives in the same household (head <-> spouse).
    nxt = np.minimum(person + 1, n - 1)
    husband = np.where((pop.role[person] == SPOUSE), person - 1,
                       np.where((pop.role[person] == HEAD) & (pop.role[nxt] == SPOUSE)
                                & (pop.household[nxt] == pop.household[person]), nxt, -1))
    husband = np.where(married[person] & (husband >= 0), husband, -1)
    husband = np.where(rng.random(m) < C["fp_husband_named"], husband, -1)
    husband_id = (husband >= 0) & (rng.random(m) < C["fp_husband_id"])
    kids = np.bincount(pop.household[pop.role == CHILD], minlength=pop.hh_number.shape[0])
    children = np.where((pop.role[person] == HEAD) | (pop.role[person] == SPOUSE),
                        kids[pop.household[person]], 0)
    end = _end_dates(pop, person)
    lo = np.maximum(np.maximum(_years_after(pop.birth[person], 18), np.datetime64("2005-01-01")),
                    pop.arrival[person])
    opened = random_dates(rng, np.minimum(lo, end), end)
    order = _order(rng, opened)
    person, husband, husband_id, children, opened = (x[order] for x in
                                                     (person, husband, husband_id, children, opened))
    key = cat("JS", zpad(np.arange(1, m + 1), 7))

    d = ctx.dirtier("family_planning")
    p = person
    hi = np.flatnonzero(husband >= 0)
    h = husband[hi]
    data: dict[str, np.ndarray] = {"档案编号": key}
    data["女方姓名"] = d.names(pop.name[p], pop.surname_len[p], pop.name_kind[p], "女方姓名")
    data["女方身份证号"] = d.ids(pop.id_number[p], pop.birth[p], np.ones(m, bool), "女方身份证号")
    data["女方出生日期"] = d.dates(pop.birth[p], "Y/m/d", "女方出生日期")
    data["男方姓名"] = empty(m)
    data["男方姓名"][hi] = d.names(pop.name[h], pop.surname_len[h], pop.name_kind[h], "男方姓名", rows=hi)
    data["男方身份证号"] = empty(m)
    wi = np.flatnonzero(husband_id)
    w = husband[wi]
    data["男方身份证号"][wi] = d.ids(pop.id_number[w], pop.birth[w], pop.doc_type[w] == RESIDENT_ID,
                                "男方身份证号", rows_offset=wi)
    data["婚姻状况"] = _map_codes(pop.marital[p], MARITAL_FP)
    data["现有子女数"] = strs(children)
    data["户籍地"] = _fp_hukou_place(ctx, d, rng, p)
    data["现居住地址"], _ = d.addresses(pop.dwellings, pop.dwelling[p], pop.prev_dwelling[p], "现居住地址")
    data["联系电话"] = d.phones(pop.contact_mobile[p], pop.old_mobile[p],
                            pop.hh_landline[pop.household[p]], rng.random(m) < H["landline_family_planning"],
                            "联系电话")
    data["建档日期"] = fmt_date(opened, "Y-M-D")
    table_ = _table(ctx, "family_planning", data, person, key, husband=husband)
    _as_cells(ctx, table_, rng)
    return table_


def _fp_hukou_place(ctx: Ctx, d: Dirtier, rng, p: np.ndarray) -> np.ndarray:
    """户籍地 is often only province / prefecture / county."""
    pop = ctx.pop
    m = p.size
    out = empty(m)
    codes = {c[0]: c for c in lx.COUNTIES}
    county = pop.id_county[p]
    u = rng.random(m)
    reg = pop.hukou_dwelling[p] >= 0
    county_only = u < H["fp_hukou_county_only"]
    full = np.flatnonzero(reg & ~county_only)
    out[reg & county_only] = lx.PROVINCE + lx.CITY + lx.DISTRICT
    if full.size:
        out[full], _ = d.addresses(pop.dwellings, pop.hukou_dwelling[p][full], np.full(full.size, -1),
                                   "户籍地", rows=full)
    mig = np.flatnonzero(~reg)
    texts = []
    for i, c, x in zip(mig.tolist(), county[mig].tolist(), u[mig].tolist()):
        prov, pref, cty = codes[c][1:4] if c in codes else ("", "", "")
        if x < 0.6:
            texts.append(prov + pref + cty)
        elif x < 0.9:
            texts.append(str(pop.hukou_text[p[i]]))
        else:  # 湖南邵东
            texts.append(prov[:2] + (cty[:-1] if len(cty) > 2 else cty))
    if mig.size:
        out[mig] = np.array(texts, dtype=T)
    return out


def _as_cells(ctx: Ctx, t: SourceTable, rng) -> None:
    """Turn the family-planning columns into spreadsheet cells: dates, numbers, text."""
    m = len(t)
    obj = {c: t.data[c].astype(object) for c in t.columns}
    # Birth dates: mostly real date cells, some typed as text YYYY/M/D (impossible ones stay text).
    as_date = rng.random(m) < H["fp_birth_date_cell"]
    obj["女方出生日期"] = _date_cells(obj["女方出生日期"], as_date, "/")
    as_date = rng.random(m) < H["fp_opened_date_cell"]
    obj["建档日期"] = _date_cells(obj["建档日期"], as_date, "-")
    obj["现有子女数"] = np.array([int(x) for x in t.data["现有子女数"].tolist()], dtype=object)
    # Excel turned some IDs into numbers: 15 significant digits, shown as 4.40106E+17.
    for col in ("女方身份证号", "男方身份证号"):
        for i in np.flatnonzero(np.strings.find(t.data[col], "E+") >= 0).tolist():
            obj[col][i] = _excel_number(ctx, t, i, col)
    phone = obj["联系电话"]
    pick = np.flatnonzero(rng.random(m) < dirt_rate("phone_as_number", "family_planning", ctx.multiplier))
    rows = []
    for i in pick.tolist():
        s = phone[i]
        if len(s) == 11 and s.isdigit():
            phone[i] = int(s)
            rows.append(i)
    ctx.log.add("family_planning", rows, "联系电话", "phone_as_number")
    t.data = obj


def _excel_number(ctx: Ctx, t: SourceTable, i: int, col: str) -> float:
    """The numeric cell Excel kept for an ID typed as a number (15 significant digits)."""
    person = t.person[i] if col == "女方身份证号" else t.husband[i]
    true_id = str(ctx.pop.id_number[person])
    return float(int(true_id[:15]) * 1000)


def _date_cells(values: np.ndarray, as_date: np.ndarray, sep: str) -> np.ndarray:
    out = values.copy()
    for i in np.flatnonzero(as_date).tolist():
        y, mo, da = (int(x) for x in values[i].split(sep))
        try:
            out[i] = dt.date(y, mo, da)
        except ValueError:  # impossible dates can only be text
            pass
    return out


BUILDERS = {"civil_affairs": civil_affairs, "labour": labour, "family_planning": family_planning,
            "social_security": social_security, "police": police}
