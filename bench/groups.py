"""The group phase of a full room: page and poll-fragment size and render time of a 60-person retro board with
~480 cards and 20 groups (bench/live.py makes no groups). In process, on a throw-away SQLite file.

    .venv/bin/python -m bench.groups                       # this checkout
    cd /work/main && .venv/bin/python /work/wt/groups/bench/groups.py   # another checkout's app, same measurement

Printed per case: the answer's size in KB and wall / CPU milliseconds, min and median of ``--repeat`` runs. The
poll fragment is the answer to a page's check after someone else moved a card (a new version each time, so it
is rendered afresh, not taken from the shared render of the version before).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time

sys.path.insert(0, os.getcwd())  # the app (and bench.live) of the checkout this is run from

from bench.live import PASSWORD, _poll_of, _profile_app  # noqa: E402


def _timed(call, repeat: int) -> tuple[float, list[float], list[float]]:
    walls, cpus, size = [], [], 0
    for _ in range(repeat):
        request = call()  # the set-up of one run (a change by someone else) is not timed
        wall, cpu = time.perf_counter(), time.process_time()
        response = request()
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
        assert response.status_code == 200, response.status_code
        size = len(response.get_data())
    return size / 1024, walls, cpus


def measure(members: int, cards: int, groups: int, grouped: int, repeat: int) -> None:
    from datetime import date
    from datetime import time as dt_time

    from app.extensions import db
    from app.org import services as org
    from app.retros import services as retros

    application, tmp = _profile_app()
    with application.app_context():
        coach = org.create_user(None, email="coach@groups.test", display_name="Coach", role="coach", password=PASSWORD)
        pod = org.save_pod(None, None, name="Groups pod", mission="Serve", timezone="UTC",
                           standup_time=dt_time(9, 30), working_days="12345")
        org.set_pod_coaches(None, pod, [coach])
        people = []
        for i in range(members):
            user = org.create_user(None, email=f"m{i}@groups.test", display_name=f"Member {i}", role="agent",
                                   password=PASSWORD)
            org.add_member(None, pod, user, start=date(2020, 1, 1))
            people.append(user)
        db.session.commit()
        retro = retros.create_retro(coach, pod, title="Groups", template_key="start_stop_continue", facilitator=coach)
        db.session.commit()
        for phase in ("checkin", "review"):
            retros.advance_phase(coach, retro, phase)
            db.session.commit()
        written = []
        for n in range(cards):
            for i, user in enumerate(people):
                written.append(retros.add_card(user, retro, column_key=("start", "stop", "continue")[n % 3],
                                               text=f"Card {n}.{i}: something that went well or not at all"))
        db.session.commit()
        retros.advance_phase(coach, retro, "reflect")
        db.session.commit()
        made = [retros.create_group(coach, retro, title=f"Theme number {g} of the retro") for g in range(groups)]
        db.session.flush()
        for index, card in enumerate(written[:grouped]):
            retros.move_card(coach, retro, card, f"group-{made[index % groups].id}")
        db.session.commit()
        retro_id = retro.id
        loose = [c.id for c in written[grouped:]]
        group_ids = [g.id for g in made]
        emails = [u.email for u in people[:2]]
    viewer, other = application.test_client(), application.test_client()
    for client, email in ((viewer, emails[0]), (other, emails[1])):
        client.post("/login", data={"email": email, "password": PASSWORD})
    htmx = {"HX-Request": "true"}
    page_url = f"/retros/{retro_id}"
    turn = iter(range(10**6))

    def page():
        return lambda: viewer.get(page_url)

    def poll_after_move():
        n = next(turn)
        poll = _poll_of(viewer.get(page_url).get_data(as_text=True))  # the check at the current version
        card = loose[n % len(loose)]
        moved = other.post(f"/retros/{retro_id}/cards/{card}/move",
                           data={"target": f"group-{group_ids[n % len(group_ids)]}"}, headers=htmx)
        assert moved.status_code == 200, moved.status_code
        return lambda: viewer.get(poll, headers=htmx)

    page()()  # warm up (templates compiled)
    poll_after_move()()
    print(f"group phase: {members} people x {cards} cards = {members * cards} cards, {groups} groups, {grouped} "
          f"grouped; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for name, case in (("board page", page), ("poll fragment after a move", poll_after_move)):
        size, walls, cpus = _timed(case, repeat)
        print(f"  {name:28} {size:7.1f} KB  wall min {min(walls):6.1f} ms median {statistics.median(walls):6.1f} ms"
              f"  CPU min {min(cpus):6.1f} ms median {statistics.median(cpus):6.1f} ms")
    shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=60)
    parser.add_argument("--cards", type=int, default=8)
    parser.add_argument("--groups", type=int, default=20)
    parser.add_argument("--grouped", type=int, default=200, help="cards put in the groups (the rest stay loose)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    measure(args.members, args.cards, args.groups, args.grouped, args.repeat)


if __name__ == "__main__":
    main()
