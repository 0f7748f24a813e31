"""``skillflow competition ...``: what organisers and judges do, through the HTTP API.

Tokens default to the local stack's (``stack.json``): the organiser's for organiser commands,
the judge's for ``marks``; pass ``--token`` for a named or bound token.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

competition = typer.Typer(help="Run a competition: create, enter, judge, lock, publish.")

ApiUrl = Annotated[
    str | None, typer.Option("--api-url", help="SkillFlow API (default: the local stack's)")
]
Token = Annotated[str | None, typer.Option("--token", help="bearer token (default: stack.json)")]
DataDir = Annotated[Path, typer.Option("--data-dir", help="local stack folder holding stack.json")]
DEFAULT_DATA_DIR = Path(".skillflow")


def _call(
    method: str,
    path: str,
    role: str,
    *,
    data_dir: Path,
    api_url: str | None,
    token: str | None,
    body: Any = None,
    csv_file: Path | None = None,
) -> Any:
    import httpx

    from skillflow.cli import _api_address, _exit, _fail

    url, tokens = _api_address(data_dir, api_url)
    bearer = token or tokens.get(role)
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    content = None
    if csv_file is not None:
        try:
            content = csv_file.read_bytes()
        except OSError as exc:
            _fail(f"cannot read {csv_file}: {exc.strerror}", 2)
        headers["Content-Type"] = "text/csv"
    response = httpx.request(
        method, f"{url}{path}", headers=headers, json=body, content=content, timeout=600
    )
    if path.endswith(".csv") and method == "GET" and response.status_code == 200:
        return response.text
    answer = response.json()
    if response.status_code >= 400:
        errors = answer.get("errors") if isinstance(answer, dict) else None
        if errors:
            text = "; ".join(f"{e['field']}: {e['message']} [{e['rule']}]" for e in errors)
        else:
            text = str(answer.get("detail", answer) if isinstance(answer, dict) else answer)
        typer.echo(f"{response.status_code}: {text}", err=True)
        _exit(1)
    return answer


def _print(answer: Any) -> None:
    from skillflow.cli import _exit

    typer.echo(json.dumps(answer, ensure_ascii=False, indent=2, default=str))
    _exit(0)


def _report(rows: list[dict[str, Any]]) -> None:
    from skillflow.cli import _exit

    refused = [r for r in rows if r["status"] == "rejected"]
    for row in refused:
        reasons = "; ".join(f"{e['field']}: {e['message']} [{e['rule']}]" for e in row["errors"])
        typer.echo(f"row {row['row']}: rejected {reasons}")
    typer.echo(f"{len(rows) - len(refused)} row(s) accepted, {len(refused)} rejected")
    _exit(0 if not refused else 1)


@competition.command("create")
def create(
    request_file: Annotated[Path, typer.Argument(help="JSON: the POST /competitions body")],
    data_dir: DataDir = DEFAULT_DATA_DIR,
    api_url: ApiUrl = None,
    token: Token = None,
) -> None:
    """Create a competition from a tier template (entries open at once)."""
    body = json.loads(request_file.read_text(encoding="utf-8"))
    _print(
        _call("POST", "/competitions", "organiser", data_dir=data_dir, api_url=api_url,
              token=token, body=body)
    )  # fmt: skip


@competition.command("show")
def show(
    competition_id: str,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    api_url: ApiUrl = None,
    token: Token = None,
) -> None:
    """The competition, its phase and counts."""
    _print(
        _call("GET", f"/competitions/{competition_id}", "organiser", data_dir=data_dir,
              api_url=api_url, token=token)
    )  # fmt: skip


@competition.command("enter")
def enter(
    competition_id: str,
    csv_file: Annotated[
        Path, typer.Argument(help="id_number,name[,category,employer,region,level_held]")
    ],
    data_dir: DataDir = DEFAULT_DATA_DIR,
    api_url: ApiUrl = None,
    token: Token = None,
) -> None:
    """Enter competitors from CSV, with a row-by-row report."""
    _report(
        _call("POST", f"/competitions/{competition_id}/entries.csv", "organiser",
              data_dir=data_dir, api_url=api_url, token=token, csv_file=csv_file)
    )  # fmt: skip


@competition.command("judge")
def judge(
    competition_id: str,
    judge_id: Annotated[str, typer.Argument(help="the judge's token name")],
    aspect: Annotated[list[str], typer.Option("--aspect", help="an aspect id (repeat)")],
    employer: Annotated[str, typer.Option()] = "",
    region: Annotated[str, typer.Option()] = "",
    data_dir: DataDir = DEFAULT_DATA_DIR,
    api_url: ApiUrl = None,
    token: Token = None,
) -> None:
    """Assign a judge to aspects (conflicts with competitors are recorded as recusals)."""
    body = {"judge_id": judge_id, "aspects": aspect, "employer": employer, "region": region}
    _print(
        _call("POST", f"/competitions/{competition_id}/judges", "organiser", data_dir=data_dir,
              api_url=api_url, token=token, body=body)
    )  # fmt: skip


@competition.command("close-entries")
def close_entries(
    competition_id: str,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    api_url: ApiUrl = None,
    token: Token = None,
) -> None:
    """Close entries and open marking."""
    _print(
        _call("POST", f"/competitions/{competition_id}/close-entries", "organiser",
              data_dir=data_dir, api_url=api_url, token=token)
    )  # fmt: skip


@competition.command("marks")
def marks(
    competition_id: str,
    csv_file: Annotated[Path, typer.Argument(help="entry,aspect_id,value")],
    data_dir: DataDir = DEFAULT_DATA_DIR,
    api_url: ApiUrl = None,
    token: Token = None,
) -> None:
    """Enter a judge's marks from CSV (judge token), with a row-by-row report."""
    _report(
        _call("POST", f"/competitions/{competition_id}/marks.csv", "judge", data_dir=data_dir,
              api_url=api_url, token=token, csv_file=csv_file)
    )  # fmt: skip


