"""The only Streamlit code outside pages/: cached store access and shared widgets."""
