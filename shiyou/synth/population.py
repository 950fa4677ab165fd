"""People, households, dwellings, phones, jobs and life events of one district (vectorised)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import lexicon as lx
from .addresses import Dwellings, build_dwellings
from .idnumbers import make_ids, sequence_for_sex, unique_sequences
from .rates import HARD_CASES, POPULATION
from .vec import (T, cat, empty, random_dates, stream, strs, table, unique_random_ints, weighted,
                  ymd_parts, zpad)

# Roles inside a household (the police code comes from role and sex).
HEAD, SPOUSE, CHILD, PARENT = 0, 1, 2, 3
REGISTERED, MIGRANT, FOREIGN = 0, 1, 2
POP_TYPE_NAMES = np.array(["registered", "migrant", "foreign"], dtype=T)
RESIDENT_ID, PASSPORT, HK_MACAU, TAIWAN = 0, 1, 2, 3
DOC_TYPE_NAMES = np.array(["resident_id", "passport", "hk_macau_permit", "taiwan_permit"], dtype=T)
ACTIVE, DECEASED, MOVED_OUT = 0, 1, 2
STATUS_NAMES = np.array(["active", "deceased", "moved_out"], dtype=T)
HAN, UYGHUR, TIBETAN, LATIN = 0, 1, 2, 3
# Employment: none (student, at home), employed, flexible, unemployed, retired
NO_JOB, EMPLOYED, FLEXIBLE, UNEMPLOYED, RETIRED = 0, 1, 2, 3, 4
# Marital status (GB/T 2261.2)
UNMARRIED, FIRST_MARRIAGE, REMARRIED, WIDOWED, DIVORCED = "10", "21", "22", "30", "40"

# Household types: (name, head age range, P(spouse), kid-count weights, parent-count weights,
#                   P(head male))
HH_TYPES = [
    ("single_young", (18, 45), 0.0, [1], [1], 0.55),
    ("single_elderly", (62, 97), 0.0, [1], [1], 0.40),
    ("couple_young", (22, 42), 1.0, [1], [1], 0.75),
    ("couple_elderly", (55, 92), 1.0, [1], [1], 0.80),
    ("family", (27, 58), 1.0, [0, 0.55, 0.38, 0.07], [1], 0.78),
    ("family3gen", (28, 55), 1.0, [0, 0.5, 0.45, 0.05], [0, 0.45, 0.55], 0.80),
    ("single_parent", (27, 55), 0.0, [0, 0.7, 0.3], [1], 0.2),
    ("elderly_with_child", (60, 90), 0.6, [0, 1], [1], 0.7),
]
HH_TYPE_WEIGHTS = {
    REGISTERED: [0.10, 0.10, 0.08, 0.14, 0.38, 0.12, 0.05, 0.03],
    MIGRANT: [0.40, 0.0, 0.20, 0.0, 0.33, 0.03, 0.04, 0.0],
    FOREIGN: [0.60, 0.0, 0.20, 0.0, 0.20, 0.0, 0.0, 0.0],
}
REG_MINORITIES = [8, 3, 11, 15, 6, 13, 10, 12, 19, 22]  # 壮 回 满 土家 苗 瑶 朝鲜 侗 黎 畲


@dataclass
class Population:
    snapshot: np.datetime64
    n_active: int
    # per person
    person_id: np.ndarray
    household: np.ndarray
    role: np.ndarray
    rel: np.ndarray  # GB/T 4761 code
    sex: np.ndarray  # 1 / 2
    birth: np.ndarray  # datetime64[D]
    pop_type: np.ndarray
    doc_type: np.ndarray
    id_county: np.ndarray
    id_number: np.ndarray  # resident ID, or passport / permit number
    ethnic: np.ndarray  # GB/T 3304 code, 0 for foreigners
    name_kind: np.ndarray
    surname_len: np.ndarray
    name: np.ndarray
    former_name: np.ndarray
    marital: np.ndarray
    status: np.ndarray
    status_date: np.ndarray
    arrival: np.ndarray  # registered in / moved into the district
    dwelling: np.ndarray
    prev_dwelling: np.ndarray  # -1: did not move inside the district
    hukou_dwelling: np.ndarray  # registered people: the dwelling of their hukou, else -1
    hukou_text: np.ndarray
    mobile: np.ndarray
    old_mobile: np.ndarray
    contact_mobile: np.ndarray  # own mobile, or a household member's
    employment: np.ndarray
    employer: np.ndarray
    education: np.ndarray
    disabled: np.ndarray
    # per household
    hh_number: np.ndarray
    hh_landline: np.ndarray
    hh_low_income: np.ndarray
    dwellings: Dwellings
    flags: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.sex.shape[0])

    def age(self, at: np.datetime64 | None = None) -> np.ndarray:
        return age_at(self.birth, self.snapshot if at is None else at)

    def flag(self, name: str, idx) -> None:
        self.flags.setdefault(name, np.zeros(len(self), bool))[idx] = True


def age_at(birth: np.ndarray, at) -> np.ndarray:
    """Age in whole years on date(s) `at` (a scalar or one date per person)."""
    by, bm, bd = ymd_parts(birth)
    ay, am, ad = ymd_parts(np.broadcast_to(np.asarray(at, dtype="datetime64[D]"), birth.shape))
    return ay - by - ((bm * 100 + bd) > (am * 100 + ad))


def hard_case_count(name: str, n_active: int) -> int:
    return max(1, int(round(HARD_CASES[name] * n_active))) if n_active >= 200 else 0


def generate_population(n_residents: int, seed: int, snapshot: np.datetime64) -> Population:
    snapshot = np.datetime64(snapshot, "D")
    n_dec = int(round(POPULATION["deceased"] * n_residents))
    n_mov = int(round(POPULATION["moved_out"] * n_residents))
    n_all = n_residents + n_dec + n_mov

    rng = stream(seed, "households")
    hh = _draw_households(rng, n_all)
    p = _expand_members(hh, n_all)
    H = int(p["household"][-1]) + 1
    hh = {k: v[:H] for k, v in hh.items()}
    hhi = p["household"]

    rng = stream(seed, "ages")
    age, sex = _ages_and_sexes(rng, hh, p)
    birth = snapshot - (age * 365.2425 + rng.random(n_all) * 365).astype(np.int64)
    birth = np.maximum(birth, np.datetime64("1921-01-01"))

    rng = stream(seed, "origins")
    county_h, ethnic_h, doc_h = _origins(rng, hh)
    id_county = _person_county(rng, hh, p, county_h)
    ethnic = ethnic_h[hhi]
    doc_type = np.where(hh["pop_type"][hhi] == FOREIGN, doc_h[hhi], RESIDENT_ID)
    rel = _relationship_codes(rng, p["role"], sex)
    marital = _marital(rng, hh, p, age)

    rng = stream(seed, "dwellings")
    moved_within = rng.random(H) < POPULATION["moved_within"]
    to_village = np.where(hh["pop_type"] == MIGRANT, rng.random(H) < 0.55,
                          np.where(hh["pop_type"] == REGISTERED, rng.random(H) < 0.04, False))
    hukou_other = (hh["pop_type"] == REGISTERED) & (rng.random(H) < 0.2)
    n_vil = int(to_village.sum() + moved_within.sum() // 2 + 8)
    n_est = int(H - to_village.sum() + moved_within.sum() + hukou_other.sum() + 8)
    dw = build_dwellings(rng, n_est, n_vil)
    vil_pool = np.flatnonzero(dw.village)
    est_pool = np.flatnonzero(~dw.village)
    hh_dwelling = np.empty(H, np.int64)
    nv = int(to_village.sum())
    hh_dwelling[to_village] = vil_pool[:nv]
    hh_dwelling[~to_village] = est_pool[:H - nv]
    spare = np.concatenate([est_pool[H - nv:], vil_pool[nv:]])
    spare = rng.permutation(spare)
    hh_prev = np.full(H, -1, np.int64)
    k = int(moved_within.sum())
    hh_prev[moved_within] = spare[:k]
    hh_hukou = hh_dwelling.copy()
    j = int(hukou_other.sum())
    hh_hukou[hukou_other] = spare[k:k + j]

    rng = stream(seed, "names")
    names = _names(rng, hh, p, sex, ethnic, doc_type)

    pop = Population(
        snapshot=snapshot, n_active=n_residents,
        person_id=cat("P", zpad(np.arange(1, n_all + 1), 8)),
        household=hhi, role=p["role"], rel=rel, sex=sex, birth=birth,
        pop_type=hh["pop_type"][hhi], doc_type=doc_type, id_county=id_county,
        id_number=empty(n_all), ethnic=ethnic, name_kind=names["kind"],
        surname_len=names["surname_len"], name=names["name"], former_name=empty(n_all),
        marital=marital, status=np.zeros(n_all, np.int8),
        status_date=np.full(n_all, np.datetime64("NaT"), "datetime64[D]"),
        arrival=birth.copy(), dwelling=hh_dwelling[hhi], prev_dwelling=hh_prev[hhi],
        hukou_dwelling=np.where(hh["pop_type"][hhi] == REGISTERED, hh_hukou[hhi], -1),
        hukou_text=empty(n_all), mobile=empty(n_all), old_mobile=empty(n_all),
        contact_mobile=empty(n_all), employment=np.zeros(n_all, np.int8), employer=empty(n_all),
        education=np.zeros(n_all, np.int8), disabled=np.zeros(n_all, bool),
        hh_number=cat(str(lx.DISTRICT_CODE), zpad(unique_random_ints(rng, 1, 10**7, H), 7)),
        hh_landline=empty(H), hh_low_income=np.zeros(H, bool), dwellings=dw,
    )
    pop.flag("moved_within_district", moved_within[hhi])

    _twins(stream(seed, "twins"), pop, p)
    _same_name_neighbours(stream(seed, "same_name"), pop)
    fixed = _shared_id_numbers(stream(seed, "shared_id"), pop)
    _id_numbers(stream(seed, "ids"), pop, fixed)
    _former_names(stream(seed, "former_names"), pop)
    _life_events(stream(seed, "life_events"), pop, n_dec, n_mov)
    _arrivals(stream(seed, "arrivals"), pop)
    _hukou(stream(seed, "hukou"), pop)
    _phones(stream(seed, "phones"), pop)
    _jobs(stream(seed, "jobs"), pop)
    return pop


# --- households ----------------------------------------------------------------------

def _draw_households(rng: np.random.Generator, n_all: int) -> dict[str, np.ndarray]:
    H = int(n_all / 2.0) + 64  # more than enough; cut later
    u = rng.random(H)
    reg = POPULATION["registered_share"]
    pop_type = np.where(u < POPULATION["foreign_share"], FOREIGN,
                        np.where(u < POPULATION["foreign_share"] + reg, REGISTERED, MIGRANT))
    hh_type = np.empty(H, np.int64)
    for t, w in HH_TYPE_WEIGHTS.items():
        m = pop_type == t
        hh_type[m] = weighted(rng, w, int(m.sum()))
    lo = np.array([t[1][0] for t in HH_TYPES])[hh_type]
    hi = np.array([t[1][1] for t in HH_TYPES])[hh_type]
    head_age = lo + (rng.random(H) * (hi - lo + 1)).astype(np.int64)
    has_spouse = rng.random(H) < np.array([t[2] for t in HH_TYPES])[hh_type]
    n_kids = np.zeros(H, np.int64)
    n_parents = np.zeros(H, np.int64)
    for i, t in enumerate(HH_TYPES):
        m = hh_type == i
        n_kids[m] = weighted(rng, t[3], int(m.sum()))
        n_parents[m] = weighted(rng, t[4], int(m.sum()))
    head_male = rng.random(H) < np.array([t[5] for t in HH_TYPES])[hh_type]
    return dict(pop_type=pop_type, hh_type=hh_type, head_age=head_age, has_spouse=has_spouse,
                n_kids=n_kids, n_parents=n_parents, head_male=head_male)


def _expand_members(hh: dict[str, np.ndarray], n_all: int) -> dict[str, np.ndarray]:
    size = 1 + hh["has_spouse"] + hh["n_kids"] + hh["n_parents"]
    total = int(size.sum())
    if total < n_all:
        raise RuntimeError("not enough households drawn")
    household = np.repeat(np.arange(size.shape[0]), size)[:n_all]
    offsets = np.cumsum(size) - size
    pos = np.arange(n_all) - offsets[household]
    sp = hh["has_spouse"][household].astype(np.int64)
    nk = hh["n_kids"][household]
    role = np.where(pos == 0, HEAD, np.where(pos < 1 + sp, SPOUSE,
                    np.where(pos < 1 + sp + nk, CHILD, PARENT)))
    return dict(household=household, role=role, kid_rank=pos - 1 - sp,
                parent_rank=pos - 1 - sp - nk)


def _ages_and_sexes(rng, hh, p):
    hhi, role = p["household"], p["role"]
    n = hhi.shape[0]
    head_age = hh["head_age"]
    head_sex = np.where(hh["head_male"], 1, 2)
    # A spouse is about two years younger than a husband, older than a wife.
    gap = np.rint(rng.normal(0, 3, head_age.shape[0])).astype(np.int64)
    # Legal marriage ages: 22 for men, 20 for women.
    min_head = np.where(head_sex == 1, 22, 20)
    head_age = np.where(hh["has_spouse"], np.maximum(head_age, min_head), head_age)
    min_spouse = np.where(head_sex == 1, 20, 22)
    spouse_age = np.clip(head_age + np.where(head_sex == 1, -2, 2) + gap, min_spouse, 99)
    mother_age = np.where(hh["has_spouse"] & (head_sex == 1), spouse_age, head_age)
    age = np.zeros(n, np.int64)
    sex = np.zeros(n, np.int64)
    m = role == HEAD
    age[m], sex[m] = head_age[hhi[m]], head_sex[hhi[m]]
    m = role == SPOUSE
    age[m], sex[m] = spouse_age[hhi[m]], 3 - head_sex[hhi[m]]
    m = role == CHILD
    h = hhi[m]
    adult_kids = np.array([t[0] == "elderly_with_child" for t in HH_TYPES])[hh["hh_type"][h]]
    kmax = np.clip(mother_age[h] - 20, 0, 28)
    young = (rng.random(h.shape[0]) * (kmax + 1)).astype(np.int64)
    grown = np.clip(head_age[h] - rng.integers(24, 37, h.shape[0]), 18, 70)
    age[m] = np.where(adult_kids, grown, young)
    sex[m] = rng.integers(1, 3, h.shape[0])
    m = role == PARENT
    h = hhi[m]
    age[m] = np.minimum(head_age[h] + rng.integers(22, 36, h.shape[0]), 99)
    two = hh["n_parents"][h] == 2
    sex[m] = np.where(two, p["parent_rank"][m] + 1, np.where(rng.random(h.shape[0]) < 0.35, 1, 2))
    return age, sex.astype(np.int8)


def _origins(rng, hh):
    """Per household: county code of the head's ID, ethnic group, foreign document type."""
    H = hh["pop_type"].shape[0]
    codes = np.array([c[0] for c in lx.COUNTIES])
    county = np.zeros(H, np.int64)
    for t, col in ((REGISTERED, 4), (MIGRANT, 5)):
        m = hh["pop_type"] == t
        county[m] = codes[weighted(rng, [c[col] for c in lx.COUNTIES], int(m.sum()))]
    ethnic = np.ones(H, np.int64)
    u = rng.random(H)
    for code, *_rest, mix in lx.COUNTIES:
        m = county == code
        acc = 0.0
        for eth, share in mix.items():
            ethnic[m & (u >= acc) & (u < acc + share)] = eth
            acc += share
    reg_min = (hh["pop_type"] == REGISTERED) & (rng.random(H) < 0.015)
    ethnic[reg_min] = np.array(REG_MINORITIES)[rng.integers(0, len(REG_MINORITIES), int(reg_min.sum()))]
    foreign = hh["pop_type"] == FOREIGN
    ethnic[foreign] = 0
    doc = weighted(rng, [0.6, 0.25, 0.15], H) + 1  # passport, HK/Macau, Taiwan
    return county, ethnic, doc


