"""Faults forced on purpose: full disks, devices and FIFOs as targets, broken and closed output, stop signals."""

from __future__ import annotations

import errno
import json
import os
import random
import signal
import stat
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from osteocheck.errors import OutputError
from osteocheck.writer import write_text
from processes import finish, run, run_python, spawn

OSTEOCHECK = [sys.executable, "-m", "osteocheck"]


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# -- the writer -------------------------------------------------------------------------------------


def test_a_fifo_is_never_replaced_even_with_force(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.md"
    os.mkfifo(fifo)
    with pytest.raises(OutputError, match=r"pipe\.md is a FIFO \(named pipe\), not a regular file"):
        write_text(str(fifo), "client data", force=True)
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert leftovers(tmp_path) == []


def test_a_device_is_never_replaced_even_with_force(tmp_path: Path) -> None:
    node = tmp_path / "null"
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("making a device node needs root")
    with pytest.raises(OutputError, match="is a device, not a regular file"):
        write_text(str(node), "client data", force=True)
    assert stat.S_ISCHR(node.lstat().st_mode)


def test_the_cli_refuses_a_device_target(tmp_path: Path) -> None:
    fifo = tmp_path / "out.md"
    os.mkfifo(fifo)
    result = run([*OSTEOCHECK, "selfcare", "--kyphosis", "--output", str(fifo), "--force"])
    assert result.returncode == 1
    assert result.stderr.strip().endswith("not a regular file; osteocheck writes only regular files")
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.EACCES])
def test_every_os_error_while_writing_is_one_line_naming_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    target = tmp_path / "sheet.md"
    target.write_text("old", encoding="utf-8")

    def failing_fsync(_fd: int) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OutputError) as caught:
        write_text(str(target), "new", force=True)
    assert str(caught.value) == f"cannot write {target}: {os.strerror(code)}"
    assert target.read_text(encoding="utf-8") == "old"
    assert leftovers(tmp_path) == []


def test_a_file_size_limit_is_a_clear_error_and_leaves_nothing(tmp_path: Path) -> None:
    # RLIMIT_FSIZE makes the kernel refuse the write (EFBIG), as a full disk refuses with ENOSPC.
    target = tmp_path / "sheet.pdf"
    code = (
        "import resource, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN);"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (2000, 2000));"
        f"sys.argv = ['osteocheck', 'selfcare', '--kyphosis', '--output', {str(target)!r}];"
        "from osteocheck.cli.entry import main; main()"
    )
    result = run_python(code, check=False)
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip() == f"osteocheck: cannot write {target}: File too large"
    assert list(tmp_path.iterdir()) == []


def test_a_name_near_the_length_limit_still_writes(tmp_path: Path) -> None:
    target = tmp_path / ("a" * 250 + ".md")
    write_text(str(target), "ok", force=False)
    assert target.read_text(encoding="utf-8") == "ok"


# -- standard output --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [["--version"], ["plan", "--kyphosis"], ["plan", "--kyphosis", "--format", "json"], ["schema"], ["techniques"]],
    ids=" ".join,
)
def test_a_full_standard_output_is_one_line_and_exit_1(argv: list[str]) -> None:
    with open("/dev/full", "w", encoding="utf-8") as full:
        result = run([*OSTEOCHECK, *argv], stdout=full)
    assert result.returncode == 1
    assert result.stderr == "osteocheck: cannot write the output: No space left on device\n"


@pytest.mark.parametrize("argv", [["--version"], ["plan", "--kyphosis"], ["plan", "--format", "json"]], ids=" ".join)
def test_a_closed_standard_output_is_one_line_and_exit_1(argv: list[str]) -> None:
    code = f"import os, sys; os.close(1); os.execv(sys.executable, [sys.executable, '-m', 'osteocheck', *{argv!r}])"
    result = run_python(code, check=False)
    assert result.returncode == 1
    assert result.stderr == "osteocheck: cannot write the output: standard output is closed\n"


def test_a_broken_pipe_ends_quietly(tmp_path: Path) -> None:
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps({"id": i, "kyphosis": True}) + "\n" for i in range(20000)), encoding="utf-8")
    code = (
        "import subprocess, sys;"
        f"p = subprocess.Popen([sys.executable, '-m', 'osteocheck', 'batch', {str(rows)!r}], stdout=subprocess.PIPE,"
        " stderr=subprocess.PIPE); p.stdout.readline(); p.stdout.close(); err = p.stderr.read(); p.wait();"
        "print(p.returncode); print(err.decode())"
    )
    out = run_python(code).stdout.splitlines()
    assert out[0] == "1"
    assert "Traceback" not in "\n".join(out) and "internal error" not in "\n".join(out)


