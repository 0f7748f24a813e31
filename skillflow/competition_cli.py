"""``skillflow competition ...``: what organisers and judges do, through the HTTP API.

Tokens default to the local stack's (``stack.json``): the organiser's for organiser commands,
the judge's for ``marks``; pass ``--token`` for a named or bound token.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from skillflow.api_commands import ApiAccess, api_command, describe_errors

competition = typer.Typer(help="Run a competition: create, enter, judge, lock, publish.")


def _print(answer: Any) -> None:
    from skillflow.cli import _exit

    typer.echo(json.dumps(answer, ensure_ascii=False, indent=2, default=str))
    _exit(0)


def _report(rows: list[dict[str, Any]]) -> None:
    from skillflow.cli import _exit

    refused = [r for r in rows if r["status"] == "rejected"]
    for row in refused:
        typer.echo(f"row {row['row']}: rejected {describe_errors(row['errors'])}")
    typer.echo(f"{len(rows) - len(refused)} row(s) accepted, {len(refused)} rejected")
    _exit(0 if not refused else 1)


def _organise(access: ApiAccess, path: str, body: Any = None) -> None:
    """POST an organiser's command and print the API's answer."""
    _print(access.call("POST", path, "organiser", body=body))


@api_command(competition, "create")
def create(
    access: ApiAccess,
    request_file: Annotated[Path, typer.Argument(help="JSON: the POST /competitions body")],
) -> None:
    """Create a competition from a tier template (entries open at once)."""
    _organise(access, "/competitions", json.loads(request_file.read_text(encoding="utf-8")))


@api_command(competition, "show")
def show(access: ApiAccess, competition_id: str) -> None:
    """The competition, its phase and counts."""
    _print(access.call("GET", f"/competitions/{competition_id}", "organiser"))


@api_command(competition, "enter")
def enter(
    access: ApiAccess,
    competition_id: str,
    csv_file: Annotated[
        Path, typer.Argument(help="id_number,name[,category,employer,region,level_held]")
    ],
) -> None:
    """Enter competitors from CSV, with a row-by-row report."""
    path = f"/competitions/{competition_id}/entries.csv"
    _report(access.call("POST", path, "organiser", csv_file=csv_file))


@api_command(competition, "judge")
def judge(
    access: ApiAccess,
    competition_id: str,
    judge_id: Annotated[str, typer.Argument(help="the judge's token name")],
    aspect: Annotated[list[str], typer.Option("--aspect", help="an aspect id (repeat)")],
    employer: Annotated[str, typer.Option()] = "",
    region: Annotated[str, typer.Option()] = "",
) -> None:
    """Assign a judge to aspects (conflicts with competitors are recorded as recusals)."""
    body = {"judge_id": judge_id, "aspects": aspect, "employer": employer, "region": region}
    _organise(access, f"/competitions/{competition_id}/judges", body)


@api_command(competition, "close-entries")
def close_entries(access: ApiAccess, competition_id: str) -> None:
    """Close entries and open marking."""
    _organise(access, f"/competitions/{competition_id}/close-entries")


@api_command(competition, "marks")
def marks(
    access: ApiAccess,
    competition_id: str,
    csv_file: Annotated[Path, typer.Argument(help="entry,aspect_id,value")],
) -> None:
    """Enter a judge's marks from CSV (judge token), with a row-by-row report."""
    path = f"/competitions/{competition_id}/marks.csv"
    _report(access.call("POST", path, "judge", csv_file=csv_file))


@api_command(competition, "lock")
def lock(access: ApiAccess, competition_id: str, module_id: str) -> None:
    """Sign off a module's marks."""
    _organise(access, f"/competitions/{competition_id}/locks", {"module_id": module_id})


@api_command(competition, "correct")
def correct(
    access: ApiAccess,
    competition_id: str,
    entry: Annotated[int, typer.Option()],
    aspect: Annotated[str, typer.Option()],
    judge_id: Annotated[str, typer.Option("--judge")],
    value: Annotated[str, typer.Option()],
    reason: Annotated[str, typer.Option()],
) -> None:
    """Correct a signed-off mark, with a reason (audited)."""
    body = {"entry": entry, "aspect_id": aspect, "judge_id": judge_id, "value": value,
            "reason": reason}  # fmt: skip
    _organise(access, f"/competitions/{competition_id}/corrections", body)