def _person_county(rng, hh, p, county_h):
    hhi, role = p["household"], p["role"]
    n = hhi.shape[0]
    pt = hh["pop_type"][hhi]
    county = county_h[hhi].copy()
    codes = np.array([c[0] for c in lx.COUNTIES])
    # Spouses often come from elsewhere.
    m = (role == SPOUSE) & (rng.random(n) < 0.4) & (pt != FOREIGN)
    for t, col in ((REGISTERED, 4), (MIGRANT, 5)):
        mm = m & (pt == t)
        county[mm] = codes[weighted(rng, [c[col] for c in lx.COUNTIES], int(mm.sum()))]
    # Children of registered families are mostly born (and registered) in the district.
    m = (role == CHILD) & (pt == REGISTERED) & (rng.random(n) < 0.85)
    county[m] = lx.DISTRICT_CODE
    county[pt == FOREIGN] = 0
    return county


def _relationship_codes(rng, role, sex):
    n = role.shape[0]
    generic = rng.random(n) < 0.3
    spouse = np.where(generic, "10", np.where(sex == 1, "11", "12"))
    child = np.where(sex == 1, "20", "30")
    parent = np.where(rng.random(n) < 0.6, "50", np.where(sex == 1, "51", "52"))
    rel = np.where(role == HEAD, "02", np.where(role == SPOUSE, spouse,
                   np.where(role == CHILD, child, parent)))
    return rel.astype(T)


