"""The login demo (`make login-demo`): one device login, reused by later processes."""

from __future__ import annotations

import re

import pytest

from examples import login_demo

pytestmark = pytest.mark.integration


def test_login_demo_runs(capsys: pytest.CaptureFixture[str]) -> None:
    assert login_demo.main([]) == 0
    out = capsys.readouterr().out
    code = re.search(r"approves code ([A-Z]{4}-[A-Z]{4})", out)
    assert code is not None
    assert f"/device?user_code={code.group(1)}" in out
    assert "Approved." in out
    assert "token requests device_code=1; tokens revoked 0; API requests 2" in out
    assert "token requests refresh_token=1, device_code=1" in out
    assert "Logged out of" in out
    assert "Not logged in to" in out
    assert "no token files" in out
    assert "login demo finished" in out
