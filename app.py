"""The app ``litestar run`` serves in the repository root (Litestar's CLI finds this module by its
name): rockets' app, built from the environment as ``rockets serve`` builds it, with the
``litestar rockets`` commands (rockets/litestar_cli.py)."""

from rockets.litestar_cli import app_from_env

app = app_from_env()
