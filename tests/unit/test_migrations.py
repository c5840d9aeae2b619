from db.migrate import is_current, upgrade


def test_db_upgrade_is_safe_to_run_twice(database_url: str) -> None:
    upgrade(database_url)
    upgrade(database_url)
    assert is_current(database_url)
