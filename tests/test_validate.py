from conftest import CATALOG_DIR


def test_shipped_catalog_validates(run_cli):
    result = run_cli("validate", CATALOG_DIR, "--json")
    assert result.code == 0, result.out
    assert result.json()["ok"] is True


def test_duplicate_key_is_rejected(run_cli, tmp_path):
    bad = tmp_path / "dup.yaml"
    bad.write_text("name: a\nname: b\n")
    result = run_cli("validate", bad)
    assert result.code == 2
    assert "duplicate key 'name'" in result.out
    assert "line 2" in result.out
