"""Home page and health check."""


def test_healthz_reports_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_home_requires_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_home_shows_pod_coach_and_teammates(client, auth, make_user, make_pod):
    coach = make_user("coach", name="Lucía Fernández")
    agent = make_user("agent", name="Marco Bianchi")
    mate = make_user("agent", name="Giulia Russo")
    make_pod("Residential Care", coaches=[coach], members=[agent, mate])
    auth.login(agent)
    page = client.get("/").get_data(as_text=True)
    assert "Residential Care" in page
    assert "Lucía Fernández" in page
    assert "Giulia Russo" in page
