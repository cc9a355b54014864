"""Bad input (issue 15): every malformed site or secrets file ends in a SiteError (exit status
2) with a code and a place, never a traceback, in bounded time and memory.

The corpus under bad_input/ holds one file per case, named ``<code>--<what>.yaml``, with a
``# expect: <code> line <n>`` header; each is one edit of a valid file in bad_input/valid/.
Binary, huge and special files are made here instead (GENERATED).
"""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import pytest

from hastack import catalog
from hastack.catalog.secret_text import SecretRef
from hastack.errors import Problem, SiteError
from hastack.secrets import ensure_secrets, read_secrets
from hastack.site.yaml_input import MAX_BYTES, MAX_VALUES

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).resolve().parent / "bad_input"
VALID = CORPUS / "valid"
SITE_FILES = sorted((CORPUS / "site").glob("*.yaml"))
SECRETS_FILES = sorted((CORPUS / "secrets").glob("*.yaml"))
HEADER = re.compile(r"^# expect: (?P<code>[a-z0-9-]+) line (?P<line>\d+)\s*$", re.MULTILINE)
HASTACK = Path(sys.executable).with_name("hastack")

MAX_MEMORY = 200 * 2**20
HANG_SECONDS = 10  # catches a hang or a blow-up, not a slow run on a busy machine
# The secrets of the valid secrets file, by kind: bmc-ctl1 a lab BMC's (IPMI, generated),
# bmc-ctl3 a real BMC's (user-supplied: maybe Redfish, so no IPMI length limit).
REFS = (SecretRef("admin-keystone"), SecretRef("bmc-ctl1", kind="ipmi"),
        SecretRef("bmc-ctl3", kind="ipmi", user_supplied=True),
        SecretRef("corosync-authkey-openstack", kind="key"),
        SecretRef("keystone-fernet-0", kind="fernet"))


# --- measuring a refusal ---------------------------------------------------------------------


@contextmanager
def deadline(seconds: int) -> Iterator[None]:
    def expire(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@dataclass(frozen=True)
class Refusal:
    problems: tuple[Problem, ...]
    seconds: float
    peak: int

    def errors(self, code: str) -> list[Problem]:
        return [p for p in self.problems if p.code == code and p.is_error]


def refusal(load: Callable[[], object]) -> Refusal:
    """The SiteError ``load`` raises, with the time it took and its peak of traced memory."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with deadline(HANG_SECONDS), pytest.raises(SiteError) as info:
            load()
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    print(f"refused in {seconds:.3f} s, peak {peak / 2**20:.1f} MiB")  # -s shows the figures
    return Refusal(info.value.problems, seconds, peak)


def check(result: Refusal, path: Path, code: str, line: int | None) -> None:
    """``code`` is among the errors, each placed in ``path`` (at ``line`` when given, at some
    line when ``line`` is None, at no line when 0), and memory stayed bounded."""
    hits = result.errors(code)
    assert hits, f"expected {code}, got {[p.code for p in result.problems]}"
    for p in result.problems:
        assert p.where.startswith(str(path)), p
    if line == 0:
        assert all(p.where == str(path) for p in hits)
    else:
        assert all(p.line >= 1 and p.where == f"{path}:{p.line}:{p.column}" for p in hits)
        assert line is None or line in {p.line for p in hits}
    assert result.peak < MAX_MEMORY


def load_site(path: Path) -> Callable[[], object]:
    return lambda: catalog.load(path)


def load_secrets(path: Path) -> Callable[[], object]:
    return lambda: read_secrets(path, REFS)


def expectation(path: Path) -> tuple[str, int]:
    match = HEADER.search(path.read_text(encoding="utf-8"))
    assert match, f"{path.name} lacks a '# expect: <code> line <n>' header"
    assert path.stem.split("--")[0] == match["code"], "file name and header disagree"
    return match["code"], int(match["line"])


# --- the corpus ------------------------------------------------------------------------------


def test_valid_bases_load() -> None:
    """Each corpus file is one edit away from these: the edit is what gets it refused."""
    for name in ("real.yaml", "lab.yaml"):
        catalog.load(VALID / name)
    assert set(read_secrets(VALID / "site.secrets.yaml", REFS)) == {r.name for r in REFS}


def test_corpus_size() -> None:
    assert len(SITE_FILES) + len(SECRETS_FILES) + len(GENERATED) >= 100


@pytest.mark.parametrize("path", SITE_FILES, ids=lambda p: p.stem)
def test_bad_site_file(path: Path) -> None:
    code, line = expectation(path)
    check(refusal(load_site(path)), path, code, line)


@pytest.mark.parametrize("path", SECRETS_FILES, ids=lambda p: p.stem)
def test_bad_secrets_file(path: Path) -> None:
    code, line = expectation(path)
    check(refusal(load_secrets(path)), path, code, line)


# --- generated: binary, huge and special files -----------------------------------------------


def real_site() -> str:
    return (VALID / "real.yaml").read_text(encoding="utf-8")


def line_of(text: str, needle: str) -> int:
    return text[:text.index(needle)].count("\n") + 1


def region(value: bytes) -> tuple[bytes, int]:
    """The valid site with ``value`` as its region, and the region's line."""
    text = real_site()
    return text.replace("region: RegionOne", "region: @@").encode().replace(b"@@", value), \
        line_of(text, "region:")


def write(data: bytes, line: int | None) -> Callable[[Path], tuple[Path, int | None]]:
    def make(tmp: Path) -> tuple[Path, int | None]:
        path = tmp / "input.yaml"
        path.write_bytes(data)
        return path, line
    return make


def in_region(value: bytes) -> Callable[[Path], tuple[Path, int | None]]:
    return write(*region(value))


def alias_bomb(levels: int, width: int) -> bytes:
    rows = ["a0: &a0 [" + ", ".join(["lol"] * width) + "]"]
    rows += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]"
             for i in range(1, levels)]
    return "\n".join(rows).encode()