def _marital(rng, hh, p, age):
    hhi, role = p["household"], p["role"]
    n = hhi.shape[0]
    u = rng.random(n)
    married = np.where(u < 0.9, FIRST_MARRIAGE, REMARRIED)
    has_spouse = hh["has_spouse"][hhi]
    single = np.where(age >= 62, np.where(u < 0.7, WIDOWED, np.where(u < 0.85, DIVORCED, FIRST_MARRIAGE)),
                      np.where(age >= 30, np.where(u < 0.7, UNMARRIED, DIVORCED), UNMARRIED))
    head = np.where(has_spouse, married, single)
    parent = np.where(hh["n_parents"][hhi] == 2, FIRST_MARRIAGE, WIDOWED)
    out = np.where((role == HEAD) | (role == SPOUSE), head,
                   np.where(role == PARENT, parent, UNMARRIED))
    return out.astype(T)


# --- names -----------------------------------------------------------------------------

def _pool(pairs):
    chars: dict[str, float] = {}
    for c, w in pairs:
        chars[c] = chars.get(c, 0.0) + w
    return table(list(chars)), np.array(list(chars.values()))


def _given(rng, sex, n):
    """Given names of 1 or 2 characters drawn from the gendered pools."""
    out = empty(n)
    for s, pairs in ((1, lx.GIVEN_MALE), (2, lx.GIVEN_FEMALE)):
        m = sex == s
        k = int(m.sum())
        if not k:
            continue
        chars, w = _pool(pairs)
        a = chars[weighted(rng, w, k)]
        b = chars[weighted(rng, w, k)]
        two = rng.random(k) < 0.78
        out[m] = np.where(two, cat(a, b), a)
    return out


