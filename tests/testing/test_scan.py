"""The cassette scanner: every hidden form is caught, placeholders and error codes pass."""

from __future__ import annotations

import base64
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mysdk.testing import DEFAULT_SECRET_NAMES, find_secrets, scan_paths, scan_text
from mysdk.testing.scan import main

ROOT = Path(__file__).resolve().parents[2]
JWT = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ"
       ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c")
BASIC = base64.b64encode(b"my-client:s3cr3t-value").decode()

CAUGHT = {
    "jwt": ("jwt", f"      string: '{{\"data\": \"{JWT}\"}}'"),
    "bearer header": ("bearer", "      Authorization:\n      - Bearer gho_16C7e42F292c6912E7710c8"),
    "bearer in json": ("bearer", '{"header": "Bearer abcDEF123456="}'),
    "basic": ("basic", f"      Proxy-Authorization:\n      - Basic {BASIC}"),
    "basic in text": ("basic", f"curl -H 'Authorization: Basic {BASIC}'"),
    "json field": ("secret-field", '{"refresh_token": "rt-8xLq2vN0pZ", "expires_in": 3600}'),
    "yaml-escaped json": ("secret-field",
                          r'string: "{\"access_token\": \"at-1234567\", \"n\": 1}"'),
    "folded yaml": ("secret-field", "string: '{\"access_token\":\n        \"at-1234567\"}'"),
    "query": ("secret-field", "    uri: http://127.0.0.1:8765/search?q=x&access_token=abcd1234"),
    "form": ("secret-field", "    body: grant_type=client_credentials&client_secret=hunter2x"),
    "password field": ("secret-field", '{"user": "bob", "password": "hunter22"}'),
    "header value": ("secret-header", "      X-Api-Key:\n      - plainkey"),
    "cookie": ("secret-header", "      Set-Cookie:\n      - sid=abc; Path=/"),
    "json header": ("secret-header", '"headers": {"Cookie": ["sid=abc"]}'),
    "json cassette header": ("secret-header",
                             '"headers": {\n    "X-Api-Key": [\n        "plainkey"\n    ]'),
    "entropy json": ("high-entropy", '{"session_token_v2": "a8f3k2j9d8s7f6g5h4j3"}'),
    "entropy header": ("high-entropy",
                       "      X-Signature:\n      - 9f86d081884c7d659a2feaa0c55ad015"),
    "entropy yaml-escaped": ("high-entropy", r'{\"my_api_key\": \"AKIAIOSFODNN7EXAMPLE1\"}'),
    "code in token form": ("oauth-code",
                           "body: grant_type=authorization_code&code=SplxlOBeZQQYbYS6WxSbIA"),
    "code in redirect": ("oauth-code",
                         "      Location:\n      - http://app.test/cb?code=SplxlOBeZQ&state=xyz"),
    "code in token json": ("oauth-code",
                           '{"grant_type": "authorization_code", "code": "SplxlOBeZQQYbYS6"}'),
    "revocation token": ("oauth-code", "body: token=45ghiukldjahdnhzdauz&token_type_hint=refresh"),
}

CLEAN = {
    "placeholders": ('{"access_token": "**FILTERED-5c292b8a**", "id_token": "**FILTERED**"}\n'
                     "uri: http://h/x?access_token=%2A%2AFILTERED-5c292b8a%2A%2A\n"
                     "      Authorization:\n      - Bearer **FILTERED-5c292b8a**\n"
                     "      Proxy-Authorization:\n      - Basic **FILTERED-0a1b2c3d**"),
    "error envelope": '{"error": {"code": "item_not_found", "message": "no such item"}}',
    "error query": "uri: http://127.0.0.1:8765/errors?code=item_not_found",
    "challenge": ('      Www-Authenticate:\n      - Bearer realm="cars-api", error="invalid_token",'
                  ' error_description="access token is invalid"'),
    "basic realm": 'WWW-Authenticate: Basic realm="fake-oauth"',
    "token type": '{"token_type": "Bearer", "expires_in": 3600, "scope": "cars:read"}',
    "request id": "      X-Request-Id:\n      - d15e29175eea3a8a27f964906070e853",
    "cursor": '{"next_cursor": "eyJpZCI6IDJ9", "items": []}',
    "empty header": "      Authorization:\n      - ''",
}


