"""Upload: drop vendor export files (and optionally a mapping file) and load them exactly as `opsdash ingest`
does, with the per-file report."""

import tempfile
from pathlib import Path

import streamlit as st

from opsdash import uploading
from opsdash.ingest import uploads
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
            outcome = uploading.run(
                [uploading.Sent(up.name, up.getvalue()) for up in files],
                uploading.Sent(mapping.name, mapping.getvalue()) if mapping is not None else None, Path(tmp),
                lambda paths, map_path: data.load_in_worker(paths, map_path, who.user),
                lambda n: st.write(f"Loading {n} file(s) in a separate process, exactly as `opsdash ingest` does, "
                                   "then projecting each vendor's next 13 weeks for the Capacity page and the "
                                   "Overview…"))
            for event in outcome.audit_events(who.user, who.role):
                data.record(event)
            status.update(label=outcome.summary, state=outcome.state)
            st.session_state["up_report"] = outcome.frame
            st.session_state["up_warnings"] = outcome.warnings

if "up_report" in st.session_state:
    st.subheader("Last upload")
    for warning in st.session_state.get("up_warnings", []):
        st.warning(md(warning), icon=":material/warning:")
    widgets.table(st.session_state["up_report"], "upload_report", {}, "Upload report", key="up_table", xlsx=False)
    st.caption("Rejected rows are listed on the Loads and rejects page.")
