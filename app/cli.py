"""Command-line entry points: `flask users`, `flask demo`, `flask scheduler` and friends."""

import click
from flask import Flask
from flask.cli import AppGroup

from app.api.cli import api_token_cli
from app.demo.cli import demo_cli
from app.extensions import db
from app.org import services as org
from app.org.models import Role
from app.outcomes.cli import outcomes_cli
from app.scheduler.cli import scheduler_cli
from app.timeutil import is_valid_timezone

users_cli = AppGroup("users", help="Manage accounts.")


@users_cli.command("create")
@click.argument("email")
@click.option("--name", required=True, help="Display name.")
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.AGENT.value, show_default=True)
@click.option("--locale", type=click.Choice(["en", "es", "it"]), default=None,
              help="Interface language (default: the browser's, until the user chooses one)")
@click.option("--timezone", default="Europe/Madrid", show_default=True)
@click.option("--password", help="Asked for when not given.")
def create_user_command(email, name, role, locale, timezone, password):
    """Create an account, e.g. the first admin of a production install."""

    if not is_valid_timezone(timezone):
        raise click.BadParameter(f"unknown time zone {timezone!r}", param_hint="--timezone")
    if not password:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < 10:
        raise click.BadParameter("use at least 10 characters", param_hint="--password")
    org.ensure_default_stages()
    try:
        user = org.create_user(None, email=email, display_name=name, role=role, locale=locale, timezone=timezone,
                               password=password)
    except org.OrgError as exc:
        db.session.rollback()
        raise click.ClickException(f"{email}: an account with this email exists already") from exc
    db.session.commit()
    click.echo(f"Created {user.role} {user.email}")


def register_cli(app: Flask) -> None:
    app.cli.add_command(users_cli)

    app.cli.add_command(demo_cli)
    app.cli.add_command(scheduler_cli)
    app.cli.add_command(outcomes_cli)
    app.cli.add_command(api_token_cli)
