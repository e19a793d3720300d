"""`yunchu import` on embedded defaults: orgs then accounts from CSV sheets, an upsert on the
second run, and a clear error (no traceback) for a broken file or a wrong row."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def _yunchu(data: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("YUNCHU_")}
    return subprocess.run([sys.executable, "-m", "cli", *args],
                          env={**env, "YUNCHU_DATA_DIR": str(data)}, capture_output=True,
                          text=True, timeout=120)


def test_import_orgs_then_accounts_and_again(tmp_path: Path):
    data = tmp_path / "data"
    orgs = tmp_path / "orgs.csv"
    orgs.write_text("\ufeffslug,name,kind,parent\nyun,云省,province,\nc1,云州市,city,yun\n",
                    encoding="utf-8")
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("org,platform,name,credentials.access_token,responsible_person\n"
                        "c1,weibo,云州发布,2.00abcdefghijklmnop,李明\n", encoding="utf-8")
    done = _yunchu(data, "import", "orgs", str(orgs))
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"created": 2, "updated": 0}
    done = _yunchu(data, "import", "accounts", str(accounts))
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"created": 1, "updated": 0}
    done = _yunchu(data, "import", "accounts", str(accounts))
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"created": 0, "updated": 1}
    assert "2.00abcdefghijklmnop" not in done.stdout + done.stderr

    wrong = _yunchu(data, "import", "accounts", str(orgs))  # an org sheet is no account sheet
    assert wrong.returncode != 0 and "accounts[0]" in wrong.stderr
    broken = tmp_path / "broken.json"
    broken.write_text("[", encoding="utf-8")
    failed = _yunchu(data, "import", "accounts", str(broken))
    assert failed.returncode != 0 and "JSON" in failed.stderr
    assert "Traceback" not in wrong.stderr + failed.stderr
