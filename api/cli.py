"""The `streetflow` command: one group, with the commands of each part of the system."""

from __future__ import annotations

import logging

import click

from api.commands import progress
from api.commands.appraisal import appraisal_group
from api.commands.audit import audit
from api.commands.definitions import definitions
from api.commands.list import list_
from api.commands.places import places
from api.commands.routes import routes
from api.commands.routing import routing
from api.commands.setup import apikeys, init, serve, users
from api.commands.sla import sla


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="streetflow")
def main() -> None:
    """streetflow: the list of powers and responsibilities as versioned workflows, with cases, time limits,
    supervision, a verifiable trail and appraisal.

    Settings come from the environment: STREETFLOW_DATABASE_URL, STREETFLOW_SECRET_KEY,
    STREETFLOW_TIMEZONE, STREETFLOW_DEFINITIONS, STREETFLOW_INSTANCE.

    \b
    Example:
      streetflow init --demo && streetflow serve
    Exit codes: 0 done; 1 refused or a problem found; 2 wrong usage."""
    logging.basicConfig(
        level=logging.WARNING, format="%(levelname)s: %(message)s", handlers=[progress.LogHandler()]
    )


for command in (init, serve, users, apikeys, definitions, appraisal_group):
    main.add_command(command)
main.add_command(list_)
main.add_command(routing)
main.add_command(routes)
main.add_command(sla)
main.add_command(audit)
main.add_command(places)
