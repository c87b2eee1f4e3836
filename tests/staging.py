"""Run a file through the plan and stage steps inside an open transaction, so a test can call the validate and
commit steps on the staged rows directly."""

from __future__ import annotations

from pathlib import Path

from opsdash import contract
from opsdash.ingest import readers, stage, validate
from opsdash.ingest.params import Params
from opsdash.ingest.plan import Plan, plan_columns, read_source
from opsdash.store import Tx


def staged(tx: Tx, path: Path, work: Path) -> tuple[readers.FileInfo, Plan, stage.Staged]:
    """Plan and stage the file at `path` into _stage (the loader's own steps, without its checks and commit)."""
    info = readers.sniff_file(path, None)
    source = read_source(None, info, None, work, readers.limits())  # type: ignore[arg-type]
    plan = plan_columns(info.name, source.headers, None, None)

    def select(p: Params, source_sql: str, extra: tuple[str, ...]) -> str:
        return validate.stage_select(p, plan.table, plan.bindings, source.headers, plan.phi_indexes, None, "UTC",
                                     source_sql, plan.skip_indexes, plan.order_index, extra, contract.DATE_RANGE)

    for sql in validate.phi_macros():
        tx.execute(sql)
    digest = stage.Digest(info)
    out = stage.stage(tx, info, source, select, digest, None, lambda _m: None, work, readers.limits(), False)
    digest.wait()
    return info, plan, out
