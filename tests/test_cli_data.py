import subprocess
import sys

from agegender.cli import main
from conftest import ADIENCE_FOLDS


def test_adience_build_writes_manifest(tmp_path, capsys):
    out = tmp_path / "a.csv"
    assert main(["data", "adience", str(ADIENCE_FOLDS), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "total         6       7          0     13" in text
    assert "fold_1_data.txt:6" in text  # the malformed line is named
    assert out.is_file() and (tmp_path / "a.summary.json").is_file()
    assert main(["data", "stats", str(out), "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "total,6,7,0,13"


def test_errors_are_one_line_with_exit_2(tmp_path, capsys):
    assert main(["data", "adience", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("agegender: error:") and "missing" in err and "Traceback" not in err
    bad = tmp_path / "bad.csv"
    bad.write_text("path,source\n")
    bad.write_text("path,source,age_group\na,s,99\n")
    assert main(["data", "stats", str(bad)]) == 2
    assert "bad.csv:2" in capsys.readouterr().err


def test_console_script_help():
    r = subprocess.run([sys.executable, "-m", "agegender", "data", "adience", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "--mode {strict,lenient}" in r.stdout
