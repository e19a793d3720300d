"""`yunchu reach collect` queues the collection jobs on the maintenance queue."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from cli import main
from hub.fanout.queueing import MAINTENANCE_QUEUE, queue
from hub.services.reach import schedule

from .support import ApiRig


@pytest.mark.parametrize("rig", ["postgres"], indirect=True)
def test_reach_collect_queues_one_job_per_platform_batch(rig: ApiRig, monkeypatch):
    for platform in ("wechat", "wechat", "weibo"):
        rig.account("c1-k1", platform)
    settings = rig.hub.runtime.settings
    for name, value in {"YUNCHU_DATABASE_URL": settings.database_url,
                        "YUNCHU_REDIS_URL": settings.redis_url,
                        "YUNCHU_SECRET_KEY": settings.secret_key,
                        "YUNCHU_DATA_DIR": str(settings.data_dir)}.items():
        monkeypatch.setenv(name, value)
    done = CliRunner().invoke(main, ["reach", "collect"])
    assert done.exit_code == 0, done.output
    assert "wechat 1 jobs" in done.output and "weibo 1 jobs" in done.output
    jobs = queue(rig.hub.runtime.redis, MAINTENANCE_QUEUE).jobs
    assert sorted(len(job.args[1]) for job in jobs if job.func_name == schedule.JOB) == [1, 2]
