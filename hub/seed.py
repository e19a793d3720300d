"""A realistic province for demos and benchmarks: 1 province, 16 cities, ~100 counties,
departments at every level, and N accounts spread over the four platforms."""

from __future__ import annotations

import base64
import json
import random
import secrets
import urllib.request
from dataclasses import dataclass

from .runtime import Runtime
from .services import accounts as account_service
from .services import orgs as org_service

CITIES = ["清江", "云岭", "石门", "安平", "临川", "青阳", "白河", "南屏", "东陵", "西峡",
          "北固", "凤台", "龙泉", "桃源", "金沙", "玉溪"]
COUNTY_SUFFIX = ["县", "区", "县", "县", "区", "县", "市"]
COUNTY_WORDS = ["长宁", "永和", "新安", "富阳", "宝丰", "太平", "兴隆", "广德", "平乐", "和顺",
                "崇义", "会昌", "万载", "修水", "乐安", "宜丰", "铜鼓", "上林", "定南", "安远"]
DEPARTMENTS = ["公安", "交通运输", "卫生健康", "应急管理", "生态环境", "教育", "文化旅游",
               "市场监管", "气象", "消防救援"]
# Share of accounts per platform, from the ledger mix the domain brief reports.
PLATFORM_WEIGHTS = {"wechat": 0.45, "weibo": 0.30, "douyin": 0.15, "cityapp": 0.10}
PLATFORM_LABEL = {"wechat": "微信公众号", "weibo": "微博", "douyin": "抖音", "cityapp": "客户端"}


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
    token = secrets.token_hex(16)
    if platform == "wechat":
        return {"appid": f"wx{index:016x}", "secret": token}
    if platform == "weibo":
        return {"access_token": f"2.00{token}", "uid": str(5_000_000_000 + index)}
    if platform == "douyin":
        # One hub app for every account; the sandbox reads the account out of seeded tokens
        # (Douyin's refresh call names no open_id), hence "<kind>.<base64 open_id>.<secret>".
        open_id = f"ou_{index:012x}"
        name = base64.urlsafe_b64encode(open_id.encode()).decode().rstrip("=")
        return {"client_key": "yunchu_app", "client_secret": "yunchu-app-secret-" + token[:8],
                "open_id": open_id, "access_token": f"act.{name}.{token}",
                "refresh_token": f"rft.{name}.{token}"}
    base = (sandbox or "http://127.0.0.1:8900").rstrip("/")
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    return {"webhook_url": f"{base}/cityapp/webhook/app{index:06d}", "signing_secret": secret}


def seed(runtime: Runtime, *, accounts: int, sandbox: str | None = None,
         rng_seed: int = 7) -> SeedResult:
    rng = random.Random(rng_seed)
    orgs = province_orgs(rng)
    with runtime.db.session() as session:
        org_service.bulk_import(session, orgs)
    owners = [o.slug for o in orgs if o.kind != "province"]
    platforms = list(PLATFORM_WEIGHTS)
    weights = list(PLATFORM_WEIGHTS.values())
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
            name=f"{names[owner]}{PLATFORM_LABEL[platform]}{index:05d}",
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
        register_cityapps(sandbox, [s.credentials for s in specs if s.platform == "cityapp"])
    return SeedResult(orgs=len(orgs), accounts=accounts, by_platform=counts)


def register_cityapps(sandbox: str, creds: list[dict[str, str] | None]) -> None:
    """Tell the sandbox's sample city-app backend each app's signing secret."""
    for cred in creds:
        assert cred is not None
        app = cred["webhook_url"].rstrip("/").rsplit("/", 1)[-1]
        request = urllib.request.Request(
            f"{sandbox.rstrip('/')}/_sandbox/accounts/cityapp/{app}",
            data=json.dumps({"signing_secret": cred["signing_secret"]}).encode(),
            headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
