"""Upload: drop vendor export files (and optionally a mapping file) and load them exactly as `opsdash ingest`
does, with the per-file report."""

import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from opsdash import audit
from opsdash.ingest import uploads
from opsdash.ingest.errors import FileRefused
from opsdash.ingest.loader import LoadReport, reject_warning
from opsdash.ui import auth, boot, data, widgets
from opsdash.ui.text import md

boot.in_app()
st.title("Upload")
who = auth.require_admin("Uploads")
st.caption("CSV, Parquet or Excel exports of claims, audits, work items, calls, service levels or reported KPIs. "
           "Each file is checked against the data contract and loaded in its own transaction: bad rows are kept "
           "as rejects with their line and reason, patient-identifier columns are dropped, a file already loaded "
           "is skipped. Add a mapping file (TOML) when the export's columns differ from the contract.")

with st.form("upload", clear_on_submit=True):
    files = st.file_uploader("Export files", type=[e.lstrip(".") for e in uploads.EXTENSIONS],
                             accept_multiple_files=True, key="up_files", max_upload_size=max(1, uploads.max_bytes() // 2**20),
                             help=f"At most {uploads.max_bytes() / 2**20:,.0f} MB a file; larger files load with "
                                  "`opsdash ingest`.")
    mapping = st.file_uploader("Mapping file (optional)", type=["toml"], key="up_mapping", max_upload_size=1)
    submitted = st.form_submit_button("Load", type="primary", icon=":material/upload:")

if submitted:
    if not files:
        st.warning("Choose at least one file to load.")
    else:
        with tempfile.TemporaryDirectory(prefix="opsdash-upload-") as tmp, \
                st.status(f"Loading {len(files)} file(s)…", expanded=True) as status, widgets.guard("the upload"):
            refused, accepted = [], []
            for up in files:  # checked before anything reads them: size, extension, content, name
                try:
                    accepted.append(uploads.check(up.name, up.getvalue()))
                except FileRefused as exc:
                    refused.append(LoadReport(file=uploads.safe_name(up.name), status="refused", message=str(exc)))
            map_path = None
            if mapping is not None:
                map_dir = Path(tmp) / "mapping"  # apart from the exports, so names never collide
                map_dir.mkdir()
                try:
                    map_path = uploads.save([uploads.check(mapping.name, mapping.getvalue(), mapping=True)], map_dir)[0]
                except FileRefused as exc:
                    refused.append(LoadReport(file=uploads.safe_name(mapping.name), status="refused", message=str(exc)))
                    accepted = []  # the exports were meant to be read through it
            reports = list(refused)
            if accepted:
                paths = uploads.save(accepted, Path(tmp))
                st.write(f"Loading {len(paths)} file(s) in a separate process, exactly as `opsdash ingest` does…")
                reports += data.load_in_worker(paths, map_path, who.user)
            report = pd.DataFrame([r.as_dict() for r in reports])[
                ["file", "status", "table", "rows_read", "rows_loaded", "rows_rejected", "rows_replaced",
                 "phi_columns_dropped", "warnings", "message"]]
            for r in reports:  # every file, refused ones too: who tried to load what
                data.record(audit.Event(user_name=who.user, role=who.role, action="upload", page="Upload",
                                        what=f"{r.file}: {r.status}", row_count=r.rows_loaded if r.load_id else None,
                                        load_ids=(r.load_id,) if r.load_id else ()))
            bad = int((report["status"] == "refused").sum())
            status.update(label=f"{len(reports) - bad} of {len(reports)} file(s) loaded or already present",
                          state="error" if bad else "complete")
            st.session_state["up_report"] = report
            st.session_state["up_warnings"] = [f"{r.file}: {w}" for r in reports if r.status == "loaded"
                                               and (w := reject_warning(r.rows_read, r.rows_rejected))]

if "up_report" in st.session_state:
    st.subheader("Last upload")
    for warning in st.session_state.get("up_warnings", []):
        st.warning(md(warning), icon=":material/warning:")
    widgets.table(st.session_state["up_report"], "upload_report", {}, "Upload report", key="up_table", xlsx=False)
    st.caption("Rejected rows are listed on the Loads and rejects page.")
