"""The bare Streamlit page bench_browser.py measures beside the dashboard: a title, one plotly chart and one
table, with no opsdash code, so the ratio says what opsdash adds to what Streamlit itself costs."""

import numpy as np
import pandas as pd
import plotly.express as px
import streamlit as st

st.set_page_config(page_title="bare", layout="wide")
st.title("Bare page")
rng = np.random.default_rng(0)
df = pd.DataFrame({"month": pd.date_range("2025-01-01", periods=24, freq="MS"),
                   "value": rng.normal(0.9, 0.02, 24).round(4)})
st.plotly_chart(px.line(df, x="month", y="value", title="A series"), width="stretch")
st.dataframe(df, hide_index=True, width="stretch")