def _names(rng, hh, p, sex, ethnic, doc_type):
    hhi, role = p["household"], p["role"]
    n = hhi.shape[0]
    H = hh["pop_type"].shape[0]
    sur = table([s[0] for s in lx.SURNAMES])
    w_reg = [s[1] for s in lx.SURNAMES]
    w_mig = [s[2] for s in lx.SURNAMES]

    reg_hh = hh["pop_type"] == REGISTERED

    def draw():
        return np.where(reg_hh, weighted(rng, w_reg, H), weighted(rng, w_mig, H))

    paternal, married_in, grandmother = draw(), draw(), draw()
    korean = ethnic == 10
    head_male = hh["head_male"][hhi]
    pat, inn, gm = paternal[hhi], married_in[hhi], grandmother[hhi]
    # Children take the father's surname; a wife and the head's mother keep their own.
    s_idx = np.where(role == HEAD, np.where(head_male, pat, inn),
            np.where(role == SPOUSE, np.where(head_male, inn, pat),
            np.where(role == CHILD, pat,
            np.where(sex == 1, np.where(head_male, pat, inn), gm))))
    surname = sur[s_idx]
    ks = table(lx.KOREAN_SURNAMES)
    surname[korean] = ks[rng.integers(0, len(lx.KOREAN_SURNAMES), int(korean.sum()))]
    given = _given(rng, sex, n)
    name = cat(surname, given)
    kind = np.full(n, HAN, np.int8)
    surname_len = np.strings.str_len(surname).astype(np.int8)

    # Minority and foreign names: few people, built one by one.
    uy = np.flatnonzero(ethnic == 5)
    tib = np.flatnonzero(ethnic == 4)
    lat = np.flatnonzero(doc_type == PASSPORT)
    fathers: dict[int, str] = {}
    for i in uy.tolist():  # heads and spouses first (member order), so children find a father
        pool = lx.UYGHUR_MALE if sex[i] == 1 else lx.UYGHUR_FEMALE
        own = pool[int(rng.integers(0, len(pool)))]
        if role[i] in (HEAD, SPOUSE) and sex[i] == 1:
            fathers[int(hhi[i])] = own
        father = fathers.get(int(hhi[i])) if role[i] == CHILD else None
        father = father or lx.UYGHUR_MALE[int(rng.integers(0, len(lx.UYGHUR_MALE)))]
        name[i] = own + "·" + father
    for i in tib.tolist():
        pool = lx.TIBETAN_PARTS_MALE if sex[i] == 1 else lx.TIBETAN_PARTS_FEMALE
        a, b = rng.choice(len(pool), 2, replace=False)
        name[i] = pool[int(a)] + pool[int(b)]
    fam: dict[int, str] = {}
    for i in lat.tolist():
        h = int(hhi[i])
        fam.setdefault(h, lx.FOREIGN_SURNAMES[int(rng.integers(0, len(lx.FOREIGN_SURNAMES)))])
        pool = lx.FOREIGN_GIVEN_MALE if sex[i] == 1 else lx.FOREIGN_GIVEN_FEMALE
        name[i] = fam[h] + " " + pool[int(rng.integers(0, len(pool)))]
    kind[uy], kind[tib], kind[lat] = UYGHUR, TIBETAN, LATIN
    surname_len[uy] = surname_len[tib] = surname_len[lat] = 0
    return dict(name=name, kind=kind, surname_len=surname_len)


