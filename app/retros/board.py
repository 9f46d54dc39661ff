"""What one person may see of a retro right now, loaded in a fixed number of queries whatever its size."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from flask import url_for
from flask_babel import gettext, ngettext
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.org.models import Membership, Pod, User, pod_coaches
from app.org.services import active_segments, active_stages
from app.outcomes.models import Case
from app.permissions import can
from app.retros import effects
from app.retros.catalog import column_title
from app.retros.models import (
    Phase,
    Retro,
    RetroAction,
    RetroCard,
    RetroCheckin,
    RetroGroup,
    RetroNote,
    RetroVote,
    RetroVoteTally,
)
from app.retros.services import OTHERS_BY_COLUMN, actions_to_review, local_today
from app.timeutil import utcnow

# The team pulse is shown once the check-in has ended (answers can no longer change, so no single answer can be
# isolated by watching the figures move) and only from this many answers.
PULSE_MINIMUM = 3
OWNER_SLOT = "\x00owner-%d\x00"  # in a shared render: "selected" for the viewer's own option, nothing for others


@dataclass
class Column:
    key: str
    title: str
    cards: list[RetroCard] = field(default_factory=list)
    hidden_count: int = 0


@dataclass
class Topic:
    """A group or an ungrouped card: what people vote on and then discuss."""

    kind: str
    id: int
    title: str
    cards: list[RetroCard]
    votes: int = 0
    mine: int = 0
    notes: list[RetroNote] = field(default_factory=list)
    actions: list[RetroAction] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.kind}-{self.id}"


@dataclass
class Board:
    retro: Retro
    pod: Pod
    viewer: User
    today: date
    participant: bool
    facilitator: bool
    coach: bool
    columns: list[Column]
    groups: list[RetroGroup] = field(default_factory=list)
    group_cards: dict[int, list[RetroCard]] = field(default_factory=dict)
    topics: list[Topic] = field(default_factory=list)
    votes_used: int = 0
    show_totals: bool = False
    pulse_count: int = 0
    pulse_shown: bool = False
    pulse_distribution: list[int] = field(default_factory=list)
    pulse_average: float | None = None
    my_pulse: int | None = None
    review: list[RetroAction] = field(default_factory=list)
    actions: list[RetroAction] = field(default_factory=list)
    people: list[User] = field(default_factory=list)
    cases: dict[str, Case] = field(default_factory=dict)
    figures: dict[str, effects.Measure] = field(default_factory=dict)
    metrics: list[tuple[str, str, str]] = field(default_factory=list)
    segments: list = field(default_factory=list)
    stages: list = field(default_factory=list)
    labels: Labels | None = None
    # Rendered once for everyone in the same situation (views._phase_change): what is the viewer's own is a slot
    # each answer fills in (their CSRF token, themselves as a new action's default owner).
    shared: bool = False

    def owner_default(self, person_id: int) -> str:
        """The attribute of a new action's owner option: the viewer is the default (a slot when shared)."""
        if self.shared:
            return Markup(OWNER_SLOT % person_id)
        return "selected" if person_id == self.viewer.id else ""

    @property
    def phase(self) -> str:
        return self.retro.phase

    @property
    def may_group(self) -> bool:
        if self.retro.grouping == "facilitator":
            return self.facilitator
        return self.participant

    @property
    def votes_left(self) -> int:
        return self.retro.votes_per_person - self.votes_used

    @property
    def card_count(self) -> int:
        return sum(len(c.cards) + c.hidden_count for c in self.columns)

    @property
    def column_titles(self) -> dict[str, str]:
        return {c.key: c.title for c in self.columns}


class Labels:
    """Strings a board repeats per item, translated once per render (a 500-card board would otherwise make
    thousands of catalogue look-ups), and the vote addresses built once."""

    def __init__(self, retro: Retro, vote_url: str = "", unvote_url: str = "") -> None:
        self.vote_url, self.unvote_url = vote_url, unvote_url
        self.budget = retro.votes_per_person
        self.vote = gettext("+ Vote")
        self.take_back = gettext("− Take back")
        self.hidden = gettext("Totals show when voting ends.")
        self.cap = gettext("at most %(cap)s on one item", cap=retro.max_votes_per_item)
        self._vote_for = gettext("Vote for %(title)s")
        self._take_back_from = gettext("Take back a vote from %(title)s")
        self._mine: dict[int, str] = {}
        self._votes: dict[int, str] = {}

    def votes_left(self, left: int) -> str:
        return gettext("Votes left: %(left)s of %(budget)s", left=left, budget=self.budget)

    def mine(self, n: int) -> str:
        if n not in self._mine:
            self._mine[n] = gettext("Your votes here: %(n)s", n=n)
        return self._mine[n]

    def votes(self, n: int) -> str:
        if n not in self._votes:
            self._votes[n] = ngettext("%(num)s vote", "%(num)s votes", n)
        return self._votes[n]

    def vote_for(self, title: str) -> str:
        return self._vote_for % {"title": title}

    def take_back_from(self, title: str) -> str:
        return self._take_back_from % {"title": title}