@api_command(competition, "publish")
def publish(access: ApiAccess, competition_id: str) -> None:
    """Publish results; qualifiers then advance to the competition fed."""
    _organise(access, f"/competitions/{competition_id}/publish")


@api_command(competition, "leaderboard")
def leaderboard(access: ApiAccess, competition_id: str) -> None:
    """The live ranking while marking is open (organiser)."""
    from skillflow.cli import _exit

    for row in access.call("GET", f"/competitions/{competition_id}/leaderboard", "organiser"):
        typer.echo(
            f"{row['category']:<9} {row['rank']:>4}  #{row['entry']:<5} "
            f"{row['holder_name_masked']:<6} {row['total']:>7}"
        )
    _exit(0)


@api_command(competition, "results", token_help=None)
def results(
    access: ApiAccess,
    competition_id: str,
    as_csv: Annotated[bool, typer.Option("--csv", help="print the CSV export")] = False,
) -> None:
    """Published results (anyone)."""
    from skillflow.cli import _exit

    if as_csv:
        typer.echo(access.call("GET", f"/competitions/{competition_id}/results.csv", ""), nl=False)
        _exit(0)
    for row in access.call("GET", f"/competitions/{competition_id}/results", ""):
        scale = f" scale {row['scale_score']}" if row["scale_score"] is not None else ""
        extras = " ".join(
            [
                *row["titles"],
                *([f"promoted to level {row['promoted_to']}"] if row["promoted_to"] else []),
            ]
        )
        typer.echo(
            f"{row['category']:<9} {row['rank']:>4}  #{row['entry']:<5} "
            f"{row['holder_name_masked']:<6} {row['total']:>7}{scale}  {row['award']:<10} {extras}"
        )
    _exit(0)


@api_command(competition, "squad-form")
def squad_form(
    access: ApiAccess,
    squad_id: str,
    selection_id: Annotated[str, typer.Argument(help="the WorldSkills selection competition")],
    worldskills_id: Annotated[str, typer.Argument(help="the WorldSkills competition")],
    skill: Annotated[str, typer.Option(help="WorldSkills skill (its squad rounds)")],
) -> None:
    """Form the national training squad from the selection's results."""
    body = {"squad_id": squad_id, "selection_competition_id": selection_id,
            "worldskills_competition_id": worldskills_id, "skill": skill}  # fmt: skip
    _organise(access, "/squads", body)


@api_command(competition, "squad-scores")
def squad_scores(
    access: ApiAccess,
    squad_id: str,
    round_number: int,
    score: Annotated[list[str], typer.Option("--score", help="MEMBER=SCORE (repeat)")],
) -> None:
    """A round's assessment scores."""
    from skillflow.cli import _fail

    scores = []
    for item in score:
        member, _, value = item.partition("=")
        if not member.isdigit() or not value:
            _fail(f"--score {item}: expected MEMBER=SCORE", 2)
        scores.append({"member": int(member), "score": value})
    _organise(access, f"/squads/{squad_id}/rounds/{round_number}/scores", {"scores": scores})


@api_command(competition, "squad-withdraw")
def squad_withdraw(
    access: ApiAccess, squad_id: str, member: int, reason: Annotated[str, typer.Option()]
) -> None:
    """A member withdraws mid-round; the next-ranked moves up."""
    _organise(access, f"/squads/{squad_id}/withdrawals", {"member": member, "reason": reason})


@api_command(competition, "squad-close-round")
def squad_close_round(access: ApiAccess, squad_id: str, round_number: int) -> None:
    """Close a round: the best go on; after the last, the team member is entered."""
    _organise(access, f"/squads/{squad_id}/rounds/{round_number}/close")


@api_command(competition, "worldskills-result")
def worldskills_result(
    access: ApiAccess,
    competition_id: str,
    entry: int,
    scale_score: int,
    medal: Annotated[str, typer.Option(help="gold, silver, bronze or none")] = "none",
) -> None:
    """Enter the team member's WorldSkills result (scale score and medal)."""
    body = {"results": [{"entry": entry, "scale_score": scale_score, "medal": medal}]}
    _organise(access, f"/competitions/{competition_id}/worldskills-results", body)