@competition.command("lock")
def lock(
    competition_id: str,
    module_id: str,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    api_url: ApiUrl = None,
    token: Token = None,
) -> None:
    """Sign off a module's marks."""
    _print(
        _call("POST", f"/competitions/{competition_id}/locks", "organiser", data_dir=data_dir,
              api_url=api_url, token=token, body={"module_id": module_id})
    )  # fmt: skip


@competition.command("correct")
def correct(
    competition_id: str,
    entry: Annotated[int, typer.Option()],
    aspect: Annotated[str, typer.Option()],
    judge_id: Annotated[str, typer.Option("--judge")],
    value: Annotated[str, typer.Option()],
    reason: Annotated[str, typer.Option()],
    data_dir: DataDir = DEFAULT_DATA_DIR,
    api_url: ApiUrl = None,
    token: Token = None,
) -> None:
    """Correct a signed-off mark, with a reason (audited)."""
    body = {"entry": entry, "aspect_id": aspect, "judge_id": judge_id, "value": value,
            "reason": reason}  # fmt: skip
    _print(
        _call("POST", f"/competitions/{competition_id}/corrections", "organiser",
              data_dir=data_dir, api_url=api_url, token=token, body=body)
    )  # fmt: skip


@competition.command("publish")
def publish(
    competition_id: str,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    api_url: ApiUrl = None,
    token: Token = None,
) -> None:
    """Publish results; qualifiers then advance to the competition fed."""
    _print(
        _call("POST", f"/competitions/{competition_id}/publish", "organiser", data_dir=data_dir,
              api_url=api_url, token=token)
    )  # fmt: skip


@competition.command("leaderboard")
def leaderboard(
    competition_id: str,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    api_url: ApiUrl = None,
    token: Token = None,
) -> None:
    """The live ranking while marking is open (organiser)."""
    from skillflow.cli import _exit

    rows = _call("GET", f"/competitions/{competition_id}/leaderboard", "organiser",
                 data_dir=data_dir, api_url=api_url, token=token)  # fmt: skip
    for row in rows:
        typer.echo(
            f"{row['category']:<9} {row['rank']:>4}  #{row['entry']:<5} "
            f"{row['holder_name_masked']:<6} {row['total']:>7}"
        )
    _exit(0)