def people_of(pod_id: int, on: date) -> list[User]:
    """Current members and coaches of the pod: who may own actions and facilitate."""
    members = select(Membership.user_id).where(Membership.pod_id == pod_id, Membership.current(on))
    coaches = select(pod_coaches.c.user_id).where(pod_coaches.c.pod_id == pod_id)
    return list(
        db.session.scalars(
            select(User).where(User.active, User.id.in_(members.union(coaches))).order_by(User.display_name)
        )
    )


def load_board(retro: Retro, viewer: User, now: datetime | None = None, *, with_people: bool = True) -> Board:
    now = now or utcnow()
    pod = retro.pod
    today = local_today(pod, now)
    board = Board(
        retro=retro,
        pod=pod,
        viewer=viewer,
        today=today,
        participant=can(viewer, "retros.take_part", pod),
        facilitator=can(viewer, "retros.facilitate", retro),
        coach=can(viewer, "retros.run", pod),
        columns=[Column(c["key"], column_title(c)) for c in retro.columns],
    )
    board.labels = Labels(retro, url_for("retros.vote", retro_id=retro.id), url_for("retros.unvote", retro_id=retro.id))
    if with_people:
        board.people = people_of(pod.id, today)
    phase = retro.phase
    if phase == Phase.CHECKIN.value:
        _load_pulse(board)
    elif phase == Phase.REVIEW.value:
        _load_pulse(board)
        board.review = actions_to_review(retro)
        _load_owners(board.review)
    elif phase == Phase.REFLECT.value:
        _load_reflect(board)
    else:
        _load_cards(board)
    if phase in (Phase.REFLECT.value, Phase.DISCUSS.value):
        board.metrics = effects.metric_choices()
    if phase == Phase.DISCUSS.value and board.participant:
        board.segments = active_segments()
        board.stages = active_stages()
    if phase in (Phase.DISCUSS.value, Phase.CLOSED.value):
        board.actions = list(
            db.session.scalars(
                select(RetroAction)
                .options(selectinload(RetroAction.owner))
                .where(RetroAction.retro_id == retro.id)
                .order_by(RetroAction.id)
            )
        )
        by_topic = {t.key: t for t in board.topics}
        for action in board.actions:
            key = f"card-{action.card_id}" if action.card_id else f"group-{action.group_id}" if action.group_id else ""
            if key in by_topic:
                by_topic[key].actions.append(action)
    return board


def _load_owners(actions: list[RetroAction]) -> None:
    ids = {a.owner_id for a in actions if a.owner_id}
    if ids:
        db.session.scalars(select(User).where(User.id.in_(ids))).all()


def _load_pulse(board: Board) -> None:
    """While checking in: how many answered and the viewer's own answer; the team figures once it has ended."""
    rows = db.session.execute(
        select(RetroCheckin.user_id, RetroCheckin.pulse).where(RetroCheckin.retro_id == board.retro.id)
    ).all()
    counts = Counter(pulse for _user, pulse in rows)
    board.pulse_count = len(rows)
    board.my_pulse = next((pulse for user, pulse in rows if user == board.viewer.id), None)
    board.pulse_shown = board.phase != Phase.CHECKIN.value and board.pulse_count >= PULSE_MINIMUM
    if board.pulse_shown:
        board.pulse_distribution = [counts.get(i, 0) for i in range(1, 6)]
        board.pulse_average = sum(p for _u, p in rows) / board.pulse_count


def _load_reflect(board: Board) -> None:
    """Only the viewer's own cards are loaded; everyone else's are a count per column."""
    retro, viewer = board.retro, board.viewer
    mine = db.session.scalars(
        select(RetroCard).where(RetroCard.retro_id == retro.id, RetroCard.author_id == viewer.id).order_by(RetroCard.id)
    ).all()
    columns = {c.key: c for c in board.columns}
    for card in mine:
        if card.column_key in columns:
            columns[card.column_key].cards.append(card)
    _count_others(board.columns, retro, viewer)
    _load_chips(board, mine)


def _count_others(columns: list[Column], retro: Retro, viewer: User) -> None:
    others = dict(db.session.connection().execute(OTHERS_BY_COLUMN, {"retro": retro.id, "viewer": viewer.id}).all())
    for column in columns:
        column.hidden_count = others.get(column.key, 0)