# --- hard cases that are facts about people --------------------------------------------

def _twins(rng, pop: Population, p) -> None:
    """Two children of one household born the same day; IDs then differ only in sequence."""
    k = hard_case_count("twin", pop.n_active)
    first = np.flatnonzero((pop.role == CHILD) & (p["kid_rank"] == 0) & (pop.age() < 40))
    second = first + 1
    ok = second < len(pop)
    first, second = first[ok], second[ok]
    ok = (pop.household[second] == pop.household[first]) & (pop.role[second] == CHILD)
    first, second = first[ok], second[ok]
    if not first.size or not k:
        return
    pick = rng.choice(first.size, size=min(k, first.size), replace=False)
    a, b = first[pick], second[pick]
    pop.birth[b] = pop.birth[a]
    pop.id_county[b] = pop.id_county[a]
    # Twins' names often share a character: 浩然 / 浩宇.
    han = (pop.name_kind[a] == HAN) & (pop.name_kind[b] == HAN)
    sl = pop.surname_len[a]
    first_given = np.strings.slice(pop.name[a], sl, sl + 1)
    second_given = _given(rng, pop.sex[b], b.shape[0])
    pop.name[b] = np.where(han, cat(np.strings.slice(pop.name[a], 0, sl), first_given,
                                    np.strings.slice(second_given, 0, 1)), pop.name[b])
    pop.flag("twin", a)
    pop.flag("twin", b)


