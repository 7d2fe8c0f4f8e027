"""The local web page: the photo page's logic and the Streamlit script."""