@competition.command("results")
def results(
    competition_id: str,
    as_csv: Annotated[bool, typer.Option("--csv", help="print the CSV export")] = False,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    api_url: ApiUrl = None,
) -> None:
    """Published results (anyone)."""
    from skillflow.cli import _exit

    if as_csv:
        typer.echo(
            _call("GET", f"/competitions/{competition_id}/results.csv", "", data_dir=data_dir,
                  api_url=api_url, token=None),
            nl=False,
        )  # fmt: skip
        _exit(0)
    rows = _call("GET", f"/competitions/{competition_id}/results", "", data_dir=data_dir,
                 api_url=api_url, token=None)  # fmt: skip
    for row in rows:
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


@competition.command("squad-form")
def squad_form(
    squad_id: str,
    selection_id: Annotated[str, typer.Argument(help="the WorldSkills selection competition")],
    worldskills_id: Annotated[str, typer.Argument(help="the WorldSkills competition")],
    skill: Annotated[str, typer.Option(help="WorldSkills skill (its squad rounds)")],
    data_dir: DataDir = DEFAULT_DATA_DIR,
    api_url: ApiUrl = None,
    token: Token = None,
) -> None:
    """Form the national training squad from the selection's results."""
    body = {"squad_id": squad_id, "selection_competition_id": selection_id,
            "worldskills_competition_id": worldskills_id, "skill": skill}  # fmt: skip
    _print(_call("POST", "/squads", "organiser", data_dir=data_dir, api_url=api_url,
                 token=token, body=body))  # fmt: skip


@competition.command("squad-scores")
def squad_scores(
    squad_id: str,
    round_number: int,
    score: Annotated[list[str], typer.Option("--score", help="MEMBER=SCORE (repeat)")],
    data_dir: DataDir = DEFAULT_DATA_DIR,
    api_url: ApiUrl = None,
    token: Token = None,
) -> None:
    """A round's assessment scores."""
    from skillflow.cli import _fail

    scores = []
    for item in score:
        member, _, value = item.partition("=")
        if not member.isdigit() or not value:
            _fail(f"--score {item}: expected MEMBER=SCORE", 2)
        scores.append({"member": int(member), "score": value})
    _print(_call("POST", f"/squads/{squad_id}/rounds/{round_number}/scores", "organiser",
                 data_dir=data_dir, api_url=api_url, token=token, body={"scores": scores}))  # fmt: skip


@competition.command("squad-withdraw")
def squad_withdraw(
    squad_id: str,
    member: int,
    reason: Annotated[str, typer.Option()],
    data_dir: DataDir = DEFAULT_DATA_DIR,
    api_url: ApiUrl = None,
    token: Token = None,
) -> None:
    """A member withdraws mid-round; the next-ranked moves up."""
    _print(_call("POST", f"/squads/{squad_id}/withdrawals", "organiser", data_dir=data_dir,
                 api_url=api_url, token=token, body={"member": member, "reason": reason}))  # fmt: skip


@competition.command("squad-close-round")
def squad_close_round(
    squad_id: str,
    round_number: int,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    api_url: ApiUrl = None,
    token: Token = None,
) -> None:
    """Close a round: the best go on; after the last, the team member is entered."""
    _print(_call("POST", f"/squads/{squad_id}/rounds/{round_number}/close", "organiser",
                 data_dir=data_dir, api_url=api_url, token=token))  # fmt: skip


@competition.command("worldskills-result")
def worldskills_result(
    competition_id: str,
    entry: int,
    scale_score: int,
    medal: Annotated[str, typer.Option(help="gold, silver, bronze or none")] = "none",
    data_dir: DataDir = DEFAULT_DATA_DIR,
    api_url: ApiUrl = None,
    token: Token = None,
) -> None:
    """Enter the team member's WorldSkills result (scale score and medal)."""
    body = {"results": [{"entry": entry, "scale_score": scale_score, "medal": medal}]}
    _print(_call("POST", f"/competitions/{competition_id}/worldskills-results", "organiser",
                 data_dir=data_dir, api_url=api_url, token=token, body=body))  # fmt: skip