def _same_name_neighbours(rng, pop: Population) -> None:
    """Same common name and birth date, two households, one estate."""
    k = hard_case_count("same_name_neighbour", pop.n_active)
    if not k:
        return
    site = pop.dwellings.site[pop.dwelling]
    adult = (pop.age() >= 20) & (pop.age() <= 70) & (pop.name_kind == HAN) & \
        (pop.doc_type == RESIDENT_ID) & ~pop.flags.get("twin", np.zeros(len(pop), bool))
    cand = np.flatnonzero(adult)
    order = cand[np.lexsort((pop.sex[cand], site[cand]))]
    key = site[order] * 4 + pop.sex[order]
    used = np.zeros(len(pop), bool)
    tries = rng.permutation(order.size)
    done = 0
    for t in tries.tolist():
        if done >= k:
            break
        a = int(order[t])
        lo, hi = np.searchsorted(key, [key[t], key[t] + 1])
        others = order[lo:hi]
        others = others[(pop.household[others] != pop.household[a]) & ~used[others]]
        if used[a] or not others.size:
            continue
        b = int(others[rng.integers(0, others.size)])
        pool = lx.COMMON_NAMES_MALE if pop.sex[a] == 1 else lx.COMMON_NAMES_FEMALE
        common = pool[int(rng.integers(0, len(pool)))]
        pop.name[a] = pop.name[b] = common
        pop.surname_len[a] = pop.surname_len[b] = 1
        pop.birth[b] = pop.birth[a]
        used[a] = used[b] = True
        done += 1
    pop.flag("same_name_neighbour", used)


def _shared_id_numbers(rng, pop: Population) -> np.ndarray:
    """Two people issued the same number (重号): same county, birth date, sex, sequence."""
    fixed = np.zeros(len(pop), bool)
    k = hard_case_count("shared_id_number", pop.n_active)
    cand = np.flatnonzero((pop.doc_type == RESIDENT_ID) & (pop.role != CHILD)
                          & (pop.pop_type == MIGRANT) & (pop.age() >= 25))
    if not k or cand.size < 4:
        return fixed
    for _ in range(k):
        a = int(cand[rng.integers(0, cand.size)])
        same_sex = cand[(pop.sex[cand] == pop.sex[a]) & (pop.household[cand] != pop.household[a])
                        & ~fixed[cand]]
        if fixed[a] or not same_sex.size:
            continue
        b = int(same_sex[rng.integers(0, same_sex.size)])
        pop.birth[b] = pop.birth[a]
        pop.id_county[b] = pop.id_county[a]
        fixed[a] = fixed[b] = True
    pop.flag("shared_id_number", fixed)
    return fixed


def _id_numbers(rng, pop: Population, fixed: np.ndarray) -> None:
    rid = pop.doc_type == RESIDENT_ID
    seq = sequence_for_sex(rng, pop.sex)
    # Twins: the second one's sequence sits right next to the first one's.
    tw = np.flatnonzero(pop.flags.get("twin", np.zeros(len(pop), bool)))
    if tw.size:
        a, b = tw[0::2], tw[1::2]
        step = np.where(pop.sex[a] == pop.sex[b], 2, 1)
        seq[b] = np.where(seq[a] + step <= 999, seq[a] + step, seq[a] - (4 - step))
    # Shared numbers: the second of each pair copies the first's sequence.
    sh = np.flatnonzero(fixed)
    if sh.size:
        birth_key = pop.birth[sh].astype(np.int64) * 10**7 + pop.id_county[sh]
        order = sh[np.argsort(birth_key, kind="stable")]
        seq[order[1::2]] = seq[order[0::2]]
    keep = fixed | pop.flags.get("twin", np.zeros(len(pop), bool))
    r = np.flatnonzero(rid)
    seq[r] = unique_sequences(rng, pop.id_county[r], pop.birth[r], pop.sex[r], seq[r], keep[r])
    pop.id_number[r] = make_ids(pop.id_county[r], pop.birth[r], seq[r])
    # Foreigners: passport or permit numbers.
    for dt in (PASSPORT, HK_MACAU, TAIWAN):
        f = np.flatnonzero(pop.doc_type == dt)
        if not f.size:
            continue
        num = unique_random_ints(rng, 10**6, 10**8, f.size)
        if dt == PASSPORT:
            shape = rng.integers(0, len(lx.PASSPORT_SHAPES), f.size)
            pre = table([s[0] for s in lx.PASSPORT_SHAPES])[shape]
            width = np.array([s[1] for s in lx.PASSPORT_SHAPES])[shape]
            digits = zpad(num, 9)
            pop.id_number[f] = cat(pre, np.strings.slice(digits, 9 - width, 9))
        elif dt == HK_MACAU:
            pre = np.where(rng.random(f.size) < 0.8, "H", "M")
            pop.id_number[f] = cat(pre, zpad(num, 8))
        else:
            pop.id_number[f] = zpad(num, 8)


def _former_names(rng, pop: Population) -> None:
    m = (pop.name_kind == HAN) & (pop.age() >= 8) & (rng.random(len(pop)) < POPULATION["former_name"])
    m &= ~pop.flags.get("same_name_neighbour", np.zeros(len(pop), bool))
    idx = np.flatnonzero(m)
    given = _given(rng, pop.sex[idx], idx.size)
    surname = np.strings.slice(pop.name[idx], 0, pop.surname_len[idx])
    former = cat(surname, given)
    former = np.where(former == pop.name[idx], cat(former, "华"), former)
    pop.former_name[idx] = former


