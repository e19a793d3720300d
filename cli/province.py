"""A realistic province for demos and benchmarks: 1 province, 16 cities, ~100 counties,
departments at every level, and N accounts spread over the platforms (each spec's seed_share)."""

from __future__ import annotations

import json
import random
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass

from hub.infra.runtime import Runtime
from hub.platforms import spec as platform_spec
from hub.platforms import specs as platform_specs
from hub.services import accounts as account_service
from hub.services import orgs as org_service

CITIES = ["清江", "云岭", "石门", "安平", "临川", "青阳", "白河", "南屏", "东陵", "西峡",
          "北固", "凤台", "龙泉", "桃源", "金沙", "玉溪"]
COUNTY_SUFFIX = ["县", "区", "县", "县", "区", "县", "市"]
COUNTY_WORDS = ["长宁", "永和", "新安", "富阳", "宝丰", "太平", "兴隆", "广德", "平乐", "和顺",
                "崇义", "会昌", "万载", "修水", "乐安", "宜丰", "铜鼓", "上林", "定南", "安远"]
DEPARTMENTS = ["公安", "交通运输", "卫生健康", "应急管理", "生态环境", "教育", "文化旅游",
               "市场监管", "气象", "消防救援"]


@dataclass(frozen=True)
class SeedResult:
    orgs: int
    accounts: int
    by_platform: dict[str, int]


def province_orgs(rng: random.Random) -> list[org_service.OrgSpec]:
    specs = [org_service.OrgSpec("yun", "云省", "province", None)]
    specs += [org_service.OrgSpec(f"yun-d{d}", f"云省{name}厅", "department", "yun")
              for d, name in enumerate(DEPARTMENTS)]
    for c, city in enumerate(CITIES):
        city_slug = f"c{c:02d}"
        specs.append(org_service.OrgSpec(city_slug, f"{city}市", "city", "yun"))
        specs += [org_service.OrgSpec(f"{city_slug}-d{d}", f"{city}市{name}局", "department",
                                      city_slug) for d, name in enumerate(DEPARTMENTS[:5])]
        for k in range(6 + (c % 2)):
            county_slug = f"{city_slug}-k{k}"
            word = COUNTY_WORDS[(c * 7 + k) % len(COUNTY_WORDS)]
            specs.append(org_service.OrgSpec(county_slug, f"{word}{COUNTY_SUFFIX[k]}", "county",
                                             city_slug))
            specs += [org_service.OrgSpec(f"{county_slug}-d{d}", f"{word}{name}局", "department",
                                          county_slug) for d, name in enumerate(DEPARTMENTS[:2])]
            specs.append(org_service.OrgSpec(f"{county_slug}-rm", f"{word}融媒体中心",
                                             "department", county_slug))
    return specs


def credentials(platform: str, index: int, sandbox: str | None) -> dict[str, str]:
    make = platform_spec(platform).seed_credentials
    assert make is not None, f"{platform} declares no seed credentials"
    return make(index, (sandbox or "http://127.0.0.1:8900").rstrip("/"))


def seeded_platforms() -> dict[str, float]:
    """Share of accounts per platform (the ledger mix the domain brief reports), from the specs."""
    return {name: spec.seed_share for name, spec in platform_specs().items()
            if spec.seed_share > 0 and spec.seed_credentials is not None}


def seed(runtime: Runtime, *, accounts: int, sandbox: str | None = None,
         rng_seed: int = 7) -> SeedResult:
    rng = random.Random(rng_seed)
    orgs = province_orgs(rng)
    with runtime.db.session() as session:
        org_service.bulk_import(session, orgs)
    owners = [o.slug for o in orgs if o.kind != "province"]
    shares = seeded_platforms()
    platforms = list(shares)
    weights = list(shares.values())
    specs: list[account_service.AccountSpec] = []
    counts = dict.fromkeys(platforms, 0)
    names = {o.slug: o.name for o in orgs}
    for index in range(accounts):
        platform = rng.choices(platforms, weights)[0]
        owner = owners[index % len(owners)]
        counts[platform] += 1
        creds = credentials(platform, index, sandbox)
        specs.append(account_service.AccountSpec(
            org=owner, platform=platform,
            name=f"{names[owner]}{_seed_label(platform)}{index:05d}",
            credentials=creds,
            api_base=f"{sandbox.rstrip('/')}/{platform}" if sandbox else None,
            ledger={"responsible_person": rng.choice(["王敏", "李强", "张磊", "刘洋", "陈静"]),
                    "chief_editor": rng.choice(["赵刚", "孙丽", "周军", "吴芳"]),
                    "managing_department": f"{names[owner]}宣传部门",
                    "filing_number": f"云网备{2026}{index:06d}"}))
    for start in range(0, len(specs), 5000):
        with runtime.db.session() as session:
            account_service.bulk_import(session, runtime.box, specs[start:start + 5000])
    if sandbox:
        enrol_in_sandbox(sandbox, [(s.platform, s.credentials or {}) for s in specs])
    return SeedResult(orgs=len(orgs), accounts=accounts, by_platform=counts)


def _seed_label(platform: str) -> str:
    declared = platform_spec(platform)
    return declared.seed_label or declared.label_zh


def enrol_in_sandbox(sandbox: str, accounts: list[tuple[str, Mapping[str, str]]]) -> None:
    """Tell the sandbox's emulators the accounts they must know before accepting a call (the
    sample city-app backend: each app's signing secret)."""
    for platform, creds in accounts:
        enrol = platform_spec(platform).sandbox_account
        if enrol is None:
            continue
        account, body = enrol(creds)
        request = urllib.request.Request(
            f"{sandbox.rstrip('/')}/_sandbox/accounts/{platform}/{account}",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