# -- signals ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def roster(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("roster") / "roster.jsonl"
    rng = random.Random(7)
    lines = (
        json.dumps({"id": f"C{i}", "t_score": round(rng.uniform(-4, 0), 2), "kyphosis": i % 2 == 0})
        for i in range(150000)
    )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129), (signal.SIGINT, 130)])
@pytest.mark.parametrize("seed", [1, 2])
def test_a_stop_signal_mid_export_leaves_no_temporary_file(
    tmp_path: Path, roster: Path, signum: int, code: int, seed: int
) -> None:
    out = tmp_path / "out" / "screening.jsonl"
    out.parent.mkdir()
    with spawn([*OSTEOCHECK, "batch", str(roster), "--output", str(out)]) as child:
        _wait_for_temporary(out.parent, child)
        time.sleep(random.Random(seed).uniform(0, 0.3))  # a real signal at a random moment of the export
        child.send_signal(signum)
        returncode, _, err = finish(child)
    assert returncode in (code, 0), err
    assert "Traceback" not in err
    assert leftovers(out.parent) == []
    if returncode == 0:  # it finished first: the file is whole
        assert len(out.read_text(encoding="utf-8").splitlines()) == 150000
    else:
        assert not out.exists()


def _wait_for_temporary(folder: Path, child: Any) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not leftovers(folder) and child.poll() is None:
        time.sleep(0.01)


def test_ctrl_c_while_starting_is_quiet() -> None:
    # From the package's first line on, Ctrl-C during start-up (imports) ends quietly with 130.
    code = "import os, signal; import osteocheck.cli.entry; os.kill(os.getpid(), signal.SIGINT); import time; time.sleep(5)"
    result = run_python(code, check=False)
    assert result.returncode == 130
    assert result.stderr == "osteocheck: interrupted\n"


def test_a_full_stderr_does_not_fail_a_finished_export(tmp_path: Path) -> None:
    target = tmp_path / "sheet.md"
    code = (
        "import os, sys; fd = os.open('/dev/full', os.O_WRONLY); os.dup2(fd, 2);"
        f"sys.argv = ['osteocheck', 'selfcare', '--kyphosis', '--output', {str(target)!r}];"
        "from osteocheck.cli.entry import main; main()"
    )
    result = run_python(code, check=False)
    assert result.returncode == 0
    assert target.read_text(encoding="utf-8").startswith("#")


def test_batch_memory_stays_flat_on_distinct_rows(tmp_path: Path) -> None:
    rng = random.Random(11)

    def peak_kib(rows: int) -> int:
        source = tmp_path / f"r{rows}.jsonl"
        with source.open("w", encoding="utf-8") as handle:
            for i in range(rows):
                row = {
                    "id": i,
                    "t_score": round(rng.uniform(-4, 0), 3),
                    "open_wounds": rng.sample(["feet", "hips", "spine", "ribs"], 2),
                }
                handle.write(json.dumps(row) + "\n")
        probe = (
            "import resource, subprocess, sys;"
            # to standard output, thrown away: 8,000 whole plans are 400 MB, which a small /tmp may not hold
            f"subprocess.run([sys.executable, '-m', 'osteocheck', 'batch', {str(source)!r}, '--full'], check=True, stdout=subprocess.DEVNULL);"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
        )
        return int(run_python(probe, timeout=120).stdout)

    small, large = peak_kib(2000), peak_kib(8000)
    assert large <= small * 1.25 + 8 * 1024, (small, large)
    # whole plans are ~50 KB each: screened 40 at a time, not 500 (which made peaks of ~100 MiB)
    assert large < 60 * 1024, (small, large)


def test_a_non_blocking_standard_output_loses_no_row(tmp_path: Path) -> None:
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps({"id": i, "kyphosis": True}) + "\n" for i in range(3000)), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    code = (
        "import os, subprocess, sys, time;"
        "r, w = os.pipe(); os.set_blocking(w, False);"
        f"p = subprocess.Popen([sys.executable, '-m', 'osteocheck', 'batch', {str(rows)!r}], stdout=w);"
        "os.close(w); time.sleep(1); data = b''\n"
        "while chunk := os.read(r, 65536): data += chunk\n"
        f"p.wait(); open({str(out)!r}, 'wb').write(data); print(p.returncode)"
    )
    assert run_python(code).stdout.strip() == "0"
    assert len(out.read_text(encoding="utf-8").splitlines()) == 3000
