"""The function-length check of `make lint` finds long functions and only those."""

from scripts.function_lengths import long_functions, main


def _function(name: str, body_lines: int, indent: str = "") -> str:
    body = "".join(f"{indent}    x{i} = {i}\n" for i in range(body_lines))
    return f"{indent}def {name}():\n{body}"


def test_reports_long_functions_and_methods_with_their_length(tmp_path):
    source = tmp_path / "module.py"
    source.write_text(
        _function("short", 79)
        + _function("long", 80)
        + "class Thing:\n"
        + "    @staticmethod\n"
        + _function("method", 85, indent="    ")
    )
    found = list(long_functions(source, limit=80))
    assert [(name, length) for _, name, length in found] == [
        ("long", 81),
        ("Thing.method", 87),
    ]


def test_exit_status_says_whether_any_was_found(tmp_path, capsys):
    ok = tmp_path / "ok.py"
    ok.write_text(_function("short", 10))
    assert main([str(ok)]) == 0
    bad = tmp_path / "migrations_free" / "bad.py"
    bad.parent.mkdir()
    bad.write_text(_function("long", 100))
    assert main([str(tmp_path)]) == 1
    assert "long is 101 lines" in capsys.readouterr().out


def test_migrations_are_left_out(tmp_path):
    migration = tmp_path / "migrations" / "0001_initial.py"
    migration.parent.mkdir()
    migration.write_text(_function("operations", 200))
    assert main([str(tmp_path)]) == 0