# --- life events ------------------------------------------------------------------------

def _life_events(rng, pop: Population, n_dec: int, n_mov: int) -> None:
    """Pick who moved out (whole households first) and who died: N active stay exactly."""
    n = len(pop)
    H = pop.hh_number.shape[0]
    five_years = np.timedelta64(5 * 365, "D")
    # Migrant households leave more often; exponential keys give a weighted order.
    hh_pt = np.zeros(H, np.int64)
    hh_pt[pop.household] = pop.pop_type
    w = np.where(hh_pt == MIGRANT, 3.0, np.where(hh_pt == FOREIGN, 4.0, 1.0))
    order = np.argsort(rng.exponential(size=H) / w, kind="stable")
    rank = np.full(H, H, np.int64)
    rank[order] = np.arange(H)
    pos_in_order = rank[pop.household]
    # People ordered by (household order, member order); take the first n_mov.
    person_order = np.lexsort((np.arange(n), pos_in_order))
    moved = np.zeros(n, bool)
    moved[person_order[:n_mov]] = True
    # Deaths: mostly the old.
    age = pop.age()
    wd = np.exp((age - 80) / 8.0) + 0.002
    wd[moved] = 0.0
    keys = np.where(wd > 0, rng.exponential(size=n) / np.maximum(wd, 1e-12), np.inf)
    dead = np.zeros(n, bool)
    if n_dec:
        dead[np.argpartition(keys, n_dec - 1)[:n_dec]] = True
    pop.status[moved] = MOVED_OUT
    pop.status[dead] = DECEASED
    ev = moved | dead
    lo = np.maximum(pop.birth[ev] + np.timedelta64(1, "D"), pop.snapshot - five_years)
    pop.status_date[ev] = random_dates(rng, lo, np.full(lo.shape[0], pop.snapshot - np.timedelta64(3, "D")))


def _arrivals(rng, pop: Population) -> None:
    """When each person was registered in / moved into the district."""
    n = len(pop)
    born_here = (pop.pop_type == REGISTERED) & (pop.id_county == lx.DISTRICT_CODE)
    twelve = pop.snapshot - np.timedelta64(12 * 365, "D")
    thirty = pop.snapshot - np.timedelta64(30 * 365, "D")
    lo = np.where(pop.pop_type == REGISTERED, thirty, twelve)
    lo = np.maximum(lo, pop.birth)
    end = np.where(pop.status != ACTIVE, pop.status_date, pop.snapshot) - np.timedelta64(1, "D")
    arr = random_dates(rng, lo, np.maximum(end, lo))
    reg_at_birth = pop.birth + (rng.random(n) * 60).astype(np.int64)
    pop.arrival = np.where(born_here, np.minimum(reg_at_birth, np.maximum(end, pop.birth)), arr)


def _hukou(rng, pop: Population) -> None:
    """Registered people: a district address. Migrants: their home village."""
    reg = pop.pop_type == REGISTERED
    pop.hukou_text[reg] = pop.dwellings.canonical[pop.hukou_dwelling[reg]]
    mig = np.flatnonzero(pop.pop_type == MIGRANT)
    codes = {c[0]: c for c in lx.COUNTIES}
    county_names = table(["".join(codes[c][1:4]) if c in codes else "" for c in
                          pop.id_county[mig].tolist()]) if mig.size else empty(0)
    towns = table(lx.TOWNS)[rng.integers(0, len(lx.TOWNS), mig.size)]
    vills = table(lx.VILLAGES)[rng.integers(0, len(lx.VILLAGES), mig.size)]
    group = strs(rng.integers(1, 13, mig.size))
    pop.hukou_text[mig] = cat(county_names, towns, vills, group, "组")


def _unique_phone_numbers(rng, k: int) -> np.ndarray:
    prefixes = table(lx.MOBILE_PREFIXES)
    pre = rng.integers(0, len(lx.MOBILE_PREFIXES), k)
    tail = unique_random_ints(rng, 0, 10**8, k)  # distinct tails: distinct numbers
    return cat(prefixes[pre], zpad(tail, 8))


