"""The top-level package names are generic (`schema` is also a PyPI package)."""

from pathlib import Path

import api
import db
import policies
import schema

ROOT = Path(__file__).resolve().parent.parent


def test_top_level_packages_are_this_projects_own() -> None:
    for package in (api, db, policies, schema):
        assert Path(package.__file__ or "").resolve().parent.parent == ROOT
