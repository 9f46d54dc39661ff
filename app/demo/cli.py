"""`flask demo load`: create (or re-create) the demo organisation."""

import click
from flask.cli import AppGroup

from app.demo.loader import load_demo

demo_cli = AppGroup("demo", help="Demo data.")


@demo_cli.command("load")
@click.option("--reset", is_flag=True, help="Delete everything and load the demo again.")
def load_command(reset):
    """Load the demo organisation; does nothing when it is already there."""

    created = load_demo(reset=reset)
    if created:
        click.echo("Demo data loaded. Sign in with any of these accounts (password: podium-demo):")
        for email, role in (("admin@example.com", "admin"), ("leader@example.com", "leader"),
                            ("coach@example.com", "coach"), ("agent@example.com", "agent")):
            click.echo(f"  {role:<7} {email}")
    else:
        click.echo("Demo data already present (use --reset to start over).")