def nested_block(levels: int) -> bytes:
    return "".join(f"{'  ' * i}k{i}:\n" for i in range(levels)).encode() + b"  " * levels + b"x\n"


def directory(tmp: Path) -> tuple[Path, int | None]:
    path = tmp / "dir.yaml"
    path.mkdir()
    return path, 0


def fifo(tmp: Path) -> tuple[Path, int | None]:
    path = tmp / "fifo.yaml"
    os.mkfifo(path)  # opening it would block for ever: it must be refused unopened
    return path, 0


def device(name: str) -> Callable[[Path], tuple[Path, int | None]]:
    return lambda tmp: (Path("/dev") / name, 0)


def sparse(tmp: Path) -> tuple[Path, int | None]:
    path = tmp / "sparse.yaml"
    with path.open("wb") as out:
        out.truncate(2**30)  # 1 GiB of zeros on no disk
    return path, 0


def missing(tmp: Path) -> tuple[Path, int | None]:
    return tmp / "absent.yaml", 0


def dangling(tmp: Path) -> tuple[Path, int | None]:
    path = tmp / "link.yaml"
    path.symlink_to(tmp / "nowhere.yaml")
    return path, 0


def under_a_file(tmp: Path) -> tuple[Path, int | None]:
    (tmp / "file").write_text("x", encoding="utf-8")
    return tmp / "file" / "site.yaml", 0


def long_name(tmp: Path) -> tuple[Path, int | None]:
    return tmp / ("n" * 5000 + ".yaml"), 0


@dataclass(frozen=True)
class Case:
    id: str
    code: str
    make: Callable[[Path], tuple[Path, int | None]]


