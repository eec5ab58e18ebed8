"""compressed page."""
import streamlit as st

st.title("compressed")
