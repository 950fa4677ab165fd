"""The Dagster definitions: the asset graph is pinned, and schedule and sensor drive the same job."""

from __future__ import annotations

import datetime as dt
import os
import time

from dagster import build_sensor_context, DagsterInstance

from pipelines.definitions import defs
from pipelines.sensors import landing_sensor
from pipelines.resources import LandingZone
from tests.pipeline.landing import make_day

SOURCES = ["civil_affairs", "family_planning", "labour", "police", "social_security"]


def test_asset_graph_snapshot():
    graph = defs.resolve_asset_graph()
    keys = sorted(k.to_user_string() for k in graph.get_all_asset_keys())
    assert keys == sorted(["sync_plan", "warehouse_tables", "residents", "published_warehouse",
                           *[f"{s}_records" for s in SOURCES]])
    deps = {k.to_user_string(): sorted(p.to_user_string() for p in graph.get(k).parent_keys)
            for k in graph.get_all_asset_keys()}
    assert deps["police_records"] == ["sync_plan"]
    assert deps["warehouse_tables"] == sorted(["sync_plan", *[f"{s}_records" for s in SOURCES]])
    assert deps["residents"] == ["warehouse_tables"]
    assert deps["published_warehouse"] == ["residents"]
    checks = sorted(k.to_user_string() for k in graph.asset_check_keys)
    assert "police_records:rows_conserved" in checks and "police_records:standard_rules" in checks
    assert "warehouse_tables:nothing_lost" in checks
    assert "residents:every_record_one_resident" in checks


def test_schedule_and_sensor_run_the_nightly_job():
    job = defs.resolve_job_def("nightly_sync")
    assert job.executor_def.name == "in_process"
    schedule = defs.resolve_schedule_def("nightly_sync_schedule")
    assert schedule.job_name == "nightly_sync" and schedule.cron_schedule == "30 2 * * *"
    assert schedule.execution_timezone == "Asia/Shanghai"
    assert defs.resolve_sensor_def("landing_sensor").job_name == "nightly_sync"


def test_schedule_tick_syncs_the_previous_day():
    from zoneinfo import ZoneInfo

    from dagster import build_schedule_context

    from pipelines.schedules import nightly_sync_schedule

    tick = dt.datetime(2026, 11, 21, 2, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    with DagsterInstance.ephemeral() as instance:
        request = nightly_sync_schedule(build_schedule_context(instance=instance, scheduled_execution_time=tick))
    assert request.partition_key == "2026-11-20"


def _age(path, seconds_ago: float):
    t = time.time() - seconds_ago
    os.utime(path, (t, t))


def test_sensor_requests_each_new_date_once_and_again_on_resend(tmp_path):
    landing = tmp_path / "landing"
    make_day(landing, dt.date(2026, 11, 19), sources=["police"])
    make_day(landing, dt.date(2026, 11, 20), sources=["police", "labour"])
    files = sorted(p for p in landing.rglob("*") if p.is_file())
    for f in files:
        _age(f, 3600)
    res = {"landing": LandingZone(path=str(landing))}
    with DagsterInstance.ephemeral() as instance:
        ctx = build_sensor_context(instance=instance, resources=res)
        first = list(landing_sensor(ctx))
        assert sorted(r.partition_key for r in first) == ["2026-11-19", "2026-11-20"]
        ctx2 = build_sensor_context(instance=instance, cursor=ctx.cursor, resources=res)
        again = list(landing_sensor(ctx2))
        assert len(again) == 1 and not hasattr(again[0], "partition_key")  # SkipReason: nothing new
        resent = landing / "police" / "2026-11-20" / "gongan_syrk_20261120.csv"
        _age(resent, 1800)  # a corrected file re-sent under the same name
        ctx3 = build_sensor_context(instance=instance, cursor=ctx2.cursor or ctx.cursor, resources=res)
        third = list(landing_sensor(ctx3))
        assert [r.partition_key for r in third] == ["2026-11-20"]
        assert third[0].run_key not in {r.run_key for r in first}  # Dagster would skip a repeated key


def test_sensor_waits_for_a_file_still_being_written(tmp_path):
    landing = tmp_path / "landing"
    make_day(landing, dt.date(2026, 11, 20), sources=["police"])  # just written: mtime is now
    res = {"landing": LandingZone(path=str(landing))}
    with DagsterInstance.ephemeral() as instance:
        out = list(landing_sensor(build_sensor_context(instance=instance, resources=res)))
    assert len(out) == 1 and not hasattr(out[0], "partition_key")


def test_workspace_yaml_loads_the_definitions():
    """`dagster dev -w workspace.yaml` loads the same code location the tests use."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    dagster = Path(sys.executable).with_name("dagster")
    proc = subprocess.run([str(dagster), "definitions", "validate", "-w", "workspace.yaml"], cwd=root,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Validation successful for code location pipelines.definitions" in proc.stderr + proc.stdout



def _python(code: str, env_value: str | None) -> str:
    """Run ``code`` in a fresh interpreter at the repository root, with DUCKDB_JE_MALLOC_CONF set
    to ``env_value`` (unset if None); its stdout and stderr."""
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if k != "DUCKDB_JE_MALLOC_CONF"}
    if env_value is not None:
        env["DUCKDB_JE_MALLOC_CONF"] = env_value
    proc = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2], env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout + proc.stderr


def test_entry_points_set_duckdb_allocator_before_duckdb_loads():
    """DuckDB's jemalloc reads its options once, when it starts: the Dagster definitions and the
    CLI must have set them by the time anything imports duckdb. Freed pages are then not handed
    back on a timer (the 1M sync was ≈ 3 s slower with DuckDB's 1 s default)."""
    from shiyou import DUCKDB_ALLOCATOR_CONF

    watch = ("import os, sys\nseen = []\n"
             "class Watch:\n"
             "    def find_spec(self, name, path=None, target=None):\n"
             "        if name == 'duckdb' and not seen:\n"
             "            seen.append(os.environ.get('DUCKDB_JE_MALLOC_CONF'))\n"
             "sys.meta_path.insert(0, Watch())\n")
    for entry in ("pipelines.definitions", "shiyou.cli", "shiyou.sync"):
        out = _python(watch + f"import {entry}\nimport duckdb\nprint('AT IMPORT', seen)\n", None)
        assert f"AT IMPORT [{DUCKDB_ALLOCATOR_CONF!r}]" in out, (entry, out[-500:])
    # An operator's own setting is left alone.
    out = _python(watch + "import pipelines.definitions\nprint('AT IMPORT', seen)\n", "dirty_decay_ms:5000")
    assert "AT IMPORT ['dirty_decay_ms:5000']" in out


def test_duckdb_honours_the_allocator_setting():
    """The variable's name is DuckDB's (its jemalloc is built with the prefix duckdb_je_): with the
    setting, the allocator reports no timed hand-back and keeps DuckDB's own other options."""
    report = _python("import os, shiyou\nos.environ['DUCKDB_JE_MALLOC_CONF'] += ',stats_print:true'\n"
                     "import duckdb\nduckdb.sql('SELECT 1').fetchall()\n", None)
    assert "opt.dirty_decay_ms: -1" in report and "opt.muzzy_decay_ms: -1" in report
    assert "opt.narenas: 2" in report  # DuckDB's compiled-in options are kept
