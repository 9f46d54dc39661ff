"""Recognition fixtures: a pod of three agents and a coach, and another pod."""

import pytest


@pytest.fixture
def team(make_user, make_pod):
    coach = make_user("coach", name="Lucía Fernández")
    ana, ben, cris = (make_user("agent", name=n) for n in ("Ana Ruiz", "Ben Rossi", "Cris Vidal"))
    other = make_user("agent", name="Olga Other")
    pod = make_pod("Residential Care", coaches=[coach], members=[ana, ben, cris])
    other_pod = make_pod("Business Care", members=[other])
    return type("Team", (), dict(coach=coach, ana=ana, ben=ben, cris=cris, other=other, pod=pod, other_pod=other_pod))