def site_cases() -> list[Case]:
    text = real_site()
    rng = random.Random(15)
    return [
        Case("latin1-region", "site-not-utf8", in_region("Région".encode("latin-1"))),
        Case("utf16-file", "site-not-utf8", write(text.encode("utf-16"), 1)),
        Case("png-header", "site-not-utf8", write(b"\x89PNG\r\n\x1a\n" + bytes(range(256)), 1)),
        Case("random-binary", "site-not-utf8", write(b"\x80" + rng.randbytes(4096), 1)),
        Case("truncated-multibyte", "site-not-utf8",
             write(text.encode() + b"# \xe2\x82", text.count("\n") + 1)),
        Case("overlong-slash", "site-not-utf8", in_region(b"\xc0\xaf")),
        Case("surrogate", "site-not-utf8", in_region(b"\xed\xa0\x80")),
        Case("nul", "site-bad-character", in_region(b"Reg\x00ion")),
        Case("escape", "site-bad-character", in_region(b"\x1b[31mRegion")),
        Case("bell", "site-bad-character", in_region(b"Region\x07")),
        Case("delete", "site-bad-character", in_region(b"Region\x7f")),
        Case("vertical-tab", "site-bad-character", in_region(b"Reg\x0bion")),
        Case("form-feed", "site-bad-character", in_region(b"Reg\x0cion")),
        Case("c1-next-line", "site-bad-character", in_region("Reg\x85ion".encode())),
        Case("non-character", "site-bad-character", in_region("Reg\ufffeion".encode())),
        Case("all-nul", "site-bad-character", write(b"\x00" * 4096, 1)),
        Case("comments-over-cap", "site-too-large",
             write(text.encode() + b"#" * (MAX_BYTES + 1 - len(text)), 0)),
        Case("one-huge-line", "site-too-large", write(b"name: " + b"a" * MAX_BYTES, 0)),
        Case("sparse-1gib", "site-too-large", sparse),
        Case("long-list", "site-too-many-values",
             write(b"nodes: [" + b"1, " * (MAX_VALUES + 10) + b"1]", 1)),
        Case("many-keys", "site-too-many-values",
             write(b"".join(b"k%d: 1\n" % i for i in range(MAX_VALUES)), None)),
        Case("100k-brackets", "site-too-deep", write(b"[" * 100_000, 1)),
        Case("10k-flow-maps", "site-too-deep", write(b"{a: " * 10_000, 1)),
        Case("40-block-levels", "site-too-deep", write(nested_block(40), None)),
        Case("1000-dashes", "site-too-deep", write(b"- " * 1000 + b"x", 1)),
        Case("alias-bomb-20x20", "site-yaml-alias", write(alias_bomb(20, 20), 2)),
        Case("directory", "site-not-a-file", directory),
        Case("fifo", "site-not-a-file", fifo),
        Case("dev-null", "site-not-a-file", device("null")),
        Case("dev-zero", "site-not-a-file", device("zero")),
        Case("missing", "site-not-readable", missing),
        Case("dangling-symlink", "site-not-readable", dangling),
        Case("under-a-file", "site-not-readable", under_a_file),
        Case("name-too-long", "site-not-readable", long_name),
    ]


def secrets_cases() -> list[Case]:
    valid = (VALID / "site.secrets.yaml").read_bytes()
    return [
        Case("latin1-value", "secrets-not-utf8", write(b"admin-keystone: p\xe4ss\n", 1)),
        Case("binary", "secrets-not-utf8", write(b"\xff\xfe" + bytes(range(256)), 1)),
        Case("raw-escape", "secrets-bad-character", write(valid + b"x: a\x1bb\n", 6)),
        Case("over-cap", "secrets-too-large", write(b"#" * (MAX_BYTES + 1), 0)),
        Case("sparse-1gib", "secrets-too-large", sparse),
        Case("many-values", "secrets-too-many-values",
             write(b"".join(b"s%d: v\n" % i for i in range(MAX_VALUES)), None)),
        Case("100k-brackets", "secrets-too-deep", write(b"x: " + b"[" * 100_000, 1)),
        Case("alias-bomb-20x20", "secrets-yaml-alias", write(alias_bomb(20, 20), 2)),
        Case("directory", "secrets-not-a-file", directory),
        Case("fifo", "secrets-not-a-file", fifo),
        Case("under-a-file", "secrets-not-readable", under_a_file),
    ]


GENERATED = [("site", c) for c in site_cases()] + [("secrets", c) for c in secrets_cases()]


@pytest.mark.parametrize(("kind", "case"), GENERATED, ids=lambda c: getattr(c, "id", c))
def test_generated(tmp_path: Path, kind: str, case: Case) -> None:
    path, line = case.make(tmp_path)
    result = refusal(load_site(path) if kind == "site" else load_secrets(path))
    check(result, path, case.code, line)