def reflect_counts(retro: Retro, viewer: User, others: dict[str, int] | None = None) -> list[Column]:
    """What a new card by someone else changes for the viewer while reflecting: the counts (one query, unless
    ``others`` already gives them by column; the columns' titles are not part of it)."""
    columns = [Column(c["key"], "") for c in retro.columns]
    if others is None:
        _count_others(columns, retro, viewer)
    else:
        for column in columns:
            column.hidden_count = others.get(column.key, 0)
    return columns


def card_view(retro: Retro, viewer: User, card: RetroCard) -> Board:
    """What writing a card changes for its author: the card (with its chips) and the others' counts; none of the
    rest of the board (no people, no other cards; the pod only for a card that cites a case or a metric)."""
    cites = bool(card.case_ref or card.metric_code)
    pod = retro.pod if cites else None
    board = Board(
        retro=retro,
        pod=pod,
        viewer=viewer,
        today=local_today(pod) if cites else None,
        participant=True,
        facilitator=False,
        coach=False,
        # The counts the card's own statement read, when they are those of the version it made (services.add_card).
        columns=reflect_counts(retro, viewer, card.others_by_column),
    )
    if cites:
        _load_chips(board, [card])
    return board


def pulse_count(retro: Retro) -> int:
    return db.session.scalar(select(func.count()).select_from(RetroCheckin).where(RetroCheckin.retro_id == retro.id))


def _load_cards(board: Board) -> None:
    retro = board.retro
    query = select(RetroCard).where(RetroCard.retro_id == retro.id).order_by(RetroCard.id)
    if not retro.anonymous:
        query = query.options(selectinload(RetroCard.author))
    cards = db.session.scalars(query).all()
    board.groups = list(
        db.session.scalars(select(RetroGroup).where(RetroGroup.retro_id == retro.id).order_by(RetroGroup.id))
    )
    columns = {c.key: c for c in board.columns}
    grouped: dict[int, list[RetroCard]] = defaultdict(list)
    for card in cards:
        if card.group_id is not None:
            grouped[card.group_id].append(card)
        elif card.column_key in columns:
            columns[card.column_key].cards.append(card)
    board.group_cards = grouped
    _load_chips(board, cards)
    if retro.phase == Phase.GROUP.value:
        return

    totals: Counter = Counter()
    mine: Counter = Counter()
    for card_id, group_id, user_id, count in db.session.execute(
        select(RetroVote.card_id, RetroVote.group_id, RetroVote.user_id, RetroVote.count).where(
            RetroVote.retro_id == retro.id, RetroVote.count > 0
        )
    ):
        key = f"card-{card_id}" if card_id else f"group-{group_id}"
        totals[key] += count
        if user_id == board.viewer.id:
            mine[key] += count
    board.votes_used = sum(mine.values())
    board.show_totals = not (retro.hide_votes and retro.phase == Phase.VOTE.value)
    topics = [Topic("group", g.id, g.title, grouped.get(g.id, [])) for g in board.groups]
    topics += [Topic("card", c.id, c.text, [c]) for col in board.columns for c in col.cards]
    for topic in topics:
        topic.votes = totals.get(topic.key, 0)
        topic.mine = mine.get(topic.key, 0)
    if retro.phase in (Phase.DISCUSS.value, Phase.CLOSED.value):
        topics.sort(key=lambda t: (-t.votes, t.kind != "group", t.id))
        by_key = {t.key: t for t in topics}
        for note in db.session.scalars(select(RetroNote).where(RetroNote.retro_id == retro.id).order_by(RetroNote.id)):
            key = f"card-{note.card_id}" if note.card_id else f"group-{note.group_id}"
            if key in by_key:
                by_key[key].notes.append(note)
    board.topics = topics


def _load_chips(board: Board, cards) -> None:
    """Live figures of cited metrics, and facts of cited cases the viewer may see (the reference alone otherwise);
    a case of the retro's own pod wins over one of another pod with the same reference."""
    refs = {c.case_ref for c in cards if c.case_ref}
    if refs:
        cases = db.session.scalars(
            select(Case).where(Case.external_id.in_(refs), Case.pod_id.is_not(None)).order_by(Case.id)
        ).all()
        for case in sorted(cases, key=lambda c: c.pod_id != board.pod.id):
            if case.external_id not in board.cases and can(board.viewer, "retros.see_case", (board.retro, case)):
                board.cases[case.external_id] = case
    codes = sorted({c.metric_code for c in cards if c.metric_code})
    if codes:
        start, end = effects.window_before(board.today)
        board.figures = effects.compute(codes, start=start, end=end, tz=board.pod.timezone, pod_id=board.pod.id)


def tally_of(retro: Retro, user: User) -> int:
    return (
        db.session.scalar(
            select(RetroVoteTally.used).where(RetroVoteTally.retro_id == retro.id, RetroVoteTally.user_id == user.id)
        )
        or 0
    )