@pytest.mark.parametrize(("kind", "text"), CAUGHT.values(), ids=CAUGHT.keys())
def test_each_hidden_form_is_caught(kind: str, text: str) -> None:
    findings = scan_text(text)
    assert [f.kind for f in findings] == [kind]


@pytest.mark.parametrize("text", CLEAN.values(), ids=CLEAN.keys())
def test_placeholders_and_harmless_values_pass(text: str) -> None:
    assert scan_text(text) == []


def test_findings_are_masked_and_located() -> None:
    text = "interactions:\n- request:\n    body: password=hunter22-long\n"
    (finding,) = scan_text(text)
    assert finding.line == 3
    assert "hunter22-long" not in finding.excerpt
    assert finding.excerpt == "password=hunt…[13 chars]"
    assert str(finding) == "line 3: secret-field: password=hunt…[13 chars]"


def test_known_secrets_are_found_anywhere_and_never_printed() -> None:
    hits = find_secrets("a demo-secret-change-me b demo-secret-change-me",
                        known=("demo-secret-change-me", "absent"))
    assert hits == ["line 1: known-secret: <known secret #0>"] * 2


def test_a_value_matching_two_shapes_is_reported_once() -> None:
    kinds = [f.kind for f in scan_text(f'{{"access_token": "{JWT}"}}')]
    assert len(kinds) == 1


def test_custom_names_extend_the_scan() -> None:
    text = '{"pin": "4321-9876"}\n      X-Tenant-Key:\n      - t1'
    assert scan_text(text) == []
    names = DEFAULT_SECRET_NAMES.add(fields={"pin"}, headers={"X-Tenant-Key"})
    assert [f.kind for f in scan_text(text, names=names)] == ["secret-field", "secret-header"]


def test_scan_paths_walks_directories(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "one.yaml").write_text("x: 1\n")
    (tmp_path / "a" / "two.yaml").write_text('{"password": "hunter22"}\n')
    hits = list(scan_paths([tmp_path]))
    assert [(p.name, f.kind) for p, f in hits] == [("two.yaml", "secret-field")]
    with pytest.raises(FileNotFoundError):
        list(scan_paths([tmp_path / "missing"]))


def test_cli_exit_codes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "clean.yaml").write_text('{"access_token": "**FILTERED-5c292b8a**"}\n')
    out = io.StringIO()
    assert main(["scan", str(tmp_path)], out=out) == 0
    assert out.getvalue() == "scanned 1 file(s): clean\n"
    monkeypatch.setenv("MY_SECRET", "s3cr3t-from-env")
    (tmp_path / "leak.yaml").write_text("body: s3cr3t-from-env\n")
    out = io.StringIO()
    assert main(["scan", str(tmp_path), "--known-env", "MY_SECRET"], out=out) == 1
    assert f"{tmp_path / 'leak.yaml'}:1: known-secret: <known secret #0>" in out.getvalue()
    assert "s3cr3t-from-env" not in out.getvalue()
    assert main(["scan", str(tmp_path / "missing")], out=io.StringIO()) == 2


def test_python_m_and_the_console_script_pass_the_projects_cassettes() -> None:
    scripts = Path(sys.executable).parent
    for command in ([sys.executable, "-m", "mysdk.testing", "scan", "cassettes/"],
                    [str(scripts / "mysdk-testing"), "scan", "cassettes/"]):
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60,
                                env={**os.environ, "PYTHONWARNINGS": "error"}, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.endswith(": clean\n")


def test_python_m_fails_on_a_leak(tmp_path: Path) -> None:
    (tmp_path / "leak.yaml").write_text(f"      Authorization:\n      - Bearer {JWT}\n")
    result = subprocess.run([sys.executable, "-m", "mysdk.testing", "scan", str(tmp_path)],
                            cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert "leak.yaml:2: bearer: Bearer eyJh…" in result.stdout
    assert JWT not in result.stdout
