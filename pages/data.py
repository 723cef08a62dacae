"""Data: import a company's files (all or nothing, with a report) and see what came in when."""

import streamlit as st

from planning.core import KINDS
from planning.ingest import (
    ImportRejected,
    UploadRefused,
    check_upload_size,
    import_file,
    preview_file,
    sniff_layout,
)
from ui import data, upload
from ui import format as fmt
from ui.page import open_page

REPORT_KEY = "data_report"

engine, actor, _ = open_page("Data")
st.caption(
    "Import a file of transactions (customer, date, amount is enough), customers, activities, "
    "activity rates or program spend. A file with any bad row writes nothing; the report "
    "names each bad cell. Importing the same file twice adds nothing."
)

st.subheader("Import a file")
kind = st.selectbox(
    "What the file holds",
    KINDS,
    format_func=upload.KIND_LABELS.get,
    key="data_kind",
    width=upload.CHOICE_WIDTH,
)
file = st.file_uploader(
    "File: CSV, TSV, text or Excel (.xlsx)", type=upload.FILE_TYPES, key="data_file"
)

if file is not None:
    content = file.getvalue()
    try:
        check_upload_size(content, file.name)
        layout = sniff_layout(
            content, file.name
        )  # type checks: planning.ingest.uploads.check_source
    except UploadRefused as refused:
        st.error(f"{fmt.plain(refused)} Nothing was imported.", icon=":material/block:")
    except ImportRejected as rejected:
        upload.show_report(rejected.report)
    else:
        st.caption(f"{fmt.plain(file.name)}: {upload.describe_layout(layout)}")
        st.markdown("**Columns**: which column of the file holds each field (* required)")
        mapping = upload.mapping_inputs(kind, layout, key=f"data_map_{file.file_id}_{kind}")
        date_label = st.selectbox(
            "Dates look like",
            list(upload.DATE_FORMATS),
            key="data_date_format",
            width=upload.CHOICE_WIDTH,
        )
        date_format = upload.DATE_FORMATS[date_label]
        missing = upload.missing_required(kind, mapping)
        if missing:
            st.warning(
                f"Choose a file column for {', '.join(missing)} before importing.",
                icon=":material/warning:",
            )
        else:
            st.markdown("**Preview**: the first rows as they will be read")
            try:
                st.dataframe(
                    preview_file(content, file.name, kind, mapping, date_format, rows=10),
                    hide_index=True,
                    column_config=upload.preview_columns(kind),
                )
            except ImportRejected as rejected:
                upload.show_report(rejected.report)
        if st.button(
            "Validate & import", type="primary", disabled=bool(missing), key="data_import"
        ):
            with st.spinner(f"Checking and importing {file.name}…"):
                st.session_state[REPORT_KEY] = import_file(
                    engine,
                    kind,
                    content,
                    file_name=file.name,
                    mapping=mapping,
                    date_format=date_format,
                    actor=actor,
                )
            st.rerun()  # so the sidebar and history show the new batch

if (report := st.session_state.pop(REPORT_KEY, None)) is not None:
    upload.show_report(report)

st.subheader("Import history")
history = data.load_import_history(engine)
if history.empty:
    st.caption("Nothing imported yet.")
else:
    st.dataframe(history, hide_index=True, column_config=upload.HISTORY_COLUMNS)
