"""API fixtures: tokens for any user and a client that sends them."""

from __future__ import annotations

import pytest

from app.api.auth import create_token
from app.extensions import db


@pytest.fixture
def make_token():
    def _make(user, name: str = "Test token") -> str:
        _token, secret = create_token(user, name)
        db.session.commit()
        return secret

    return _make


class ApiClient:
    def __init__(self, client, secret: str | None) -> None:
        self.client = client
        self.secret = secret

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret}"} if self.secret else {}

    def get(self, path: str, **params):
        return self.client.get(f"/api/v1{path}", query_string=params, headers=self._headers())

    def post(self, path: str, json=None, data=None, content_type: str = "application/json"):
        if json is not None:
            return self.client.post(f"/api/v1{path}", json=json, headers=self._headers())
        return self.client.post(f"/api/v1{path}", data=data, content_type=content_type, headers=self._headers())


@pytest.fixture
def api(client, make_token):
    def _for(user=None, secret: str | None = None) -> ApiClient:
        return ApiClient(client, secret if secret is not None else (make_token(user) if user else None))

    return _for
