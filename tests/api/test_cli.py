"""`flask api-token create|list|revoke`."""

from __future__ import annotations

from sqlalchemy import select

from app.api.auth import hash_secret
from app.api.models import ApiToken
from app.extensions import db


def _secret(output: str) -> str:
    return next(line for line in output.splitlines() if line.startswith("pdm_"))


def test_create_list_revoke(runner, client, make_user):
    leader = make_user("leader", email="lead@example.test")
    created = runner.invoke(args=["api-token", "create", "--user", "LEAD@example.test", "--name", "BI sync"])
    assert created.exit_code == 0, created.output
    secret = _secret(created.output)
    token = db.session.scalar(select(ApiToken))
    assert token.user_id == leader.id and token.name == "BI sync"
    assert token.token_hash == hash_secret(secret) and secret not in created.output.replace(secret, "", 1)
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/metrics?from=2026-07-01&to=2026-07-31", headers=headers).status_code == 200

    listed = runner.invoke(args=["api-token", "list"])
    assert listed.exit_code == 0
    assert "BI sync" in listed.output and "lead@example.test" in listed.output and token.prefix in listed.output
    assert secret not in listed.output

    revoked = runner.invoke(args=["api-token", "revoke", str(token.id)])
    assert revoked.exit_code == 0 and "Revoked" in revoked.output
    assert client.get("/api/v1/metrics?from=2026-07-01&to=2026-07-31", headers=headers).status_code == 401
    assert "BI sync" not in runner.invoke(args=["api-token", "list"]).output
    assert "revoked" in runner.invoke(args=["api-token", "list", "--all"]).output
    again = runner.invoke(args=["api-token", "revoke", str(token.id)])
    assert again.exit_code == 0 and "already" in again.output


def test_create_refuses_unknown_user_and_bad_names(runner, make_user):
    make_user("admin", email="root@example.test")
    unknown = runner.invoke(args=["api-token", "create", "--user", "nobody@example.test", "--name", "x"])
    assert unknown.exit_code != 0 and "no user" in unknown.output
    blank = runner.invoke(args=["api-token", "create", "--user", "root@example.test", "--name", "   "])
    assert blank.exit_code != 0 and "name" in blank.output
    long = runner.invoke(args=["api-token", "create", "--user", "root@example.test", "--name", "n" * 81])
    assert long.exit_code != 0
    assert db.session.scalar(select(ApiToken)) is None


def test_create_refuses_a_deactivated_user(runner, make_user):
    user = make_user("leader", email="gone@example.test")
    user.active = False
    db.session.commit()
    result = runner.invoke(args=["api-token", "create", "--user", "gone@example.test", "--name", "x"])
    assert result.exit_code != 0 and "deactivated" in result.output


def test_revoke_unknown_id(runner):
    result = runner.invoke(args=["api-token", "revoke", "4242"])
    assert result.exit_code != 0 and "no token" in result.output