def _phones(rng, pop: Population) -> None:
    n = len(pop)
    age = pop.age()
    p_own = np.where(age < 12, 0.0, np.where(age < 16, 0.6, np.where(age < 75, 0.97,
                     np.where(age < 85, 0.6, 0.2))))
    own = rng.random(n) < p_own
    changed = own & (rng.random(n) < POPULATION["changed_mobile"])
    numbers = _unique_phone_numbers(rng, int(own.sum() + changed.sum()))
    pop.mobile[own] = numbers[: int(own.sum())]
    pop.old_mobile[changed] = numbers[int(own.sum()):]
    # Operators reassign numbers: A's old mobile is B's mobile now.
    k = hard_case_count("reassigned_phone", pop.n_active)
    olds = np.flatnonzero(changed)
    others = np.flatnonzero(own & ~changed)
    if k and olds.size and others.size > 1:
        a = rng.choice(olds, size=min(k, olds.size), replace=False)
        b = rng.choice(others, size=a.size, replace=False)
        b_ok = pop.household[b] != pop.household[a]
        a, b = a[b_ok], b[b_ok]
        pop.mobile[b] = pop.old_mobile[a]
        pop.flag("reassigned_phone", a)
        pop.flag("reassigned_phone", b)
    # The household's contact mobile: the first member (head first) who has one.
    H = pop.hh_number.shape[0]
    has = np.flatnonzero(own)  # people are ordered by household, head first
    hh_with, at = np.unique(pop.household[has], return_index=True)
    first = np.full(H, -1, np.int64)
    first[hh_with] = has[at]
    hh_contact = np.where(first >= 0, pop.mobile[np.maximum(first, 0)], "")
    pop.contact_mobile = np.where(own, pop.mobile, hh_contact[pop.household]).astype(T)
    borrowed = ~own & (pop.contact_mobile != "")
    landline = rng.random(H) < POPULATION["landline"]
    tails = unique_random_ints(rng, 0, 10**7, int(landline.sum()))
    lead = table(["8", "3", "6"])[rng.integers(0, 3, tails.size)]
    pop.hh_landline[landline] = cat("020-", lead, zpad(tails, 7))
    pop.flag("shared_phone", borrowed | landline[pop.household])


def _jobs(rng, pop: Population) -> None:
    n = len(pop)
    age = pop.age()
    retire_age = np.where(pop.sex == 1, 60, 55)
    working = (age >= 18) & (age < retire_age)
    mig = pop.pop_type == MIGRANT
    u = rng.random(n)
    emp_p, flex_p, unemp_p = np.where(mig, 0.80, 0.72), 0.10, np.where(mig, 0.04, 0.06)
    job = np.where(u < emp_p, EMPLOYED, np.where(u < emp_p + flex_p, FLEXIBLE,
                   np.where(u < emp_p + flex_p + unemp_p, UNEMPLOYED, NO_JOB)))
    retired = (age >= retire_age) & (rng.random(n) < np.where(pop.pop_type == REGISTERED, 0.85, 0.35))
    pop.employment = np.where(working, job, np.where(retired, RETIRED, NO_JOB)).astype(np.int8)
    # Employers: a pool that grows with the district.
    n_emp = max(40, n // 30)
    brand = table(lx.BRAND_CHARS)
    b1 = brand[rng.integers(0, len(lx.BRAND_CHARS), n_emp)]
    b2 = brand[rng.integers(0, len(lx.BRAND_CHARS), n_emp)]
    ind = table(lx.INDUSTRIES)[rng.integers(0, len(lx.INDUSTRIES), n_emp)]
    form = table(lx.LEGAL_FORMS)[rng.integers(0, len(lx.LEGAL_FORMS), n_emp)]
    city = np.where(rng.random(n_emp) < 0.5, "广州市", np.where(rng.random(n_emp) < 0.5, "广州", "广州市天河区"))
    employers = np.unique(cat(city, b1, b2, ind, form))
    # A few big employers (universities, the metro) take ~8% of jobs; the rest is long-tailed.
    small = rng.pareto(1.5, employers.size) + 1
    big = np.full(len(lx.BIG_EMPLOYERS), small.sum() * 0.08 / 0.92 / len(lx.BIG_EMPLOYERS))
    employers = np.concatenate([table(lx.BIG_EMPLOYERS), employers]).astype(T)
    w = np.concatenate([big, small])
    has_emp = pop.employment == EMPLOYED
    pop.employer[has_emp] = employers[weighted(rng, w, int(has_emp.sum()))]
    # Education by generation and registration.
    young = age < 40
    reg = pop.pop_type == REGISTERED
    edu_w = {  # 小学 初中 高中 中专 大专 本科 研究生
        (True, True): [2, 8, 14, 8, 22, 38, 8], (True, False): [5, 30, 20, 15, 15, 13, 2],
        (False, True): [10, 25, 25, 10, 15, 13, 2], (False, False): [20, 40, 20, 10, 6, 4, 0],
    }
    edu = np.zeros(n, np.int8)
    for (yg, rg), wts in edu_w.items():
        m = (young == yg) & (reg == rg)
        edu[m] = weighted(rng, wts, int(m.sum()))
    pop.education = edu
    pop.disabled = rng.random(n) < POPULATION["disabled"] * np.where(age >= 60, 2.0, 0.7)
    H = pop.hh_number.shape[0]
    hh_reg = np.zeros(H, bool)
    hh_reg[pop.household] = reg
    pop.hh_low_income = hh_reg & (rng.random(H) < POPULATION["low_income_household"])
