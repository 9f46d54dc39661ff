"""Demo retros: three closed retros per pod (every four weeks) with grouped cards, votes, notes and actions,
earlier actions reviewed (done ones with their measured effect from the metric engine), and one retro in
progress in the demo coach's pod.

Everything goes through the same services people use, so every phase rule, budget and baseline holds."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import insert, select

from app.context import background_context
from app.demo.language import Said, read_texts, said_of
from app.demo.org_data import COACH_EMAIL
from app.extension_points import demo_step
from app.extensions import db
from app.org.models import Pod, User, pod_coaches
from app.retros import services as svc
from app.retros.board import people_of
from app.retros.models import Phase, Retro, RetroCard, RetroVote, RetroVoteTally

SEED = 404
RETRO_EVERY_DAYS = 28
CLOSED_PER_POD = 3

# Every text is written in its author's language (app.demo.language): the card's author, the coach for a title,
# the person who groups for a theme, the person who proposes an action. The texts are data, in app/demo/retros.toml.
_TEXTS = read_texts("retros")


def _cards(columns: dict[str, list[list[str]]]) -> dict[str, list[Said]]:
    return {column_key: [said_of(text) for text in texts] for column_key, texts in columns.items()}


# Template, title, cards per column, the two themes grouped (name, card indexes), actions (title, principle,
# metric, topic card index). A card's metric is the one it speaks of ("fcr" for first contact).
RETROS = tuple(
    (plan["template"], said_of(plan["title"]), _cards(plan["cards"]),
     tuple((said_of(theme["name"]), tuple(theme["cards"])) for theme in plan["themes"]),
     tuple((said_of(action["title"]), action["principle"], action.get("metric"), action["topic"])
           for action in plan["actions"]))
    for plan in _TEXTS["closed"]
)
IN_PROGRESS = (_TEXTS["in_progress"]["template"], said_of(_TEXTS["in_progress"]["title"]),
               _cards(_TEXTS["in_progress"]["cards"]))
NOTES = tuple(said_of(note) for note in _TEXTS["discussion"]["notes"])
# The card that speaks of first-contact resolution carries the FCR metric.
FIRST_CONTACT_CARD = RETROS[1][2]["went_well"][1]
REVIEW_PATTERN = ("done", "done", "not_done", "dropped")
# Every pod's own template, named in each language (the English name is the fallback for any other).
POD_TEMPLATE = (said_of(_TEXTS["pod_template"]["name"]),
                tuple(said_of(title) for title in _TEXTS["pod_template"]["columns"]))


@demo_step(40, "retros")
def load_retros_demo(now: datetime) -> None:
    rng = random.Random(SEED)
    with background_context():
        pods = list(db.session.scalars(select(Pod).where(Pod.active).order_by(Pod.id)))
        coaches = _coaches([p.id for p in pods])
        demo_coach = db.session.scalar(select(User).where(User.email == COACH_EMAIL))
        live_pod = next((p for p in pods if demo_coach and demo_coach in coaches.get(p.id, [])), None)
        for index, pod in enumerate(pods):
            coach = (coaches.get(pod.id) or [None])[0]
            people = people_of(pod.id, now.date())
            members = [p for p in people if p not in coaches.get(pod.id, [])]
            if coach is None or len(members) < 3:
                continue
            _pod_template(coach, pod, now - timedelta(days=RETRO_EVERY_DAYS * CLOSED_PER_POD + 7))
            for n in range(CLOSED_PER_POD):
                when = now - timedelta(days=RETRO_EVERY_DAYS * (CLOSED_PER_POD - n), hours=-rng.randint(0, 5))
                _closed_retro(pod, coach, people, members, RETROS[(n + index) % len(RETROS)], n, when, rng)
            if pod is live_pod:
                _retro_in_progress(pod, coach, people, members, now - timedelta(minutes=40), rng)
    db.session.flush()


def _pod_template(coach: User, pod: Pod, when: datetime) -> None:
    name, columns = POD_TEMPLATE
    svc.save_template(coach, pod, name=name["en"], columns_text="\n".join(c["en"] for c in columns), now=when,
                      names={lang: name[lang] for lang in ("es", "it")},
                      columns_in={lang: "\n".join(c[lang] for c in columns) for lang in ("es", "it")})


def _coaches(pod_ids: list[int]) -> dict[int, list[User]]:
    result: dict[int, list[User]] = {}
    for pod_id, user in db.session.execute(
            select(pod_coaches.c.pod_id, User).join(User, User.id == pod_coaches.c.user_id)
            .where(pod_coaches.c.pod_id.in_(pod_ids)).order_by(User.display_name)):
        result.setdefault(pod_id, []).append(user)
    return result


def _advance(coach: User, retro: Retro, when: datetime) -> None:
    svc.advance_phase(coach, retro, retro.phase, now=when)


def _review(retro: Retro, members: list[User], when: datetime, offset: int) -> None:
    for i, action in enumerate(svc.actions_to_review(retro)):
        svc.review_action(members[i % len(members)], retro, action,
                          REVIEW_PATTERN[(i + offset) % len(REVIEW_PATTERN)], now=when)


def _write_cards(retro: Retro, members: list[User], columns: dict[str, list[Said]], when: datetime,
                 rng: random.Random) -> list[RetroCard]:
    cards = []
    for column_key, texts in columns.items():
        for text in texts:
            author = rng.choice(members)
            metric = "fcr" if text is FIRST_CONTACT_CARD else None
            cards.append(svc.add_card(author, retro, column_key=column_key, text=text.by(author), metric_code=metric,
                                      now=when + timedelta(minutes=len(cards))))
    return cards


def _closed_retro(pod: Pod, coach: User, people: list[User], members: list[User], plan, n: int,
                  when: datetime, rng: random.Random) -> None:
    template, title, columns, themes, action_plans = plan
    facilitator = svc.suggested_facilitator(pod, people) or coach
    retro = svc.create_retro(coach, pod, title=title.by(coach), template_key=template, facilitator=facilitator,
                             anonymous=n != 1, now=when)
    step = timedelta(minutes=8)
    _advance(coach, retro, when + step)  # review
    _review(retro, members, when + step, n)
    _advance(coach, retro, when + 2 * step)  # reflect
    cards = _write_cards(retro, members, columns, when + 2 * step, rng)
    _advance(coach, retro, when + 3 * step)  # group
    grouper = members[0]
    topic_of = {}
    for name, theme in themes:
        first, *rest = [cards[i] for i in theme]
        for card in rest:
            group = svc.move_card(grouper, retro, card, f"card-{first.id}")
        svc.rename_group(grouper, retro, group, title=name.by(grouper))
        topic_of.update({i: f"group-{group.id}" for i in theme})
    _advance(coach, retro, when + 4 * step)  # vote
    topics = [f"group-{cards[t[0]].group_id}" for _name, t in themes] + [
        f"card-{c.id}" for c in cards if c.group_id is None]
    _votes(retro, members, topics, rng)
    _advance(coach, retro, when + 5 * step)  # discuss
    for i, topic in enumerate(topics[:2]):
        author = rng.choice(members)
        svc.add_note(author, retro, topic=topic, text=NOTES[(i + n) % len(NOTES)].by(author), now=when + 5 * step)
    for i, (action_title, principle, metric, card_index) in enumerate(action_plans):
        topic = topic_of.get(card_index, f"card-{cards[card_index].id}")
        proposer = members[(i + n) % len(members)]
        svc.create_action(proposer, retro, title=action_title.by(proposer),
                          owner=members[(2 * i + n + 1) % len(members)],
                          due_date=(when + timedelta(days=14 + 7 * i)).date(), principle=principle,
                          topic=topic, metric_code=metric, scope_kind="pod" if metric else None,
                          now=when + 6 * step)
    _advance(coach, retro, when + 7 * step)  # closed


def _votes(retro: Retro, voters: list[User], topics: list[str], rng: random.Random) -> None:
    """Each person's dots, within the retro's budget and per-item cap, written as the counter rows votes use
    (in bulk: dot by dot through the service would make the demo slow)."""
    votes, tallies = [], []
    for voter in voters:
        dots: dict[str, int] = {}
        for _dot in range(min(rng.randint(2, 4), retro.votes_per_person)):
            item = topics[0] if rng.random() < 0.35 else rng.choice(topics)
            if dots.get(item, 0) < retro.max_votes_per_item:
                dots[item] = dots.get(item, 0) + 1
        for item, count in dots.items():
            kind, _sep, raw = item.partition("-")
            votes.append({"retro_id": retro.id, "user_id": voter.id, "card_id": None, "group_id": None,
                          f"{kind}_id": int(raw), "count": count})
        tallies.append({"retro_id": retro.id, "user_id": voter.id, "used": sum(dots.values())})
    db.session.execute(insert(RetroVote), votes)
    db.session.execute(insert(RetroVoteTally), tallies)


def _retro_in_progress(pod: Pod, coach: User, people: list[User], members: list[User], when: datetime,
                       rng: random.Random) -> None:
    template, title, columns = IN_PROGRESS
    facilitator = svc.suggested_facilitator(pod, people) or coach
    retro = svc.create_retro(coach, pod, title=title.by(coach), template_key=template, facilitator=facilitator,
                             now=when)
    _advance(coach, retro, when + timedelta(minutes=5))  # review
    _review(retro, members, when + timedelta(minutes=6), 0)
    _advance(coach, retro, when + timedelta(minutes=15))  # reflect
    others = [m for m in members if m.email != "agent@example.com"]
    _write_cards(retro, others, columns, when + timedelta(minutes=16), rng)
    svc.set_timer(coach, retro, Phase.REFLECT.value, 10, now=when + timedelta(minutes=38))

