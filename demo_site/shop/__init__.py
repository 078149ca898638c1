"""The demo bookshop: each page shows one thing a request trace reveals."""
