"""performance page."""
import streamlit as st

st.title("performance")
