"""`make test`'s set-up step (bin/test-setup): with Chromium missing it installs it or stops at once
saying the exact command to run; with everything there it does nothing, quickly."""

import os
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "bin" / "test-setup"


def run(tmp_path, apt_get, chromium):
    """The script with CHROMIUM pointing at ``chromium`` and a fake apt-get first on PATH."""
    fake = tmp_path / "bin"
    fake.mkdir(exist_ok=True)
    (fake / "apt-get").write_text("#!/bin/sh\n" + apt_get)
    (fake / "apt-get").chmod(0o755)
    env = {**os.environ, "PATH": f"{fake}:{os.environ['PATH']}", "CHROMIUM": str(chromium),
           "TEST_DATABASE_URL": os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/vidu_web")}
    started = time.monotonic()
    result = subprocess.run([str(SCRIPT)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    return result, time.monotonic() - started


def test_without_chromium_and_no_way_to_install_it_it_stops_with_the_command(tmp_path):
    result, seconds = run(tmp_path, "echo 'E: Unable to locate package' >&2; exit 100\n", tmp_path / "no" / "chromium")
    assert result.returncode != 0
    assert "apt-get install -y chromium" in result.stderr
    assert seconds < 10  # at once, not after the test run


def test_without_chromium_it_installs_it_when_it_can(tmp_path):
    chromium = tmp_path / "chromium"
    install = f'[ "$1" = install ] && printf "#!/bin/sh\\n" > {chromium} && chmod +x {chromium}\nexit 0\n'
    result, _ = run(tmp_path, install, chromium)
    if os.geteuid() != 0:  # only root installs; anyone else is told what to run
        assert result.returncode != 0 and "sudo apt-get install -y chromium" in result.stderr
        return
    assert result.returncode == 0, result.stderr
    assert "installing chromium" in result.stderr and chromium.exists()


def test_with_everything_there_it_does_nothing(tmp_path):
    chromium = tmp_path / "chromium"
    chromium.write_text("#!/bin/sh\n")
    chromium.chmod(0o755)
    result, seconds = run(tmp_path, "echo 'apt-get must not run' >&2; exit 1\n", chromium)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "" and seconds < 10