def test_unreadable_site(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads a file of mode 000")
    path = tmp_path / "site.yaml"
    path.write_text(real_site(), encoding="utf-8")
    path.chmod(0)
    check(refusal(load_site(path)), path, "site-not-readable", 0)


# --- secrets by kind, and through ensure_secrets ----------------------------------------------


def test_user_supplied_bmc_password_may_be_long(tmp_path: Path) -> None:
    """A real BMC's password may be a Redfish one: no IPMI limit of 20 bytes."""
    path = tmp_path / "s.yaml"
    path.write_text("bmc-ctl3: " + "r" * 40 + "\n", encoding="utf-8")
    assert read_secrets(path, REFS)["bmc-ctl3"] == "r" * 40


def test_ensure_secrets_checks_kinds(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("keystone-fernet-0: short\n", encoding="utf-8")
    result = refusal(lambda: ensure_secrets(path, REFS))
    check(result, path, "secrets-value-malformed", 1)
    assert path.read_text(encoding="utf-8") == "keystone-fernet-0: short\n"


def test_secrets_directory_missing(tmp_path: Path) -> None:
    path = tmp_path / "absent" / "s.yaml"
    result = refusal(lambda: ensure_secrets(path, [SecretRef("keystone-db")]))
    check(result, path, "secrets-not-writable", 0)


@pytest.mark.parametrize(("line", "secret"), [("a: 2024-02-30", "2024-02-30"),
                                              ("a: 012345", "012345"),
                                              ('a: "pass\\nword"', "pass\nword"),
                                              ("a: !!int secret", "secret")])
def test_messages_never_quote_a_secret(tmp_path: Path, line: str, secret: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(line + "\n", encoding="utf-8")
    result = refusal(load_secrets(path))
    assert not [p for p in result.problems if secret in p.what + p.fix]


def test_problems_are_capped(tmp_path: Path) -> None:
    """300 wrong nodes are reported by their first 100 and a count of the rest."""
    path = tmp_path / "site.yaml"
    path.write_text("name: x\nnetworks: {internal: 10.0.0.0/24}\nnodes: [" + "1, " * 299
                    + "1]\n", encoding="utf-8")
    result = refusal(load_site(path))
    assert len(result.problems) == 101
    assert result.problems[-1].code == "site-more-problems"
    assert "200 more" in result.problems[-1].what
    assert not result.problems[-1].is_error


# --- every code has a case -------------------------------------------------------------------


def declared(prefix: str) -> set[str]:
    """The codes load.py raises for a file kind, and those secrets.py raises."""
    load = (ROOT / "src" / "hastack" / "site" / "load.py").read_text(encoding="utf-8")
    kinds = set(re.findall(r'(?:refuse|code)\(\s*"([a-z-]+)"', load))
    codes = {f"{prefix}-{k}" for k in kinds}
    if prefix == "secrets":
        text = (ROOT / "src" / "hastack" / "secrets.py").read_text(encoding="utf-8")
        codes |= set(re.findall(r'"(secrets-[a-z-]+)"', text))
    return codes


NO_CASE = {"secrets-not-writable": "written, not read: test_secrets_directory_missing",
           "secrets-missing": "no file to read: test_secrets_lifecycle",
           "secrets-unknown-name": "a name given to rotate: test_secrets_rotate",
           "secrets-not-rotated": "a name given to rotate: test_secrets_rotate"}


@pytest.mark.parametrize("prefix", ["site", "secrets"])
def test_every_code_has_a_case(prefix: str) -> None:
    files = SITE_FILES if prefix == "site" else SECRETS_FILES
    covered = {p.stem.split("--")[0] for p in files}
    covered |= {c.code for kind, c in GENERATED if kind == prefix}
    assert declared(prefix) - covered - set(NO_CASE) == set()


# --- through the command line ----------------------------------------------------------------


CLI_CASES = [
    ("binary", "site-not-utf8", lambda tmp: write(b"\x89PNG\r\n\x1a\n\x00\xff", 1)(tmp)[0]),
    ("alias-bomb", "site-yaml-alias", lambda tmp: CORPUS / "site" / "site-yaml-alias--bomb.yaml"),
    ("deep", "site-too-deep", lambda tmp: write(b"[" * 100_000, 1)(tmp)[0]),
    ("directory", "site-not-a-file", lambda tmp: directory(tmp)[0]),
    ("huge-integer", "site-number-too-large",
     lambda tmp: CORPUS / "site" / "site-number-too-large--5000-digits.yaml"),
    ("vip-range-slash8", "site-vip-range-too-large",
     lambda tmp: CORPUS / "site" / "site-vip-range-too-large--slash8.yaml"),
    ("complex-key", "site-key-not-a-string",
     lambda tmp: CORPUS / "site" / "site-key-not-a-string--mapping-key.yaml"),
]


def hastack(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_STATE_HOME": str(tmp / "state"), "COLUMNS": "200"}
    return subprocess.run([str(HASTACK), *args], env=env, capture_output=True, text=True,
                          timeout=120, check=False)


@pytest.mark.parametrize(("name", "code", "make"), CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_cli_refuses_cleanly(tmp_path: Path, name: str, code: str,
                             make: Callable[[Path], Path]) -> None:
    result = hastack(tmp_path, "validate", str(make(tmp_path)))
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert f"error[{code}]" in output
    assert "Traceback" not in output
    assert "internal error" not in output


def test_cli_secrets_file_a_directory(tmp_path: Path) -> None:
    site = tmp_path / "lab.yaml"
    shutil.copy(ROOT / "examples" / "lab.yaml", site)
    (tmp_path / "lab.secrets.yaml").mkdir()
    result = hastack(tmp_path, "secrets", str(site))
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "error[secrets-not-a-file]" in output
    assert "Traceback" not in output
