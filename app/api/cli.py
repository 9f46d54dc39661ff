"""`flask api-token create|list|revoke`."""

import click
from flask.cli import AppGroup
from sqlalchemy import func, select

from app.api.auth import TokenError, create_token, revoke_token
from app.api.models import ApiToken
from app.extensions import db
from app.org.models import User

api_token_cli = AppGroup("api-token", help="API tokens.")

TOKEN_ERRORS = {
    "name_required": "give the token a name",
    "name_too_long": "the name is longer than 80 characters",
    "inactive_user": "this user is deactivated",
}


@api_token_cli.command("create")
@click.option("--user", "email", required=True, help="Email of the user the token acts as.")
@click.option("--name", required=True, help="What the token is for.")
def create_command(email: str, name: str) -> None:
    """Create a token and print its secret, which is shown this once only."""

    user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"no user with email {email}")
    try:
        token, secret = create_token(user, name)
    except TokenError as exc:
        db.session.rollback()
        raise click.ClickException(TOKEN_ERRORS[exc.code]) from exc
    db.session.commit()
    click.echo(f"Created token {token.id} “{token.name}” acting as {user.email} ({user.role}).")
    click.echo("Copy it now; it is not stored and will not be shown again:")
    click.echo(secret)


@api_token_cli.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include revoked tokens.")
def list_command(show_all: bool) -> None:
    """List tokens: id, prefix, name, user, created, last used, status."""
    stmt = select(ApiToken, User.email).join(User, User.id == ApiToken.user_id).order_by(ApiToken.id)
    if not show_all:
        stmt = stmt.where(ApiToken.revoked_at.is_(None))
    rows = db.session.execute(stmt).all()
    if not rows:
        click.echo("No tokens.")
        return
    for token, email in rows:
        used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
        status = f"revoked {token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at else "active"
        click.echo(f"{token.id}\t{token.prefix}…\t{token.name}\t{email}\tcreated {token.created_at:%Y-%m-%d %H:%M}"
                   f"\tused {used}\t{status}")


@api_token_cli.command("revoke")
@click.argument("token_id", type=int)
def revoke_command(token_id: int) -> None:
    """Revoke a token by its id (see `list`); it stops working at once."""

    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise click.ClickException(f"no token with id {token_id}")
    if not revoke_token(token, None):
        click.echo(f"Token {token.id} “{token.name}” was revoked already.")
        return
    db.session.commit()
    click.echo(f"Revoked token {token.id} “{token.name}”.")
